#include "herald/runtime/node_config.hpp"

#include <cstdlib>
#include <fstream>
#include <sstream>

namespace herald::runtime {

result<std::string> load_secret(const secret_source& source) {
  if (!source.value.empty()) return source.value;
  if (!source.file.empty()) {
    std::ifstream in(source.file, std::ios::binary);
    if (!in) return herald::error(errc::invalid_argument, "cannot read the cluster secret file " + source.file);
    std::ostringstream ss;
    ss << in.rdbuf();
    std::string s = ss.str();
    if (!s.empty() && s.back() == '\n') s.pop_back();
    if (!s.empty() && s.back() == '\r') s.pop_back();
    if (s.empty()) return herald::error(errc::invalid_argument, "the cluster secret file " + source.file + " is empty");
    return s;
  }
  if (!source.env_var.empty()) {
    if (const char* v = std::getenv(source.env_var.c_str()); v != nullptr && *v != '\0') return std::string(v);
  }
  return herald::error(errc::invalid_argument,
                       "no cluster secret: set node_config::secret.value, secret.file, or the environment variable " +
                           (source.env_var.empty() ? std::string("HERALD_SECRET") : source.env_var));
}

}  // namespace herald::runtime
