// Pub/sub across nodes: two nodes on loopback. A price feed on node a
// publishes ticks to the topic "prices"; a dashboard on node a and an
// auditor of another type on node b subscribe to it, and each gets every
// tick once, in publish order. A subscriber that stops leaves the topic.
// Built with -Wall -Wextra -Werror, like every example.
//
// Run: build/bin/example_pubsub   (prints what each subscriber got)
#include <herald/herald.hpp>

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <string>
#include <thread>

struct price {
  std::uint32_t seq = 0;
  std::int64_t cents = 0;
};
struct summary_request {};

// Keeps the last price.
class dashboard : public herald::actor<dashboard> {
 public:
  using messages = herald::messages<price, summary_request>;
  void on(const price& p) {
    last_ = p.cents;
    ++count_;
  }
  std::string on(const summary_request&) const {
    return "dashboard: " + std::to_string(count_) + " ticks, last " + std::to_string(last_) + " cents";
  }

 private:
  std::int64_t last_ = 0;
  std::uint32_t count_ = 0;
};

// Checks that ticks come in order, none twice.
class auditor : public herald::actor<auditor> {
 public:
  using messages = herald::messages<price, summary_request>;
  void on(const price& p) {
    if (p.seq != next_) ++out_of_order_;
    next_ = p.seq + 1;
  }
  std::string on(const summary_request&) const {
    return "auditor: " + std::to_string(next_) + " ticks, " + std::to_string(out_of_order_) + " out of order";
  }

 private:
  std::uint32_t next_ = 0;
  std::uint32_t out_of_order_ = 0;
};

namespace {

herald::runtime::node_config loopback(const std::string& name) {
  herald::runtime::node_config c;
  c.secret.value = "example-pubsub-secret";
  c.node_name = name;
  c.listen = {"tcp://127.0.0.1:0"};
  return c;
}

// Waits until `sys` sees `n` subscribers of `t` (gossip takes a moment).
template <class M>
bool await_subscribers(herald::actor_system& sys, const herald::topic<M>& t, std::size_t n) {
  for (int i = 0; i < 500; ++i) {
    auto subs = sys.subscribers(t);
    if (subs && subs->size() == n) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return false;
}

}  // namespace

int main() {
  using namespace std::chrono_literals;
  herald::actor_system a{herald::actor_system_config{.worker_threads = 2}};
  herald::actor_system b{herald::actor_system_config{.worker_threads = 2}};
  herald::registry::cluster_config fast;
  fast.gossip_interval = 50ms;
  if (!a.start_node<dashboard, auditor>(loopback("a"), fast)) return 1;
  fast.seeds = {a.listen_addresses().at(0)};
  if (!b.start_node<dashboard, auditor>(loopback("b"), fast)) return 1;

  const herald::topic<price> prices("prices");  // a topic: a name and a message type
  auto board = a.spawn<dashboard>({}).value();
  auto audit = b.spawn<auditor>({}).value();
  if (!a.subscribe(prices, board) || !b.subscribe(prices, audit)) return 1;
  if (!await_subscribers(a, prices, 2)) return 1;

  for (std::uint32_t i = 0; i < 1000; ++i) {
    auto r = a.publish(prices, price{i, 10000 + i});
    if (!r) return 1;
    // A link not up yet (or down) refuses a send at once: the report says so.
    if (!r->all_delivered()) std::printf("tick %u: %zu of %zu refused: %s\n", i, r->refused, r->subscribers,
                                        r->last_refusal.message().c_str());
  }
  std::printf("%s\n", board.ask(summary_request{}, 5s).get().value().c_str());
  // The auditor is on node b; its ticks may still be on their way.
  std::string audited;
  for (int i = 0; i < 500; ++i) {
    audited = audit.ask(summary_request{}, 5s).get().value();
    if (audited.rfind("auditor: 1000 ", 0) == 0) break;
    std::this_thread::sleep_for(10ms);
  }
  std::printf("%s\n", audited.c_str());
  if (audited != "auditor: 1000 ticks, 0 out of order") return 1;

  b.stop(audit);  // its subscription goes with it, on every node
  if (!await_subscribers(a, prices, 1)) return 1;
  std::printf("after the auditor stopped: %zu subscriber\n", a.subscribers(prices).value().size());
  std::printf("published %llu, delivered %llu, refused %llu\n",
              static_cast<unsigned long long>(a.metrics().topic_publishes),
              static_cast<unsigned long long>(a.metrics().topic_deliveries),
              static_cast<unsigned long long>(a.metrics().topic_deliveries_refused));
}
