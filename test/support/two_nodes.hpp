#pragma once

#include <gtest/gtest.h>

#include <cstddef>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "herald/herald.hpp"
#include "herald/runtime/inproc_network.hpp"
#include "support/transports.hpp"

// Two actor systems in one process, "a" and "b", each with its own node
// listening on transport t and serving Actors to remote lookups; b_address is
// where a reaches b. What the nodes log is kept for the test to read.
namespace herald::test {

template <class... Actors>
struct two_nodes {
  explicit two_nodes(transport t, const std::string& tag, std::size_t workers = 2) {
    for (auto* s : {&a, &b}) {
      runtime::node_config c;
      c.secret.value = tag + "-secret";
      c.inproc = &inproc;
      c.node_name = s == &a ? "a" : "b";
      c.listen = {listen_address(t, tag + "-" + c.node_name)};
      c.log = [this](runtime::log_level, std::string_view line) {
        std::lock_guard lock(log_mutex);
        logged.emplace_back(line);
      };
      *s = std::make_unique<actor_system>(actor_system_config{.worker_threads = workers});
      auto ok = (*s)->template start_node<Actors...>(c);
      EXPECT_TRUE(ok) << ok.error().message();
    }
    b_address = b->listen_addresses().at(0);
  }

  bool logged_line_with(const std::string& text) {
    std::lock_guard lock(log_mutex);
    for (const auto& l : logged)
      if (l.find(text) != std::string::npos) return true;
    return false;
  }

  std::mutex log_mutex;
  std::vector<std::string> logged;
  runtime::inproc_network inproc;  // declared before the systems, destroyed after them
  std::unique_ptr<actor_system> a, b;
  std::string b_address;
};

}  // namespace herald::test
