#pragma once

#include <string>
#include <string_view>

#include "herald/runtime/node_config.hpp"

namespace herald::test {

// A node of a test cluster: named `name`, listening on a free TCP port of
// loopback, proving `secret`, and quiet (its log goes nowhere).
inline runtime::node_config loopback_node(const std::string& name, const std::string& secret) {
  runtime::node_config c;
  c.secret.value = secret;
  c.node_name = name;
  c.listen = {"tcp://127.0.0.1:0"};
  c.log = [](runtime::log_level, std::string_view) {};
  return c;
}

}  // namespace herald::test
