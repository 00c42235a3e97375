#pragma once
// Command-line conventions shared by herald-node and herald-ctl: HOST:PORT
// addresses, the cluster secret, TLS files, and timestamps of log lines.
#include <chrono>
#include <cstdio>
#include <ctime>
#include <herald/herald.hpp>
#include <mutex>
#include <string>
#include <string_view>

namespace herald::tools {

// "2026-12-01T21:58:00.123Z": the time of a log or watch line, in UTC.
inline std::string utc_now() {
  const auto now = std::chrono::system_clock::now();
  const std::time_t t = std::chrono::system_clock::to_time_t(now);
  const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count() % 1000;
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[64];  // room for any int year, so the format cannot truncate
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
                tm.tm_hour, tm.tm_min, tm.tm_sec, static_cast<int>(ms));
  return buf;
}

// "127.0.0.1:7001" -> "tcp://127.0.0.1:7001"; a full address (with "://")
// is kept as it is.
inline std::string to_address(const std::string& host_port) {
  if (host_port.find("://") != std::string::npos) return host_port;
  return "tcp://" + host_port;
}

// The secret: --secret-file if given, else the HERALD_SECRET variable.
inline runtime::secret_source secret_from(const std::string& secret_file) {
  runtime::secret_source s;
  s.file = secret_file;
  s.env_var = "HERALD_SECRET";
  return s;
}

// --tls-ca, --tls-cert, --tls-key: all three turn TLS on (node_config::tls),
// none leaves it off; some but not all is an error (empty string: fine).
inline std::string tls_from(const std::string& ca, const std::string& cert, const std::string& key,
                            runtime::tls_config& out) {
  const int given = !ca.empty() + !cert.empty() + !key.empty();
  if (given == 0) return {};
  if (given != 3) return "TLS needs all of --tls-ca, --tls-cert and --tls-key";
  out.enabled = true;
  out.ca_file = ca;
  out.cert_file = cert;
  out.key_file = key;
  return {};
}

// Remembers the last transport warning (a refused handshake, a lost link)
// so that a tool can say why it could not reach a node.
class last_warning {
 public:
  void set(std::string_view line) {
    std::lock_guard lock(mutex_);
    line_ = line;
  }
  std::string get() const {
    std::lock_guard lock(mutex_);
    return line_;
  }

 private:
  mutable std::mutex mutex_;
  std::string line_;
};

}  // namespace herald::tools
