#include "herald/actors/actor_system.hpp"

#include <gtest/gtest.h>

#include <malloc.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "herald/herald.hpp"
#include "support/test_support.hpp"

namespace herald {
namespace {

using namespace std::chrono_literals;

struct add {
  int n;
};
struct get {};
struct echo {
  std::string text;
};
struct nothing {};

class counter : public actor<counter> {
 public:
  counter() = default;
  explicit counter(int start) : value_(start) {}
  void on(const add& a) { value_ += a.n; }
  int on(const get&) const { return value_; }
  std::string on(const echo& e) const { return e.text + "!"; }
  void on(const nothing&) {}

 private:
  int value_ = 0;
};

struct lifecycle_log {
  std::mutex mutex;
  std::vector<std::string> events;
  void push(std::string s) {
    std::lock_guard lock(mutex);
    events.push_back(std::move(s));
  }
};

class logged : public actor<logged> {
 public:
  explicit logged(lifecycle_log* log) : log_(log) {}
  void on_start() { log_->push("start"); }
  void on_stop() { log_->push("stop"); }
  int on(const get&) {
    log_->push("get");
    return 1;
  }

 private:
  lifecycle_log* log_;
};

TEST(ActorSystem, TellsAreHandledInOrderAndAskSeesThem) {
  actor_system sys{actor_system_config{.worker_threads = 2}};
  auto c = sys.spawn<counter>().value();
  for (int i = 1; i <= 100; ++i) (void)c.tell(add{i});
  auto r = c.ask(get{}).get();
  ASSERT_TRUE(r) << r.error().message();
  EXPECT_EQ(*r, 5050) << "an ask queued after 100 tells from the same thread sees all of them";
}

TEST(ActorSystem, AskReplyTypeIsTheHandlersReturnType) {
  actor_system sys{actor_system_config{.worker_threads = 1}};
  auto c = sys.spawn<counter>({}, 41).value();
  static_assert(std::is_same_v<decltype(c.ask(get{}).get()), result<int>>);
  static_assert(std::is_same_v<decltype(c.ask(echo{}).get()), result<std::string>>);
  static_assert(std::is_same_v<decltype(c.ask(nothing{}).get()), result<void>>);
  EXPECT_EQ(c.ask(get{}).get().value(), 41) << "constructor arguments reach the actor";
  EXPECT_EQ(c.ask(echo{"hi"}).get().value(), "hi!");
  EXPECT_TRUE(c.ask(nothing{}).get()) << "an ask to a void handler completes when it has run";
}

TEST(ActorSystem, LookupFindsNamedActorsAndChecksTheirType) {
  actor_system sys{actor_system_config{.worker_threads = 1}};
  auto c = sys.spawn<counter>(herald::name("c1"), 7).value();
  auto found = sys.lookup<counter>("c1");
  ASSERT_TRUE(found);
  EXPECT_EQ(*found, c);
  EXPECT_EQ(found->ask(get{}).get().value(), 7);
  EXPECT_EQ(sys.lookup<counter>("nobody").error().code(), errc::not_found);
  EXPECT_EQ(sys.lookup<logged>("c1").error().code(), errc::type_mismatch);
}

TEST(ActorSystem, ADuplicateNameIsRefused) {
  actor_system sys{actor_system_config{.worker_threads = 1}};
  ASSERT_TRUE(sys.spawn<counter>(herald::name("same")));
  auto second = sys.spawn<counter>(herald::name("same"));
  ASSERT_FALSE(second);
  EXPECT_EQ(second.error().code(), errc::invalid_argument);
}

TEST(ActorSystem, ANameIsFreedWhenItsActorStops) {
  actor_system sys{actor_system_config{.worker_threads = 1}};
  auto first = sys.spawn<counter>(herald::name("reused")).value();
  sys.stop(first);
  EXPECT_EQ(first.ask(get{}).get().error().code(), errc::actor_stopped);
  EXPECT_EQ(sys.lookup<counter>("reused").error().code(), errc::not_found);
  EXPECT_TRUE(sys.spawn<counter>(herald::name("reused"))) << "the name of a stopped actor can be taken again";
}

TEST(ActorSystem, OnStartRunsBeforeTheFirstMessageAndOnStopAtTheEnd) {
  lifecycle_log log;
  {
    actor_system sys{actor_system_config{.worker_threads = 2}};
    auto a = sys.spawn<logged>({}, &log).value();
    EXPECT_EQ(a.ask(get{}).get().value(), 1);
    sys.stop(a);
    sys.shutdown();
  }
  EXPECT_EQ(log.events, (std::vector<std::string>{"start", "get", "stop"}));
}

TEST(ActorSystem, TellToAStoppedActorIsACountedDeadLetter) {
  std::atomic<int> seen{0};
  std::string type;
  std::mutex m;
  actor_system_config cfg{.worker_threads = 1};
  cfg.on_dead_letter = [&](const dead_letter& d) {
    std::lock_guard lock(m);
    type = d.message_type;
    seen.fetch_add(1);
  };
  actor_system sys{cfg};
  auto c = sys.spawn<counter>().value();
  sys.stop(c);
  EXPECT_EQ(c.ask(get{}).get().error().code(), errc::actor_stopped) << "an ask to a stopped actor fails";
  (void)c.tell(add{1});
  (void)c.tell(add{2});
  // The dead letters are found by the actor's last activation; shutdown waits for it.
  sys.shutdown();
  EXPECT_EQ(sys.metrics().dead_letters, 2u);
  EXPECT_EQ(seen.load(), 2) << "the dead-letter handler sees every dead letter";
  std::lock_guard lock(m);
  EXPECT_NE(type.find("add"), std::string::npos) << "a dead letter names its message type: " << type;
}

TEST(ActorSystem, ShutdownFailsQueuedAsksInsteadOfHangingThem) {
  struct block {
    std::atomic<bool>* entered;
  };
  // Busy until shutdown asks it to stop, with 50 asks queued behind.
  class slow : public actor<slow> {
   public:
    void on(const block& b) {
      b.entered->store(true);
      while (!stop_requested()) std::this_thread::yield();
    }
    int on(const get&) { return 1; }
  };
  std::atomic<bool> entered{false};
  actor_system sys{actor_system_config{.worker_threads = 1}};
  auto s = sys.spawn<slow>().value();
  (void)s.tell(block{&entered});
  std::vector<ask_future<int>> pending;
  for (int i = 0; i < 50; ++i) pending.push_back(s.ask(get{}));
  while (!entered.load()) std::this_thread::yield();
  sys.shutdown();
  for (auto& f : pending) {
    auto r = f.get();
    ASSERT_FALSE(r) << "mail queued at shutdown is not handled";
    EXPECT_EQ(r.error().code(), errc::system_shutdown);
  }
  EXPECT_FALSE(sys.spawn<counter>()) << "no spawn after shutdown";
}

TEST(ActorSystem, MetricsCountSpawnsAndStops) {
  actor_system sys{actor_system_config{.worker_threads = 1}};
  auto a = sys.spawn<counter>().value();
  auto b = sys.spawn<counter>().value();
  sys.stop(a);
  EXPECT_EQ(a.ask(get{}).get().error().code(), errc::actor_stopped);
  auto m = sys.metrics();
  EXPECT_EQ(m.actors_spawned, 2u);
  EXPECT_EQ(m.actors_stopped, 1u);
  EXPECT_EQ(m.actors_alive, 1u);
  (void)b;
}

// Actors stop (which unregisters their names from the cluster registry once
// there is one) and receive mail on several threads while start_node
// publishes the network. Under ThreadSanitizer this hunts a race on the
// network pointer; everywhere it checks that no stopped actor's name is left
// registered cluster-wide.
TEST(ActorSystem, StartNodeWhileActorsStopIsRaceFree) {
  actor_system sys{actor_system_config{.worker_threads = 4}};
  std::atomic<bool> quit{false};
  std::atomic<std::uint64_t> rounds{0};
  std::vector<std::thread> churn;
  for (int t = 0; t < 4; ++t) {
    churn.emplace_back([&, t] {
      for (std::uint64_t k = 0; !quit.load(std::memory_order_acquire); ++k) {
        auto a = sys.spawn<counter>(herald::name("churn-" + std::to_string(t) + "-" + std::to_string(k)));
        if (!a) continue;
        (void)a->tell(add{1});
        (void)a->ask(get{}).get();
        sys.stop(*a);
        (void)sys.lookup<counter>("missing-" + std::to_string(t));
        (void)sys.metrics();
        (void)sys.node_id();
        rounds.fetch_add(1, std::memory_order_relaxed);
      }
    });
  }
  while (rounds.load() < 20) std::this_thread::sleep_for(1ms);
  runtime::node_config c;
  c.secret.value = "race-secret";
  c.listen = {"tcp://127.0.0.1:0"};
  auto ok = sys.start_node<>(c);
  const auto after = rounds.load();
  while (rounds.load() < after + 20) std::this_thread::sleep_for(1ms);
  quit.store(true, std::memory_order_release);
  for (auto& th : churn) th.join();
  ASSERT_TRUE(ok) << ok.error().message();
  system_metrics m;
  for (int i = 0; i < 5000; ++i) {
    m = sys.metrics();
    if (m.actors_alive == 1 && m.registry_names == 0) break;
    std::this_thread::sleep_for(1ms);
  }
  EXPECT_EQ(m.actors_alive, 1u) << "only the node actor is left";
  EXPECT_EQ(m.registry_names, 0u) << "every stopped actor's name left the cluster registry";
}

struct finish {};
class short_lived : public actor<short_lived> {
 public:
  explicit short_lived(std::atomic<int>* handled) : handled_(handled) {}
  void on(const finish&) {
    handled_->fetch_add(1);
    stop();
  }

 private:
  std::atomic<int>* handled_;
};

TEST(ActorSystem, AwaitAllStoppedReturnsOnceTheLastActorHasStopped) {
  actor_system sys{actor_system_config{.worker_threads = 2}};
  std::atomic<int> handled{0};
  std::vector<actor_ref<short_lived>> actors;
  for (int i = 0; i < 50; ++i) actors.push_back(sys.spawn<short_lived>({}, &handled).value());
  EXPECT_FALSE(sys.await_all_stopped(20ms)) << "50 actors are still alive";
  for (auto& a : actors) (void)a.tell(finish{});
  EXPECT_TRUE(sys.await_all_stopped(60s));
  EXPECT_EQ(handled.load(), 50) << "each actor handled its message before it stopped";
  EXPECT_EQ(sys.metrics().actors_alive, 0u);
  sys.await_all_stopped();  // nothing alive: returns at once
}

TEST(ActorSystem, ANameGoesThroughAnExplicitTypeAndATakenOneThrowsOnValue) {
  actor_system sys{actor_system_config{.worker_threads = 1}};
  auto c = sys.spawn<counter>({}, 5).value();
  EXPECT_EQ(c.ask(get{}).get().value(), 5);
  auto named = sys.spawn<counter>(spawn_options{.name = "by-options"}, 6).value();
  EXPECT_EQ(sys.lookup<counter>("by-options").value(), named);
  EXPECT_THROW((void)sys.spawn<counter>(herald::name("by-options")).value(), bad_result_access)
      << "a taken name is an error, and value() on it throws";
}

class idle : public actor<idle> {
 public:
  explicit idle(std::atomic<int>* started) : started_(started) {}
  void on_start() { started_->fetch_add(1, std::memory_order_release); }
  void on(const nothing&) {}

 private:
  std::atomic<int>* started_;
};

std::size_t resident_bytes() {
  std::FILE* f = std::fopen("/proc/self/statm", "r");
  if (f == nullptr) return 0;
  unsigned long size = 0, resident = 0;
  int got = std::fscanf(f, "%lu %lu", &size, &resident);
  std::fclose(f);
  return got == 2 ? resident * static_cast<std::size_t>(sysconf(_SC_PAGESIZE)) : 0;
}

std::size_t heap_in_use() {
  struct mallinfo2 m = mallinfo2();
  return m.uordblks + m.hblkhd;
}

// Akka documents ~400 bytes per actor, CAF measures ~1.6 kB; herald's bound
// is 1 KiB, refs included, for actors that have started and wait for mail.
// Checked on the heap bytes in use (exact, whatever earlier tests left in
// the allocator's free lists) and reported as RSS too (which such leftovers
// make read low).
TEST(ActorSystem, AHundredThousandIdleActorsTakeUnderOneKiBEach) {
  if (test::sanitized()) GTEST_SKIP() << "a sanitizer's allocator changes what memory costs";
  const int count = 100000;
  std::atomic<int> started{0};
  actor_system sys{actor_system_config{.worker_threads = 2}};
  std::vector<actor_ref<idle>> refs;
  refs.reserve(count);
  std::size_t rss_before = resident_bytes();
  std::size_t heap_before = heap_in_use();
  for (int i = 0; i < count; ++i) refs.push_back(sys.spawn<idle>({}, &started).value());
  auto deadline = std::chrono::steady_clock::now() + 120s;
  while (started.load(std::memory_order_acquire) < count && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(1ms);
  ASSERT_EQ(started.load(), count);
  std::size_t heap_per_actor = (heap_in_use() - heap_before + count * sizeof(actor_ref<idle>)) / count;
  std::size_t rss_per_actor = (resident_bytes() - rss_before) / count;
  EXPECT_LE(heap_per_actor, 1024u) << heap_per_actor << " heap bytes per idle actor";
  EXPECT_LE(rss_per_actor, 1024u) << rss_per_actor << " bytes of RSS per idle actor";
  std::printf("per idle actor (%d actors): %zu heap bytes, %zu bytes of RSS\n", count, heap_per_actor, rss_per_actor);
}

}  // namespace
}  // namespace herald
