#include "herald/runtime/connection.hpp"

#include <gtest/gtest.h>

#include <deque>
#include <mutex>
#include <future>
#include <random>
#include <thread>

#include "node_harness.hpp"

namespace herald::runtime::test {
namespace {

class Connection : public ::testing::TestWithParam<transport_kind> {};

// Answers every ask with its own payload (an echo actor at the raw level).
void echo_asks(recording_sink& sink) {
  sink.on_frame_hook = [](const std::shared_ptr<connection>& from, inbound_frame f) {
    if (f.header.kind != wire::frame_kind::ask) return;
    wire::frame_header h;
    h.kind = wire::frame_kind::reply;
    h.request_id = f.header.request_id;
    (void)from->send_bytes(h, f.bytes());
  };
}

TEST_P(Connection, HandshakeBringsBothSidesUpWithEachOthersIdentity) {
  auto p = up_pair(GetParam());
  ASSERT_TRUE(p->a_to_b && p->b_to_a);
  EXPECT_EQ(p->a_to_b->peer().node_id, p->b->id());
  EXPECT_EQ(p->a_to_b->peer().node_name, "b");
  EXPECT_EQ(p->b_to_a->peer().node_id, p->a->id());
  EXPECT_EQ(p->b_to_a->peer().incarnation, p->a->incarnation());
  EXPECT_EQ(p->a_to_b->peer().listen_address, p->b->listen_addresses().front());
}

TEST_P(Connection, TellArrivesWithHeaderAndPayloadIntact) {
  auto p = up_pair(GetParam());
  ASSERT_TRUE(p->a_to_b);
  const std::string text = "hello, b";
  auto h = tell_header(42, 7);
  ASSERT_TRUE(p->a_to_b->send_bytes(h, std::as_bytes(std::span(text))));
  ASSERT_TRUE(p->sink_b.wait([&] { return !p->sink_b.frames.empty(); }));
  p->sink_b.locked([&] {
    const auto& f = p->sink_b.frames.front();
    EXPECT_EQ(f.header.kind, wire::frame_kind::tell);
    EXPECT_EQ(f.header.target, 42u);
    EXPECT_EQ(f.header.type_id, 7u);
    EXPECT_EQ(std::string(reinterpret_cast<const char*>(f.bytes().data()), f.bytes().size()), text);

  });
}

TEST_P(Connection, LargePayloadIsSentFromAPooledBufferAndArrivesWhole) {
  auto p = up_pair(GetParam(), [](node_config& c) { c.large_payload_threshold = 4096; },
                   [](node_config& c) { c.read_buffer_size = 64u << 10; });
  ASSERT_TRUE(p->a_to_b);
  std::vector<std::byte> big(300'001);
  for (std::size_t i = 0; i < big.size(); ++i) big[i] = static_cast<std::byte>(i * 13);
  ASSERT_TRUE(p->a_to_b->send_bytes(tell_header(), big));
  ASSERT_TRUE(p->a_to_b->send_bytes(tell_header(), std::span(big).first(100))) << "a small one right after";
  ASSERT_TRUE(p->sink_b.wait([&] { return p->sink_b.frames.size() == 2; }));
  p->sink_b.locked([&] {
    ASSERT_EQ(p->sink_b.frames[0].bytes().size(), big.size());
    EXPECT_TRUE(std::equal(big.begin(), big.end(), p->sink_b.frames[0].bytes().begin()))
        << "a frame larger than the read buffer is reassembled byte for byte";
    EXPECT_EQ(p->sink_b.frames[1].bytes().size(), 100u);

  });
}

TEST_P(Connection, AskGetsItsReply) {
  auto p = up_pair(GetParam());
  ASSERT_TRUE(p->a_to_b);
  echo_asks(p->sink_b);
  std::promise<result<inbound_frame>> got;
  wire::frame_header h;
  h.kind = wire::frame_kind::ask;
  h.target = 5;
  h.type_id = 9;
  const std::uint64_t value = 0x1234567890;
  auto id = p->a_to_b->request(
      h, sizeof value, [&](std::span<std::byte> out) { std::memcpy(out.data(), &value, sizeof value); },
      connection::clock::now() + 10s, [&](result<inbound_frame> r) { got.set_value(std::move(r)); });
  ASSERT_TRUE(id) << id.error().message();
  auto r = got.get_future().get();
  ASSERT_TRUE(r) << r.error().message();
  EXPECT_EQ(r->header.kind, wire::frame_kind::reply);
  EXPECT_EQ(r->header.request_id, *id);
  EXPECT_EQ(read_pod<std::uint64_t>(r->bytes()), value);
  EXPECT_EQ(p->a_to_b->stats().asks_pending, 0u);
}


// A stand-in for the actors layer's workers: runs jobs off the io thread, so
// that replies may block on a full ring as a worker's would.
class worker_thread {
 public:
  worker_thread() : thread_([this] { run(); }) {}
  ~worker_thread() {
    {
      std::lock_guard lock(mutex_);
      done_ = true;
    }
    cv_.notify_all();
    thread_.join();
  }
  void post(std::function<void()> job) {
    {
      std::lock_guard lock(mutex_);
      jobs_.push_back(std::move(job));
    }
    cv_.notify_one();
  }

 private:
  void run() {
    std::unique_lock lock(mutex_);
    for (;;) {
      cv_.wait(lock, [&] { return done_ || !jobs_.empty(); });
      if (jobs_.empty()) return;
      auto job = std::move(jobs_.front());
      jobs_.pop_front();
      lock.unlock();
      job();
      lock.lock();
    }
  }
  std::mutex mutex_;
  std::condition_variable cv_;
  std::deque<std::function<void()>> jobs_;
  bool done_ = false;
  std::thread thread_;
};

wire::frame_header ask_header() {
  wire::frame_header h;
  h.kind = wire::frame_kind::ask;
  h.target = 1;
  h.type_id = 1;
  return h;
}

void reply_to(const std::shared_ptr<connection>& c, const inbound_frame& f) {
  wire::frame_header h;
  h.kind = wire::frame_kind::reply;
  h.request_id = f.header.request_id;
  (void)c->send_bytes(h, f.bytes());
}

TEST_P(Connection, FramesOfFourSendersArriveInOrderWithoutGapOrDuplicate) {
  const std::uint64_t per_sender = herald::test::scaled(1'000'000) / 4;
  auto p = up_pair(GetParam(), [](node_config& c) { c.backpressure_timeout = 60s; });
  ASSERT_TRUE(p->a_to_b);
  std::array<std::uint64_t, 4> next{};  // touched by b's single io thread only
  std::atomic<std::uint64_t> received{0}, errors{0};
  p->sink_b.on_frame_hook = [&](const std::shared_ptr<connection>&, inbound_frame f) {
    const auto sender = read_pod<std::uint32_t>(f.bytes());
    const auto seq = read_pod<std::uint64_t>(f.bytes(), 8);
    if (sender >= 4 || seq != next[sender]) {
      if (errors.fetch_add(1) < 5)
        ADD_FAILURE() << "sender " << sender << " seq " << seq << " expected " << (sender < 4 ? next[sender] : 0);
    } else {
      ++next[sender];
    }
    if (received.fetch_add(1) + 1 == 4 * per_sender) p->sink_b.notify();
  };
  std::vector<std::thread> senders;
  for (std::uint32_t s = 0; s < 4; ++s) {
    senders.emplace_back([&, s] {
      for (std::uint64_t seq = 0; seq < per_sender; ++seq) {
        auto ok = p->a_to_b->send(tell_header(), 16, [&](std::span<std::byte> out) {
          std::memcpy(out.data(), &s, 4);
          std::memcpy(out.data() + 8, &seq, 8);
        });
        if (!ok) {
          ADD_FAILURE() << "send failed: " << ok.error().message();
          return;
        }
      }
    });
  }
  for (auto& t : senders) t.join();
  EXPECT_TRUE(p->sink_b.wait([&] { return received.load() == 4 * per_sender; }, 60s))
      << "received " << received.load() << " of " << 4 * per_sender;
  EXPECT_EQ(errors.load(), 0u) << "no gap, duplicate or reordering per sender";
  const auto st = p->a_to_b->stats();
  EXPECT_GE(st.frames_sent, 4 * per_sender);
  EXPECT_LT(st.writev_calls, st.frames_sent) << "frames are batched: " << st.frames_per_writev() << " per writev";
}

TEST_P(Connection, RequestsRacingTheirDeadlinesCompleteExactlyOnceAndTheTableDrains) {
  auto p = up_pair(GetParam(), [](node_config& c) { c.ask_sweep_interval = 1ms; });
  ASSERT_TRUE(p->a_to_b);
  const std::uint32_t asks = static_cast<std::uint32_t>(herald::test::scaled(2000));
  worker_thread replier;
  std::atomic<std::uint64_t> replies_sent{0};
  p->sink_b.on_frame_hook = [&](const std::shared_ptr<connection>& from, inbound_frame f) {
    const auto delay_us = read_pod<std::uint32_t>(f.bytes(), 4);
    auto shared = std::make_shared<inbound_frame>(std::move(f));
    replier.post([&, from, shared, delay_us] {
      std::this_thread::sleep_for(std::chrono::microseconds(delay_us));  // the "work" races the deadline
      reply_to(from, *shared);
      replies_sent.fetch_add(1);
    });
  };
  std::vector<std::atomic<int>> completions(asks);
  std::atomic<std::uint32_t> ok{0}, timeouts{0}, done{0};
  std::mt19937 rng(7);
  for (std::uint32_t i = 0; i < asks; ++i) {
    const std::uint32_t delay_us = rng() % 3 == 0 ? 0 : rng() % 400;
    auto id = p->a_to_b->request(
        ask_header(), 8,
        [&](std::span<std::byte> out) {
          std::memcpy(out.data(), &i, 4);
          std::memcpy(out.data() + 4, &delay_us, 4);
        },
        connection::clock::now() + std::chrono::microseconds(200 + rng() % 300), [&, i](result<inbound_frame> r) {
          completions[i].fetch_add(1);
          if (r) {
            EXPECT_EQ(read_pod<std::uint32_t>(r->bytes()), i) << "a reply reaches its own ask";
            ok.fetch_add(1);
          } else {
            EXPECT_EQ(r.error().code(), errc::timeout) << r.error().message();
            timeouts.fetch_add(1);
          }
          if (done.fetch_add(1) + 1 == asks) p->sink_a.notify();
        });
    ASSERT_TRUE(id) << id.error().message();
  }
  ASSERT_TRUE(p->sink_a.wait([&] { return done.load() == asks; }, 30s)) << done.load() << " of " << asks;
  for (std::uint32_t i = 0; i < asks; ++i) ASSERT_EQ(completions[i].load(), 1) << "ask " << i << " completes once";
  EXPECT_GT(timeouts.load(), 0u) << "some asks lose the race";
  // Every reply b sent either completed an ask or was dropped as late.
  ASSERT_TRUE(p->sink_a.wait([&] {
    return replies_sent.load() == asks && ok.load() + p->a_to_b->stats().late_replies == asks;
  }, 30s)) << "ok " << ok.load() << " late " << p->a_to_b->stats().late_replies << " sent " << replies_sent.load();
  EXPECT_EQ(p->a_to_b->stats().asks_pending, 0u) << "the pending table drains to zero";
  EXPECT_EQ(p->a_to_b->stats().asks_timed_out, timeouts.load());
}

TEST_P(Connection, ConnectionKilledMidStreamFailsEveryPendingAskWithNodeDown) {
  auto p = up_pair(GetParam());
  ASSERT_TRUE(p->a_to_b);
  p->sink_b.on_frame_hook = [](const std::shared_ptr<connection>&, inbound_frame) {};  // never replies
  constexpr int asks = 100;
  std::atomic<int> node_down{0}, other{0};
  for (int i = 0; i < asks; ++i) {
    auto id = p->a_to_b->request(ask_header(), 8, [](std::span<std::byte> out) { std::memset(out.data(), 0, 8); },
                                 connection::clock::now() + 60s, [&](result<inbound_frame> r) {
                                   (!r && r.error().code() == errc::node_down ? node_down : other).fetch_add(1);
                                   p->sink_a.notify();
                                 });
    ASSERT_TRUE(id);
  }
  std::atomic<bool> stop{false};
  std::atomic<int> send_error{0};
  std::thread flooder([&] {
    while (!stop) {
      auto r = p->a_to_b->send(tell_header(), 64, [](std::span<std::byte> out) { std::memset(out.data(), 1, 64); });
      if (!r) {
        send_error = static_cast<int>(r.error().code());
        return;
      }
    }
  });
  std::this_thread::sleep_for(20ms);  // let the stream run
  p->b_to_a->close(herald::error(errc::io_error, "killed by the test"));
  EXPECT_TRUE(p->sink_a.wait([&] { return node_down.load() + other.load() == asks; }, 10s)) << "nothing hangs";
  EXPECT_EQ(node_down.load(), asks) << "every pending ask fails with node_down";
  EXPECT_TRUE(p->sink_a.wait([&] { return !p->sink_a.downs.empty(); }, 10s)) << "a hears that b is down";
  flooder.join();
  EXPECT_EQ(send_error.load(), static_cast<int>(errc::node_down)) << "senders see node_down";
  EXPECT_FALSE(p->a_to_b->is_open());
  auto late = p->a_to_b->send_bytes(tell_header(), {});
  ASSERT_FALSE(late);
  EXPECT_EQ(late.error().code(), errc::node_down);
}

void flood_both_ways(transport_kind k, std::chrono::milliseconds duration) {
  auto p = up_pair(k, [](node_config& c) { c.backpressure_timeout = 30s; },
                   [](node_config& c) { c.backpressure_timeout = 30s; });
  ASSERT_TRUE(p->a_to_b && p->b_to_a);
  worker_thread worker_a, worker_b;
  std::atomic<std::uint64_t> tells_a{0}, tells_b{0};
  auto serve = [](recording_sink& sink, worker_thread& w, std::atomic<std::uint64_t>& tells) {
    sink.on_frame_hook = [&w, &tells](const std::shared_ptr<connection>& from, inbound_frame f) {
      if (f.header.kind == wire::frame_kind::tell) {
        tells.fetch_add(1, std::memory_order_relaxed);
        return;
      }
      auto shared = std::make_shared<inbound_frame>(std::move(f));
      w.post([from, shared] { reply_to(from, *shared); });
    };
  };
  serve(p->sink_a, worker_a, tells_a);
  serve(p->sink_b, worker_b, tells_b);
  std::atomic<bool> stop{false};
  std::atomic<std::uint64_t> replies{0}, failures{0}, asked{0};
  auto run = [&](std::shared_ptr<connection> c, bool asker) {
    std::vector<std::byte> payload(asker ? 32 : 200, std::byte{7});
    while (!stop.load(std::memory_order_relaxed)) {
      if (asker) {
        asked.fetch_add(1);
        auto id = c->request(ask_header(), payload.size(),
                             [&](std::span<std::byte> out) { std::memcpy(out.data(), payload.data(), out.size()); },
                             connection::clock::now() + 30s, [&](result<inbound_frame> r) {
                               (r ? replies : failures).fetch_add(1);
                             });
        if (!id) {
          if (id.error().code() != errc::too_many_inflight) failures.fetch_add(1);
          asked.fetch_sub(1);
          std::this_thread::yield();
        }
      } else if (!c->send_bytes(tell_header(), payload)) {
        failures.fetch_add(1);
      }
    }
  };
  std::vector<std::thread> threads;
  threads.emplace_back(run, p->a_to_b, false);
  threads.emplace_back(run, p->a_to_b, true);
  threads.emplace_back(run, p->b_to_a, false);
  threads.emplace_back(run, p->b_to_a, true);
  std::this_thread::sleep_for(duration);
  stop = true;
  for (auto& t : threads) t.join();
  EXPECT_TRUE(p->sink_a.wait([&] { return replies.load() + failures.load() >= asked.load(); }, 30s))
      << "every ask completes: " << replies.load() << " replies, " << failures.load() << " failures, " << asked.load()
      << " asked";
  EXPECT_EQ(failures.load(), 0u);
  EXPECT_GT(tells_a.load(), 0u) << "b's tells reach a";
  EXPECT_GT(tells_b.load(), 0u) << "a's tells reach b";
  EXPECT_GT(replies.load(), 0u);
}

TEST_P(Connection, BothNodesFloodingEachOtherWithTellsAndAsksMakeProgress) {
  flood_both_ways(GetParam(), herald::test::sanitized() ? 1s : 2s);
}

class ConnectionSoak : public Connection {};
TEST_P(ConnectionSoak, BothNodesFloodEachOtherForThirtySeconds) {
  HERALD_SOAK_ONLY();
  flood_both_ways(GetParam(), 30s);
}

TEST_P(Connection, SlowConsumerMeetsTheBackpressurePolicyWithBoundedSenderMemory) {
  auto p = up_pair(GetParam(),
                   [](node_config& c) {
                     c.ring_capacity = 256u << 10;
                     c.backpressure = backpressure_policy::fail;
                   });
  ASSERT_TRUE(p->a_to_b);
  std::mutex gate;
  std::unique_lock closed(gate);
  std::atomic<std::uint64_t> received{0};
  p->sink_b.on_frame_hook = [&](const std::shared_ptr<connection>&, inbound_frame) {
    std::lock_guard wait_for_gate(gate);  // b's io thread stalls: the slowest consumer
    received.fetch_add(1);
  };
  std::vector<std::byte> payload(1000, std::byte{3});
  std::uint64_t accepted = 0;
  result<void> last;
  const auto pool_before = p->a->pool_stats();
  for (;;) {
    last = p->a_to_b->send_bytes(tell_header(), payload);
    if (!last) break;
    ++accepted;
    ASSERT_LT(accepted, 100'000'000u) << "the ring never filled";
  }
  EXPECT_EQ(last.error().code(), errc::backpressure) << last.error().message();
  auto st = p->a_to_b->stats();
  EXPECT_GE(st.backpressure_events, 1u);
  EXPECT_LE(st.ring_used, 256u << 10) << "the sender's memory is bounded by its ring";
  EXPECT_EQ(p->a->pool_stats().bytes_allocated, pool_before.bytes_allocated) << "nothing spilled into buffers";
  closed.unlock();
  EXPECT_TRUE(p->sink_b.wait([&] { return received.load() == accepted; }, 30s))
      << "every accepted frame arrives: " << received.load() << " of " << accepted;
}

TEST_P(Connection, BlockingPolicyWaitsForItsTimeoutThenReportsBackpressure) {
  auto p = up_pair(GetParam(), [](node_config& c) {
    c.ring_capacity = 64u << 10;
    c.backpressure = backpressure_policy::block;
    c.backpressure_timeout = 100ms;
  });
  ASSERT_TRUE(p->a_to_b);
  std::mutex gate;
  std::unique_lock closed(gate);
  p->sink_b.on_frame_hook = [&](const std::shared_ptr<connection>&, inbound_frame) { std::lock_guard g(gate); };
  std::vector<std::byte> payload(4000, std::byte{3});
  result<void> last;
  auto start = connection::clock::now();
  auto failed_at = start;
  for (int i = 0; i < 1'000'000; ++i) {
    auto t = connection::clock::now();
    last = p->a_to_b->send_bytes(tell_header(), payload);
    if (!last) {
      failed_at = t;
      break;
    }
  }
  ASSERT_FALSE(last) << "the ring filled";
  EXPECT_EQ(last.error().code(), errc::backpressure);
  EXPECT_GE(connection::clock::now() - failed_at, 100ms) << "the caller was blocked up to the timeout";
  closed.unlock();
}

TEST_P(Connection, LimitsAreEnforcedBeforeAnythingIsAllocated) {
  auto p = up_pair(GetParam(), [](node_config& c) {
    c.max_inflight_asks = 4;
    c.max_frame_size = 1u << 16;
    c.max_message_size = 1u << 20;
  });
  ASSERT_TRUE(p->a_to_b);
  p->sink_b.on_frame_hook = [](const std::shared_ptr<connection>&, inbound_frame) {};
  auto too_big = p->a_to_b->send(tell_header(), (1u << 20) + 1, [](std::span<std::byte>) {
    ADD_FAILURE() << "the payload writer of an oversized message must not run";
  });
  ASSERT_FALSE(too_big);
  EXPECT_EQ(too_big.error().code(), errc::message_too_large);
  wire::frame_header gossip;
  gossip.kind = wire::frame_kind::gossip;
  gossip.flags = wire::frame_flags::control_lane | wire::frame_flags::flatbuffer;
  auto big_control = p->a_to_b->send(gossip, (1u << 16) + 1, [](std::span<std::byte>) {
    ADD_FAILURE() << "the payload writer of an oversized frame must not run";
  });
  ASSERT_FALSE(big_control);
  EXPECT_EQ(big_control.error().code(), errc::frame_too_large) << "frames that are not messages are never fragmented";
  for (int i = 0; i < 4; ++i) {
    ASSERT_TRUE(p->a_to_b->request(ask_header(), 0, [](std::span<std::byte>) {}, connection::clock::now() + 60s,
                                   [](result<inbound_frame>) {}));
  }
  auto fifth = p->a_to_b->request(ask_header(), 0, [](std::span<std::byte>) {}, connection::clock::now() + 60s,
                                  [](result<inbound_frame>) { ADD_FAILURE() << "a refused ask never completes"; });
  ASSERT_FALSE(fifth);
  EXPECT_EQ(fifth.error().code(), errc::too_many_inflight);
}

TEST_P(Connection, ControlLaneFramesOvertakeAFullDataRing) {
  auto p = up_pair(GetParam(), [](node_config& c) {
    c.ring_capacity = 64u << 10;
    c.backpressure = backpressure_policy::fail;
  });
  ASSERT_TRUE(p->a_to_b);
  std::vector<std::byte> payload(1000, std::byte{3});
  while (p->a_to_b->send_bytes(tell_header(), payload)) {
  }
  wire::frame_header hb;
  hb.kind = wire::frame_kind::heartbeat;
  hb.flags = wire::frame_flags::control_lane | wire::frame_flags::flatbuffer;
  std::vector<std::byte> fb(16, std::byte{0});
  ASSERT_TRUE(p->a_to_b->send_bytes(hb, fb)) << "the control ring has room while the data ring is full";
  EXPECT_TRUE(p->sink_b.wait([&] { return !p->sink_b.controls.empty(); }));
}

// Sends one frame whose payload writer throws; the exception must not escape.
template <class Send>
result<void> send_catching(Send send) {
  try {
    return send();
  } catch (const std::exception& e) {
    ADD_FAILURE() << "the encoder's exception escaped the send: " << e.what();
    return herald::error(errc::ok, "escaped");
  }
}

TEST_P(Connection, AThrowingEncoderCostsOnlyItsOwnMessage) {
  auto p = up_pair(GetParam(), [](node_config& c) { c.large_payload_threshold = 4096; });
  ASSERT_TRUE(p->a_to_b);
  auto thrower = [](std::span<std::byte>) { throw std::length_error("boom: field over its bound"); };
  auto check = [](const result<void>& r, const char* what) {
    ASSERT_FALSE(r) << what << ": a throwing encoder fails its send";
    if (r.error().code() == errc::ok) return;  // escaped; reported already
    EXPECT_EQ(r.error().code(), errc::invalid_argument) << what << ": " << r.error().message();
    EXPECT_NE(r.error().message().find("boom"), std::string::npos) << what << ": " << r.error().message();
  };
  check(send_catching([&] { return p->a_to_b->send(tell_header(), 64, thrower); }), "inline tell");
  check(send_catching([&] { return p->a_to_b->send(tell_header(), 10'000, thrower); }), "pooled tell");
  auto ask = send_catching([&]() -> result<void> {
    auto id = p->a_to_b->request(ask_header(), 64, thrower, connection::clock::now() + 60s,
                                 [](result<inbound_frame>) { ADD_FAILURE() << "a failed ask never completes"; });
    if (!id) return std::move(id).error();
    return {};
  });
  check(ask, "ask");
  EXPECT_EQ(p->a_to_b->stats().asks_pending, 0u) << "the failed ask's table slot is free again";
  constexpr std::uint64_t tells = 100;
  for (std::uint64_t seq = 0; seq < tells; ++seq) {
    auto ok = p->a_to_b->send(tell_header(), 8, [&](std::span<std::byte> out) { std::memcpy(out.data(), &seq, 8); });
    ASSERT_TRUE(ok) << ok.error().message();
  }
  ASSERT_TRUE(p->sink_b.wait([&] { return p->sink_b.frames.size() >= tells; }, 10s))
      << "the tells behind the failed ones arrive: " << p->sink_b.locked([&] { return p->sink_b.frames.size(); })
      << " of " << tells;
  p->sink_b.locked([&] {
    ASSERT_EQ(p->sink_b.frames.size(), tells) << "nothing of the failed sends went out";
    for (std::uint64_t seq = 0; seq < tells; ++seq)
      EXPECT_EQ(read_pod<std::uint64_t>(p->sink_b.frames[seq].bytes()), seq) << "in order";
  });
  EXPECT_TRUE(p->a_to_b->is_open());
  EXPECT_TRUE(p->sink_b.wait([&] { return p->a_to_b->stats().ring_used == 0; }))
      << "the skipped space is freed too";
}

// The receiving side of the order tests: the sequence numbers b's sink got,
// in arrival order.
struct seq_log {
  std::mutex mutex;
  std::vector<std::uint64_t> seqs;
  void hook(recording_sink& sink) {
    sink.on_frame_hook = [this, &sink](const std::shared_ptr<connection>&, inbound_frame f) {
      {
        std::lock_guard lock(mutex);
        seqs.push_back(read_pod<std::uint64_t>(f.bytes()));
      }
      sink.notify();
    };
  }
  std::vector<std::uint64_t> snapshot() {
    std::lock_guard lock(mutex);
    return seqs;
  }
  std::size_t size() {
    std::lock_guard lock(mutex);
    return seqs.size();
  }
};

result<void> tell_seq(connection& c, std::uint64_t seq) {
  return c.send(tell_header(), 64, [&](std::span<std::byte> out) {
    std::memset(out.data(), 0, out.size());
    std::memcpy(out.data(), &seq, 8);
  });
}

// The first mismatch of two sequences, for the failure message.
std::string first_difference(const std::vector<std::uint64_t>& got, const std::vector<std::uint64_t>& want) {
  for (std::size_t i = 0; i < std::min(got.size(), want.size()); ++i)
    if (got[i] != want[i])
      return "at index " + std::to_string(i) + ": got " + std::to_string(got[i]) + ", expected " + std::to_string(want[i]);
  return "sizes " + std::to_string(got.size()) + " and " + std::to_string(want.size());
}

// Tells with policy fail until the ring stays full: the peer's reader is
// stalled and the stream's buffers are full too, so frames wait in the ring.
void fill_until_stuck(connection& c, std::uint64_t& next_seq) {
  for (int stuck = 0; stuck < 50;) {
    if (tell_seq(c, next_seq)) {
      ++next_seq;
      stuck = 0;
    } else {
      ++stuck;
      std::this_thread::sleep_for(2ms);
    }
  }
}

// a dials b first; then b, whose node id is the smaller, dials a: by the
// duplicate rule (PROTOCOL.md §5.5) the link dialled by the smaller id wins on
// both ends, so b's link replaces a's while a sends on whichever is current.
TEST(Connection, ReplacingALinkLosesAndReordersNothing) {
  auto p = up_pair(
      transport_kind::tcp,
      [](node_config& c) {
        c.node_id = 0x2000;
        c.backpressure = backpressure_policy::block;
        c.backpressure_timeout = 30s;
      },
      [](node_config& c) {
        c.node_id = 0x1000;
        c.backpressure = backpressure_policy::block;
        c.backpressure_timeout = 30s;
      });
  ASSERT_TRUE(p->a_to_b);
  seq_log got;
  got.hook(p->sink_b);
  const std::uint64_t total = herald::test::scaled(400'000);
  std::atomic<std::uint64_t> progress{0};
  std::vector<std::uint64_t> accepted;
  std::uint64_t refused = 0;
  std::thread sender([&] {
    for (std::uint64_t seq = 0; seq < total; ++seq) {
      auto c = p->a->connection_to(p->b->id());  // the current link, as the actors layer does
      if (c && tell_seq(*c, seq)) accepted.push_back(seq);
      else ++refused;
      progress.store(seq + 1, std::memory_order_relaxed);
    }
  });
  while (progress.load(std::memory_order_relaxed) < total / 4) std::this_thread::yield();
  p->b->connect(p->a->listen_addresses().front());  // the smaller id dials: its link replaces a's
  ASSERT_TRUE(p->sink_a.wait([&] { return p->sink_a.ups.size() >= 2; }, 30s)) << p->log_a.all();
  sender.join();
  EXPECT_FALSE(p->a_to_b->is_open()) << "the first link was replaced";
  auto now = p->a->connection_to(p->b->id());
  ASSERT_TRUE(now);
  EXPECT_NE(now, p->a_to_b);
  EXPECT_TRUE(p->sink_b.wait([&] { return got.size() >= accepted.size(); }, 60s))
      << got.size() << " of " << accepted.size() << " accepted tells arrived";
  // Anything more would be a duplicate or a refused tell: give it a moment to show.
  EXPECT_FALSE(p->sink_b.wait([&] { return got.size() > accepted.size(); }, 200ms));
  const auto seqs = got.snapshot();
  EXPECT_EQ(seqs.size(), accepted.size()) << "every tell that returned ok arrives exactly once";
  EXPECT_TRUE(seqs == accepted) << "and in the order it was sent: " << first_difference(seqs, accepted);
  EXPECT_GT(accepted.size(), total / 2) << "most tells went through (" << refused << " refused)";
  EXPECT_GT(accepted.back(), progress.load() - 1000) << "tells after the replacement flow on the new link";
  EXPECT_EQ(p->a->frames_dropped_unsent(), 0u) << "a deliberate close drains";
  p->a->shutdown();  // before `got`, which b's sink writes to, goes
  p->b->shutdown();
}

TEST_P(Connection, ACloseFrameFromThePeerDrainsWhatItsRingsAccepted) {
  auto p = up_pair(GetParam(), [](node_config& c) {
    c.ring_capacity = 256u << 10;
    c.backpressure = backpressure_policy::fail;
  });
  ASSERT_TRUE(p->a_to_b);
  std::mutex gate;
  std::unique_lock closed(gate);
  seq_log got;
  p->sink_b.on_frame_hook = [&](const std::shared_ptr<connection>&, inbound_frame f) {
    std::lock_guard wait_for_gate(gate);  // b's io thread stalls: a's ring fills
    std::lock_guard lock(got.mutex);
    got.seqs.push_back(read_pod<std::uint64_t>(f.bytes()));
  };
  std::uint64_t accepted = 0;
  fill_until_stuck(*p->a_to_b, accepted);
  ASSERT_GT(p->a_to_b->stats().ring_used, 0u) << "frames wait in a's ring";
  p->b_to_a->close(herald::error(errc::system_shutdown, "b leaves"));  // b sends a close frame
  closed.unlock();
  ASSERT_TRUE(p->sink_a.wait([&] { return !p->sink_a.downs.empty(); }, 30s)) << "a closes after draining";
  EXPECT_FALSE(p->a_to_b->is_open());
  auto late = tell_seq(*p->a_to_b, accepted);
  ASSERT_FALSE(late);
  EXPECT_EQ(late.error().code(), errc::node_down) << "no send is accepted once the drain has started";
  EXPECT_NE(p->sink_a.locked([&] { return p->sink_a.downs[0].second.message(); }).find("b leaves"), std::string::npos)
      << "a's reason carries b's close frame";
  ASSERT_TRUE(p->sink_b.wait([&] { return got.size() >= accepted; }, 30s)) << got.size() << " of " << accepted;
  const auto seqs = got.snapshot();
  ASSERT_EQ(seqs.size(), accepted) << "every frame a's rings held when b's close frame came was sent";
  for (std::uint64_t i = 0; i < accepted; ++i) ASSERT_EQ(seqs[i], i);
  EXPECT_EQ(p->a->frames_dropped_unsent(), 0u);
  EXPECT_EQ(p->a_to_b->stats().frames_dropped_unsent, 0u);
  p->a->shutdown();  // before the locals b's sink uses go
  p->b->shutdown();
}

TEST_P(Connection, ADrainThatTimesOutCountsTheFramesItDiscarded) {
  auto p = up_pair(GetParam(), [](node_config& c) {
    c.ring_capacity = 256u << 10;
    c.backpressure = backpressure_policy::fail;
    c.drain_timeout = 200ms;
  });
  ASSERT_TRUE(p->a_to_b);
  std::mutex gate;
  std::unique_lock closed(gate);
  std::atomic<std::uint64_t> received{0};
  p->sink_b.on_frame_hook = [&](const std::shared_ptr<connection>&, inbound_frame) {
    std::lock_guard wait_for_gate(gate);  // b never reads in time
    received.fetch_add(1);
  };
  std::uint64_t accepted = 0;
  fill_until_stuck(*p->a_to_b, accepted);
  p->a_to_b->close(herald::error(errc::node_down, "given up by the test"));
  ASSERT_TRUE(p->sink_a.wait([&] { return !p->sink_a.downs.empty(); }, 30s)) << "the drain is bounded";
  const auto dropped = p->a_to_b->stats().frames_dropped_unsent;
  EXPECT_GT(dropped, 0u) << "frames left in the ring at the timeout are counted";
  EXPECT_EQ(p->a->frames_dropped_unsent(), dropped) << "and reach the node's count";
  EXPECT_TRUE(p->log_a.wait_for("discarded unsent"));
  closed.unlock();
  // What the stream's buffers held still arrives (a TCP peer reopening a
  // zero window can take a while).
  EXPECT_TRUE(p->sink_b.wait([&] { return received.load() + dropped >= accepted; }, 60s))
      << "what did not arrive was counted: " << received.load() << " received, " << dropped << " dropped, "
      << accepted << " accepted";
  EXPECT_LT(received.load(), accepted);
  p->a->shutdown();  // b may still be reading: before the locals its sink uses go
  p->b->shutdown();
}

INSTANTIATE_TEST_SUITE_P(Transports, Connection,
                         ::testing::Values(transport_kind::inproc, transport_kind::tcp, transport_kind::unix_socket),
                         [](const auto& info) { return to_string(info.param); });
INSTANTIATE_TEST_SUITE_P(Transports, ConnectionSoak,
                         ::testing::Values(transport_kind::inproc, transport_kind::tcp, transport_kind::unix_socket),
                         [](const auto& info) { return to_string(info.param); });

}  // namespace
}  // namespace herald::runtime::test
