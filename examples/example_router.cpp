// Routers: one ref-like handle in front of a group of workers. A
// round-robin router spreads jobs over three workers; a consistent-hash
// router sends every job of one customer to the same worker (its
// routing_key()), so that worker can keep that customer's state. Built with
// -Wall -Wextra -Werror, like every example.
//
// Run: build/bin/example_router   (prints how the jobs were spread)
#include <herald/herald.hpp>

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <map>
#include <string>
#include <vector>

struct job {
  std::string customer;
  std::string routing_key() const { return customer; }  // for consistent hashing
};
struct report {};

class worker : public herald::actor<worker> {
 public:
  explicit worker(int id) : id_(id) {}
  void on(const job& j) { ++per_customer_[j.customer]; }
  std::string on(const report&) const {
    std::string out = "worker " + std::to_string(id_) + ":";
    for (const auto& [customer, n] : per_customer_) out += " " + customer + "=" + std::to_string(n);
    return out;
  }

 private:
  int id_;
  std::map<std::string, int> per_customer_;
};

int main() {
  herald::actor_system sys{herald::actor_system_config{.worker_threads = 2}};
  std::vector<herald::actor_ref<worker>> pool;
  for (int i = 0; i < 3; ++i) pool.push_back(sys.spawn<worker>({}, i).value());

  auto by_customer = herald::router<worker>::of(pool, herald::routing::consistent_hash);
  for (int i = 0; i < 30; ++i) {
    const std::string customer = "c" + std::to_string(i % 5);
    if (!by_customer.tell(job{customer})) return 1;
  }
  auto spread = herald::router<worker>::of(pool, herald::routing::round_robin);
  for (int i = 0; i < 9; ++i) {
    if (!spread.tell(job{"any"})) return 1;
  }
  // Each customer's six jobs went to one worker; "any" went to each in turn.
  for (const auto& w : pool) std::printf("%s\n", w.ask(report{}, std::chrono::seconds(5)).get().value().c_str());
}
