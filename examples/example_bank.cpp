// A bank of account actors in one process: spawn, tell, ask, lookup by name,
// a coroutine handler that asks another actor, supervision, and a monitor.
#include <herald/herald.hpp>

#include <cstdint>
#include <cstdio>
#include <stdexcept>
#include <string>

struct deposit {
  std::int64_t cents;
};
struct withdraw {
  std::int64_t cents;
};
struct balance {};

class account : public herald::actor<account> {
 public:
  void on(const deposit& d) { cents_ += d.cents; }
  bool on(const withdraw& w) {
    if (w.cents > cents_) return false;
    cents_ -= w.cents;
    return true;
  }
  std::int64_t on(const balance&) const { return cents_; }

 private:
  std::int64_t cents_ = 0;
};

// Moves money between two accounts, asking each in turn without blocking a worker.
struct transfer {
  herald::actor_ref<account> from, to;
  std::int64_t cents;
};
struct audit_failure {};

class teller : public herald::actor<teller> {
 public:
  // By value: the frame keeps its own copy across the co_await.
  herald::task<std::string> on(transfer t) {
    auto ok = co_await t.from.ask(withdraw{t.cents});
    if (!ok) co_return "failed: " + ok.error().message();
    if (!*ok) co_return "refused: insufficient funds";
    (void)t.to.tell(deposit{t.cents});
    ++transfers_;
    co_return "moved " + std::to_string(t.cents) + " cents";
  }
  int on(const audit_failure&) { throw std::runtime_error("auditor lost the ledger"); }
  void on_start() { std::printf("teller started (transfers so far: %d)\n", transfers_); }

 private:
  int transfers_ = 0;
};

class watcher : public herald::actor<watcher> {
 public:
  void on(const herald::actor_ref<account>& a) { monitor(a); }
  void on(const herald::down& d) { std::printf("watcher: actor %llu is down (%s)\n", static_cast<unsigned long long>(d.who), d.reason.message().c_str()); }
};

int main() {
  herald::actor_system sys{herald::actor_system_config{.worker_threads = 2}};
  auto alice = sys.spawn<account>(herald::name("alice")).value();
  auto bob = sys.spawn<account>(herald::name("bob")).value();
  auto desk = sys.spawn<teller>(herald::name("desk")).value();
  auto eye = sys.spawn<watcher>().value();

  (void)alice.tell(deposit{10'000});
  std::printf("%s\n", desk.ask(transfer{alice, bob, 2'500}).get().value().c_str());
  std::printf("%s\n", desk.ask(transfer{bob, alice, 9'999}).get().value().c_str());

  auto found = sys.lookup<account>("bob");
  std::printf("bob (found by name) holds %lld cents\n", static_cast<long long>(found->ask(balance{}).get().value()));
  auto wrong = sys.lookup<teller>("bob");
  std::printf("lookup<teller>(\"bob\"): %s\n", wrong.error().message().c_str());

  auto crash = desk.ask(audit_failure{}).get();
  std::printf("audit: %s (the teller restarts with fresh state)\n", crash.error().message().c_str());

  (void)eye.tell(bob);
  sys.stop(bob);
  auto late = bob.ask(balance{}, std::chrono::milliseconds(200)).get();
  std::printf("ask to stopped bob: %s\n", late.error().message().c_str());

  sys.shutdown();
  auto m = sys.metrics();
  std::printf("spawned %llu, restarts %llu, dead letters %llu\n", static_cast<unsigned long long>(m.actors_spawned),
              static_cast<unsigned long long>(m.restarts), static_cast<unsigned long long>(m.dead_letters));
}
