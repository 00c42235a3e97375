# Shared by tools/demo, tools/test and tools/bench: the Debian packages herald
# builds with, and the one place that installs them.
HERALD_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
HERALD_PACKAGES=(
  build-essential cmake ccache pkg-config
  libasio-dev libconcurrentqueue-dev libcuckoo-dev
  libflatbuffers-dev flatbuffers-compiler
  libssl-dev libcli11-dev libcpp-httplib-dev nlohmann-json3-dev
  libgtest-dev libgmock-dev libbenchmark-dev
)

# herald_need_packages PKG... installs whichever of PKG (plus the base list) is
# missing. As root it runs apt-get; otherwise it names what to install and fails.
herald_need_packages() {
  local wanted=("${HERALD_PACKAGES[@]}" "$@") missing=() p
  for p in "${wanted[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  if [ "$(id -u)" -ne 0 ]; then
    echo "herald: missing Debian packages: ${missing[*]}" >&2
    echo "herald: install them with: sudo apt-get install -y ${missing[*]}" >&2
    exit 1
  fi
  echo "herald: installing ${missing[*]}" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >&2 || { echo "herald: apt-get update failed" >&2; exit 1; }
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2 ||
    { echo "herald: apt-get install ${missing[*]} failed" >&2; exit 1; }
}

herald_jobs() { nproc 2>/dev/null || echo 2; }
