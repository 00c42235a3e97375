// Large messages (wire/PROTOCOL.md §6.3): a tell, ask or reply above the
// fragment size travels as fragments interleaved with the link's other
// traffic, is delivered whole and in order for its target, takes the large
// window until it is handled, and a peer that breaks the fragment rules
// loses its link without making the node allocate what it announced.
#include "herald/runtime/connection.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdlib>
#include <atomic>
#include <condition_variable>
#include <numeric>
#include <cstring>
#include <deque>
#include <mutex>
#include <thread>

#include "herald/wire/control.hpp"
#include "runtime/node_harness.hpp"
#include "runtime/raw_node.hpp"
#include "runtime/raw_peer.hpp"

namespace herald::runtime::test {
namespace {

// Byte i of message `seed`: every message distinct, every offset checked.
std::byte pattern(std::uint64_t seed, std::size_t i) {
  return static_cast<std::byte>((i * 131 + seed * 7 + (i >> 12)) & 0xFF);
}

result<void> send_message(connection& c, std::uint64_t target, std::uint64_t seq, std::size_t size,
                          wire::frame_kind kind = wire::frame_kind::tell) {
  wire::frame_header h = tell_header(target);
  h.kind = kind;
  return c.send(h, size, [&](std::span<std::byte> out) {
    for (std::size_t i = 0; i < out.size(); ++i) out[i] = pattern(seq, i);
    if (out.size() >= 8) std::memcpy(out.data(), &seq, sizeof seq);
  });
}

// The sequence number of a message sent by send_message, after checking
// every byte of it.
std::uint64_t check_message(const inbound_frame& f, std::size_t size) {
  const auto b = f.bytes();
  EXPECT_EQ(b.size(), size);
  if (b.size() != size || size < 8) return ~std::uint64_t{0};
  const auto seq = read_pod<std::uint64_t>(b);
  std::size_t bad = 0;
  for (std::size_t i = 8; i < size; ++i)
    if (b[i] != pattern(seq, i)) ++bad;
  EXPECT_EQ(bad, 0u) << "message " << seq << " arrived with " << bad << " wrong bytes";
  return seq;
}

// Both nodes use one fragment size (a cluster does): 4 KiB fragments make a
// 1 MiB message 256 of them.
void small_fragments(node_config& c) {
  c.fragment_size = 4u << 10;
  c.ring_capacity = 1u << 20;
}

class LargeMessages : public ::testing::TestWithParam<transport_kind> {};

// Records every tell and ask and gives its window back at once, except those
// for `gated_target`: their window stays taken until release(). Gated frames
// exhaust a sender's byte window, so what it sends next waits in its ring
// until release() and is then written in one walk of the ring.
class gated_sink final : public recording_sink {
 public:
  static constexpr std::uint64_t gated_target = 3;

  bool holds_credit() const noexcept override { return true; }
  void on_frame(const std::shared_ptr<connection>& from, inbound_frame f) override {
    if (f.header.target == gated_target) {
      {
        std::lock_guard lock(m_);
        gated_.emplace_back(from, f.header);
      }
      gated_count.fetch_add(1);
      notify();
      return;
    }
    const wire::frame_header h = f.header;
    recording_sink::on_frame(from, std::move(f));
    from->consumed(h);
  }
  void release() {
    std::vector<std::pair<std::shared_ptr<connection>, wire::frame_header>> gated;
    {
      std::lock_guard lock(m_);
      gated.swap(gated_);
    }
    for (auto& [from, h] : gated) from->consumed(h);
  }
  void drop_all() { release(); }

  std::atomic<std::size_t> gated_count{0};

 private:
  std::mutex m_;
  std::vector<std::pair<std::shared_ptr<connection>, wire::frame_header>> gated_;
};

TEST_P(LargeMessages, AMessageLargerThanAFragmentArrivesWholeInOrderForItsTargetAndHoldsUpNoOtherTarget) {
  constexpr std::size_t window = 64u << 10;
  auto p = up_pair<recording_sink, gated_sink>(GetParam(), small_fragments, [](node_config& c) {
    small_fragments(c);
    c.max_frame_size = 16u << 10;
    c.flow_window_bytes = window;
  });
  ASSERT_TRUE(p->a_to_b);
  ASSERT_TRUE(p->sink_b.wait([&] { return p->a_to_b->stats().credits_received != 0; }));
  // b holds tells for target 3 until a's byte window has less than a frame
  // left: what a sends next waits in its ring, all of it committed before
  // the window reopens, so the interleaving below does not depend on how
  // the sending thread is scheduled against a's writer.
  const std::size_t blockers = window / wire::frame_size(64);
  for (std::uint64_t s = 0; s < blockers; ++s) ASSERT_TRUE(send_message(*p->a_to_b, gated_sink::gated_target, s, 64));
  ASSERT_TRUE(p->sink_b.wait([&] { return p->sink_b.gated_count.load() == blockers; })) << p->log_b.all();
  constexpr std::size_t large = 4u << 20;
  // Target 1: small, large, small. Target 2: smalls sent after the large one.
  ASSERT_TRUE(send_message(*p->a_to_b, 1, 0, 64));
  ASSERT_TRUE(send_message(*p->a_to_b, 1, 1, large));
  ASSERT_TRUE(send_message(*p->a_to_b, 1, 2, 64));
  for (std::uint64_t s = 100; s < 110; ++s) ASSERT_TRUE(send_message(*p->a_to_b, 2, s, 64));
  std::this_thread::sleep_for(20ms);
  EXPECT_TRUE(p->sink_b.locked([&] { return p->sink_b.frames.empty(); })) << "a's byte window is spent";
  p->sink_b.release();
  ASSERT_TRUE(p->sink_b.wait([&] { return p->sink_b.frames.size() == 13; }, 20s)) << p->log_b.all();
  std::vector<std::uint64_t> one, two;
  std::size_t large_at = 0, first_two_at = SIZE_MAX;
  p->sink_b.locked([&] {
    for (std::size_t i = 0; i < p->sink_b.frames.size(); ++i) {
      const auto& f = p->sink_b.frames[i];
      const bool is_large = f.bytes().size() == large;
      const auto seq = check_message(f, is_large ? large : 64);
      if (is_large) large_at = i;
      if (f.header.target == 1) one.push_back(seq);
      if (f.header.target == 2) {
        two.push_back(seq);
        first_two_at = std::min(first_two_at, i);
      }
    }
    return 0;
  });
  EXPECT_EQ(one, (std::vector<std::uint64_t>{0, 1, 2})) << "one target sees the link's order";
  EXPECT_EQ(two.size(), 10u);
  EXPECT_TRUE(std::is_sorted(two.begin(), two.end()));
  EXPECT_LT(first_two_at, large_at) << "another target's tells, sent after the large message, do not wait for it";
  const auto sa = p->a_to_b->stats();
  const auto sb = p->b_to_a->stats();
  EXPECT_EQ(sa.large_messages_sent, 1u);
  EXPECT_EQ(sb.large_messages_received, 1u);
  EXPECT_GE(sa.frames_sent, 1024u) << "sent as 4 KiB fragments";
  EXPECT_EQ(p->b->admission().frame_errors, 0u);
}

TEST_P(LargeMessages, ALargeReplyCompletesItsAsk) {
  // b answers on its io thread, which never waits: its ring's capacity (the
  // bound on pooled payloads queued) holds the four replies.
  auto p = up_pair(GetParam(), small_fragments, [](node_config& c) {
    small_fragments(c);
    c.ring_capacity = 8u << 20;
  });
  ASSERT_TRUE(p->a_to_b);
  constexpr std::size_t reply_size = 1u << 20;
  p->sink_b.on_frame_hook = [&](const std::shared_ptr<connection>& from, inbound_frame f) {
    wire::frame_header h;
    h.kind = wire::frame_kind::reply;
    h.type_id = 1;
    h.request_id = f.header.request_id;
    const auto seq = read_pod<std::uint64_t>(f.bytes());
    (void)from->send(h, reply_size, [&](std::span<std::byte> out) {
      for (std::size_t i = 0; i < out.size(); ++i) out[i] = pattern(seq, i);
      std::memcpy(out.data(), &seq, sizeof seq);
    });
  };
  std::mutex m;
  std::vector<std::uint64_t> answered;
  for (std::uint64_t seq = 1; seq <= 4; ++seq) {
    wire::frame_header h = tell_header(1);
    h.kind = wire::frame_kind::ask;
    auto id = p->a_to_b->request(
        h, 64,
        [&](std::span<std::byte> out) {
          std::memset(out.data(), 0, out.size());
          std::memcpy(out.data(), &seq, sizeof seq);
        },
        std::chrono::steady_clock::now() + 20s, [&](result<inbound_frame> r) {
          ASSERT_TRUE(r) << r.error().message();
          const auto got = check_message(*r, reply_size);
          std::lock_guard lock(m);
          answered.push_back(got);
        });
    ASSERT_TRUE(id);
  }
  ASSERT_TRUE(p->sink_a.wait([&] {
    std::lock_guard lock(m);
    return answered.size() == 4;
  }, 20s));
  std::sort(answered.begin(), answered.end());
  EXPECT_EQ(answered, (std::vector<std::uint64_t>{1, 2, 3, 4}));
  EXPECT_EQ(p->b_to_a->stats().large_messages_sent, 4u);
  EXPECT_EQ(p->a_to_b->stats().late_replies, 0u);
  EXPECT_EQ(p->a_to_b->stats().asks_pending, 0u);
}

TEST_P(LargeMessages, ADeliberateCloseFinishesTheLargeMessagesItStarted) {
  auto p = up_pair(GetParam(), small_fragments, small_fragments);
  ASSERT_TRUE(p->a_to_b);
  constexpr std::size_t large = 1u << 20;
  for (std::uint64_t s = 0; s < 3; ++s) {
    ASSERT_TRUE(send_message(*p->a_to_b, 1, 2 * s, large));
    ASSERT_TRUE(send_message(*p->a_to_b, 1, 2 * s + 1, 64));
  }
  p->a_to_b->close(herald::error(errc::node_down, "test closes"));
  ASSERT_TRUE(p->sink_b.wait([&] { return p->sink_b.frames.size() == 6; }, 20s)) << p->log_a.all();
  std::vector<std::uint64_t> seqs;
  p->sink_b.locked([&] {
    for (const auto& f : p->sink_b.frames) seqs.push_back(check_message(f, f.bytes().size() == large ? large : 64));
    return 0;
  });
  EXPECT_EQ(seqs, (std::vector<std::uint64_t>{0, 1, 2, 3, 4, 5}));
  EXPECT_EQ(p->a->frames_dropped_unsent(), 0u);
  EXPECT_EQ(p->a_to_b->stats().large_messages_lost, 0u);
}

// b keeps every message until the test consumes it (its handler is busy).
class keeping_sink final : public recording_sink {
 public:
  keeping_sink() {
    on_frame_hook = [this](const std::shared_ptr<connection>& from, inbound_frame f) {
      std::lock_guard lock(m_);
      held_.emplace_back(from, std::move(f));
    };
  }
  bool holds_credit() const noexcept override { return true; }
  std::vector<std::uint64_t> consume(std::size_t size) {
    std::vector<std::uint64_t> seqs;
    std::lock_guard lock(m_);
    for (auto& [from, f] : held_) {
      seqs.push_back(check_message(f, size));
      from->consumed(f.header);
    }
    held_.clear();
    return seqs;
  }
  std::size_t held() {
    std::lock_guard lock(m_);
    return held_.size();
  }
  // Gives back the window of every held frame unhandled (a sink calls
  // consumed once per frame: a frame never consumed keeps its connection).
  void drop_all() {
    std::lock_guard lock(m_);
    for (auto& [from, f] : held_) from->consumed(f.header);
    held_.clear();
  }

 private:
  std::mutex m_;
  std::deque<std::pair<std::shared_ptr<connection>, inbound_frame>> held_;
};

// a (recording) dials b (keeping); both tweaked; up, with b's windows granted.
using kept_pair = basic_node_pair<recording_sink, keeping_sink>;

std::unique_ptr<kept_pair> start_kept_pair(transport_kind k, const std::function<void(node_config&)>& tweak_a,
                                           const std::function<void(node_config&)>& tweak_b) {
  auto p = up_pair<recording_sink, keeping_sink>(k, tweak_a, tweak_b);
  EXPECT_TRUE(p->a_to_b && p->sink_a.wait([&] { return p->a_to_b->stats().send_window_large_bytes != 0; }))
      << "b grants its windows once the link is up";
  return p;
}

// Has b handle messages until `count` have come, returning their sequence
// numbers in handling order.
std::vector<std::uint64_t> handle_all(keeping_sink& sink, std::uint64_t count, std::size_t size) {
  std::vector<std::uint64_t> got;
  while (got.size() < count) {
    if (!sink.wait([&] { return sink.held() != 0; }, 10s)) {
      ADD_FAILURE() << "only " << got.size() << " of " << count << " messages came";
      break;
    }
    auto part = sink.consume(size);
    got.insert(got.end(), part.begin(), part.end());
  }
  return got;
}

std::vector<std::uint64_t> first_n(std::uint64_t n) {
  std::vector<std::uint64_t> v(n);
  for (std::uint64_t i = 0; i < n; ++i) v[i] = i;
  return v;
}

TEST_P(LargeMessages, TheLargeWindowHoldsFragmentedMessagesUntilTheyAreHandled) {
  constexpr std::size_t large = 1u << 20;
  auto p = start_kept_pair(
      GetParam(),
      [](node_config& c) {
        small_fragments(c);
        c.ring_capacity = 8u << 20;  // room for the messages the window does not admit yet
        c.backpressure = backpressure_policy::fail;
      },
      [](node_config& c) {
        small_fragments(c);
        c.max_message_size = large;
        c.flow_window_large_bytes = 2 * (large + wire::large_message_overhead);
      });
  ASSERT_TRUE(p->a_to_b);
  std::uint64_t accepted = 0;
  for (int i = 0; i < 8; ++i)
    if (send_message(*p->a_to_b, 1, accepted, large)) ++accepted;
  ASSERT_GE(accepted, 3u) << "the ring holds the messages the window does not admit yet";
  // Two messages fit the window; the rest wait in a's ring.
  ASSERT_TRUE(p->sink_b.wait([&] { return p->sink_b.held() == 2; }, 10s));
  std::this_thread::sleep_for(200ms);
  EXPECT_EQ(p->sink_b.held(), 2u) << "no third message before the first two are handled";
  EXPECT_GT(p->a_to_b->stats().credit_stalls, 0u);
  EXPECT_LT(p->a_to_b->stats().send_window_large_bytes, large + wire::large_message_overhead);
  EXPECT_EQ(handle_all(p->sink_b, accepted, large), first_n(accepted)) << "every accepted message, once, in order";
  EXPECT_EQ(p->b->admission().frame_errors, 0u);
}

// Payloads above the large-payload threshold wait in pooled buffers, not in
// the ring: their bytes are bounded like the ring's, whether they go whole
// or in fragments, and the sender meets backpressure at the bound.
TEST_P(LargeMessages, PooledPayloadsQueuedOnALinkAreBoundedByTheRingCapacity) {
  constexpr std::size_t ring = 1u << 20;
  auto p = start_kept_pair(
      GetParam(),
      [](node_config& c) {
        c.max_frame_size = 256u << 10;
        c.max_message_size = 1u << 20;
        c.ring_capacity = ring;
        c.large_payload_threshold = 1024;
        c.backpressure = backpressure_policy::fail;
      },
      [](node_config& c) {
        c.max_frame_size = 256u << 10;
        c.flow_window_bytes = 1u << 20;
        c.max_message_size = 1u << 20;
      });
  ASSERT_TRUE(p->a_to_b);
  for (const std::size_t size : {std::size_t{32} << 10, std::size_t{512} << 10}) {
    SCOPED_TRACE(size == (32u << 10) ? "whole pooled payloads" : "fragmented messages");
    std::uint64_t accepted = 0;
    herald::error refusal;
    std::size_t peak = 0;
    for (int i = 0; i < 1000; ++i) {
      auto r = send_message(*p->a_to_b, 1, accepted, size);
      peak = std::max(peak, p->a_to_b->stats().pooled_payload_bytes);
      if (!r) {
        refusal = r.error();
        break;
      }
      ++accepted;
    }
    EXPECT_EQ(refusal.code(), errc::backpressure) << refusal.message();
    EXPECT_LE(peak, ring) << "queued pooled payloads stay within the ring's capacity";
    EXPECT_LT(accepted, 1000u);
    // The receiver handles everything: every accepted message arrives once, in order.
    EXPECT_EQ(handle_all(p->sink_b, accepted, size), first_n(accepted));
    ASSERT_TRUE(p->sink_a.wait([&] { return p->a_to_b->stats().pooled_payload_bytes == 0; }))
        << "every written payload is released";
  }
}

// Senders on many threads race for the link's pooled-payload budget while b
// handles what comes: the budget is never overrun, each admitted message
// arrives once, and each sender's messages in its order.
void pooled_budget_under_contention() {
  constexpr std::size_t ring = 1u << 20;
  constexpr std::size_t size = 48u << 10;  // pooled, not fragmented
  constexpr std::uint64_t per_thread = 300;
  auto p = start_kept_pair(
      transport_kind::inproc,
      [](node_config& c) {
        c.max_frame_size = 256u << 10;
        c.ring_capacity = ring;
        c.large_payload_threshold = 1024;
        c.backpressure_timeout = 5ms;
      },
      [](node_config& c) {
        c.max_frame_size = 256u << 10;
        c.flow_window_bytes = 1u << 20;
      });
  ASSERT_TRUE(p->a_to_b);
  std::atomic<bool> done{false};
  std::atomic<std::size_t> peak{0};
  std::thread sampler([&] {
    while (!done.load()) {
      const std::size_t now = p->a_to_b->stats().pooled_payload_bytes;
      if (now > peak.load()) peak.store(now);
    }
  });
  std::vector<std::uint64_t> got;
  std::thread receiver([&] {
    while (!done.load()) {
      auto part = p->sink_b.consume(size);
      got.insert(got.end(), part.begin(), part.end());
      if (part.empty()) std::this_thread::yield();
    }
  });
  std::atomic<std::uint64_t> accepted{0}, refused{0};
  std::vector<std::thread> senders;
  for (std::uint64_t t = 0; t < 4; ++t) {
    senders.emplace_back([&, t] {
      for (std::uint64_t i = 0; i < per_thread; ++i) {
        if (send_message(*p->a_to_b, t + 1, t * 1'000'000 + i, size)) ++accepted;
        else ++refused;
      }
    });
  }
  for (auto& s : senders) s.join();
  EXPECT_TRUE(p->sink_b.wait([&] { return p->a_to_b->stats().pooled_payload_bytes == 0; }, 20s));
  const auto deadline = std::chrono::steady_clock::now() + 20s;
  while (std::chrono::steady_clock::now() < deadline && p->sink_b.held() != 0) std::this_thread::sleep_for(1ms);
  std::this_thread::sleep_for(20ms);
  done = true;
  sampler.join();
  receiver.join();
  auto rest = p->sink_b.consume(size);
  got.insert(got.end(), rest.begin(), rest.end());
  EXPECT_LE(peak.load(), ring) << "pooled payloads queued on the link never exceed the ring's capacity";
  EXPECT_EQ(got.size(), accepted.load()) << "every admitted message arrives once";
  std::vector<std::vector<std::uint64_t>> by_sender(4);
  for (std::uint64_t seq : got) by_sender[seq / 1'000'000].push_back(seq % 1'000'000);
  for (const auto& seqs : by_sender) EXPECT_TRUE(std::is_sorted(seqs.begin(), seqs.end())) << "one sender's order";
  EXPECT_GT(accepted.load(), 0u);
}

TEST(LargeMessageContention, ConcurrentSendersNeverOverrunThePooledPayloadBudget) { pooled_budget_under_contention(); }

TEST(LargeMessageContention, ConcurrentSendersOnOneCoreNeverOverrunThePooledPayloadBudget) {
  herald::test::pinned_to_one_core pin;
  ASSERT_TRUE(pin.ok());
  pooled_budget_under_contention();
}

// A link closes while b's handler still holds a 20 MiB message from it: the
// closed links' backlog of large messages counts against one large window,
// not against max_closed_link_backlog (16 MiB), so the next link is let in.
TEST_P(LargeMessages, AClosedLinkWhoseLargeMessageWaitsForItsHandlerDoesNotShutTheDoor) {
  constexpr std::size_t large = 20u << 20;
  auto p = start_kept_pair(
      GetParam(), [](node_config& c) { c.reconnect_min = c.reconnect_max = 50ms; }, [](node_config&) {});
  ASSERT_TRUE(p->a_to_b);
  ASSERT_TRUE(send_message(*p->a_to_b, 1, 0, large));
  ASSERT_TRUE(p->sink_b.wait([&] { return p->sink_b.held() == 1; }, 10s));
  p->a_to_b->close(herald::error(errc::node_down, "test closes"));
  ASSERT_TRUE(p->sink_b.wait([&] { return !p->sink_b.downs.empty(); }, 10s));
  p->a->connect(p->b->listen_addresses().front());
  EXPECT_TRUE(p->sink_b.wait([&] { return p->sink_b.ups.size() == 2; }, 10s))
      << "the next link is admitted while the large message waits for its handler";
  EXPECT_EQ(p->b->admission().closed_link_backlog, 0u);
  EXPECT_EQ(p->sink_b.consume(large), (std::vector<std::uint64_t>{0}));
}

TEST_P(LargeMessages, AMessageAboveMaxMessageSizeIsRefusedAtTheSender) {
  auto p = up_pair(GetParam(), [](node_config& c) { c.max_message_size = 1u << 20; });
  ASSERT_TRUE(p->a_to_b);
  const auto before = p->a_to_b->stats();
  auto r = send_message(*p->a_to_b, 1, 0, (1u << 20) + 1);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code(), errc::message_too_large) << r.error().message();
  EXPECT_TRUE(send_message(*p->a_to_b, 1, 1, 1u << 20)) << "exactly max_message_size is allowed";
  ASSERT_TRUE(p->sink_b.wait([&] { return p->sink_b.frames.size() == 1; }, 10s));
  // a counts the message when its last write completes, which can come
  // after b has read it.
  EXPECT_TRUE(p->sink_b.wait(
      [&] { return p->a_to_b->stats().large_messages_sent == before.large_messages_sent + 1; }, 10s))
      << p->a_to_b->stats().large_messages_sent;
  // A control frame above max_frame_size is still frame_too_large.
  wire::frame_header g;
  g.kind = wire::frame_kind::gossip;
  g.flags = wire::frame_flags::control_lane | wire::frame_flags::flatbuffer;
  auto big = p->a_to_b->send(g, (16u << 20) + 1, [](std::span<std::byte>) {});
  ASSERT_FALSE(big);
  EXPECT_EQ(big.error().code(), errc::frame_too_large);
}

INSTANTIATE_TEST_SUITE_P(Transports, LargeMessages,
                         ::testing::Values(transport_kind::inproc, transport_kind::tcp, transport_kind::unix_socket),
                         [](const auto& info) { return to_string(info.param); });

// ---- a peer written from the spec ----------------------------------------

using raw_node = raw_dialled_node<recording_sink>;

std::unique_ptr<raw_node> raw_peer_of_node(std::function<void(node_config&)> tweak = {}) {
  return raw_dial_node<recording_sink>([&](node_config& c) {
    c.max_message_size = 1u << 20;
    if (tweak) tweak(c);
  });
}

// A frame as PROTOCOL.md §1 and §6.3 lay it out.
std::vector<std::byte> raw_frame(wire::frame_kind kind, std::uint8_t flags, std::uint64_t target,
                                 std::uint64_t request_id, std::span<const std::byte> payload) {
  wire::frame_header h;
  h.kind = kind;
  h.flags = flags;
  h.target = target;
  h.type_id = kind == wire::frame_kind::fragment ? 0 : 1;
  h.request_id = request_id;
  h.payload_length = static_cast<std::uint32_t>(payload.size());
  std::vector<std::byte> out(wire::frame_size(payload.size()), std::byte{0});
  wire::encode_header(h, out.data());
  if (!payload.empty()) std::memcpy(out.data() + wire::frame_header::size, payload.data(), payload.size());
  return out;
}

std::vector<std::byte> first_fragment(std::uint64_t target, std::uint64_t length, std::uint64_t id,
                                      std::span<const std::byte> bytes) {
  std::vector<std::byte> payload(16 + bytes.size());
  std::memcpy(payload.data(), &length, 8);
  std::memcpy(payload.data() + 8, &id, 8);
  if (!bytes.empty()) std::memcpy(payload.data() + 16, bytes.data(), bytes.size());
  return raw_frame(wire::frame_kind::tell, wire::frame_flags::fragmented, target, 0, payload);
}

std::vector<std::byte> message_bytes(std::uint64_t seq, std::size_t size) {
  std::vector<std::byte> m(size);
  for (std::size_t i = 0; i < size; ++i) m[i] = pattern(seq, i);
  std::memcpy(m.data(), &seq, sizeof seq);
  return m;
}

TEST(LargeMessagePeer, FragmentsFromAnotherImplementationAreReassembledAroundOtherTraffic) {
  auto l = raw_peer_of_node();
  ASSERT_TRUE(l->peer);
  const auto big = message_bytes(7, 3000);
  const auto other = message_bytes(8, 64);
  const auto after = message_bytes(9, 64);
  const std::span<const std::byte> all(big);
  ASSERT_TRUE(l->peer->send(first_fragment(9, big.size(), 5, all.subspan(0, 1000))));
  ASSERT_TRUE(l->peer->send(raw_frame(wire::frame_kind::tell, 0, 10, 0, other)));   // another target
  ASSERT_TRUE(l->peer->send(raw_frame(wire::frame_kind::tell, 0, 9, 0, after)));    // the same target
  ASSERT_TRUE(l->peer->send(raw_frame(wire::frame_kind::fragment, 0, 0, 5, all.subspan(1000, 999))));
  ASSERT_TRUE(l->peer->send(raw_frame(wire::frame_kind::fragment, 0, 0, 5, all.subspan(1999))));
  ASSERT_TRUE(l->sink.wait([&] { return l->sink.frames.size() == 3; })) << l->log.all();
  l->sink.locked([&] {
    EXPECT_EQ(l->sink.frames[0].header.target, 10u) << "the other target's tell does not wait";
    EXPECT_EQ(check_message(l->sink.frames[1], 3000), 7u) << "then the large message, whole";
    EXPECT_EQ(l->sink.frames[1].header.target, 9u);
    EXPECT_EQ(check_message(l->sink.frames[2], 64), 9u) << "then the tell that followed it to its target";
    return 0;
  });
  EXPECT_EQ(l->n->admission().frame_errors, 0u);
}

// Sends `frame` in two writes: its header and `head` payload bytes, and,
// once the node has read those, the rest followed by `then`; returns once
// the node has read it all.
void send_in_pieces(raw_node& l, const std::shared_ptr<connection>& conn, std::span<const std::byte> frame,
                    std::size_t head, std::span<const std::byte> then = {}) {
  const auto read_before = conn->stats().bytes_received;
  const std::size_t first = wire::frame_header::size + head;
  ASSERT_TRUE(l.peer->send(frame.subspan(0, first)));
  ASSERT_TRUE(l.sink.wait([&] { return conn->stats().bytes_received >= read_before + first; }));
  std::vector<std::byte> rest(frame.begin() + static_cast<std::ptrdiff_t>(first), frame.end());
  rest.insert(rest.end(), then.begin(), then.end());
  ASSERT_TRUE(l.peer->send(rest));
  ASSERT_TRUE(l.sink.wait([&] { return conn->stats().bytes_received >= read_before + first + rest.size(); }));
}

// A large reply nobody waits for, arriving in pieces, is read and dropped
// (no buffer holds it), and what follows it is read as usual.
TEST(LargeMessagePeer, ALateLargeReplyArrivingInPiecesIsDroppedAndWhatFollowsIsRead) {
  auto l = raw_peer_of_node();
  ASSERT_TRUE(l->peer);
  ASSERT_TRUE(l->sink.wait([&] { return !l->sink.ups.empty(); }));
  const auto conn = l->sink.locked([&] { return l->sink.ups.front(); });
  constexpr std::size_t size = 60'005;
  const auto reply = message_bytes(3, size);
  std::vector<std::byte> payload(wire::fragment_prefix_size + size);
  const std::uint64_t length = size, id = 11;
  std::memcpy(payload.data(), &length, 8);
  std::memcpy(payload.data() + 8, &id, 8);
  std::memcpy(payload.data() + 16, reply.data(), size);
  for (std::uint64_t request = 77; request <= 78; ++request) {
    const auto late = raw_frame(wire::frame_kind::reply, wire::frame_flags::fragmented, 0, request, payload);
    send_in_pieces(*l, conn, late, wire::fragment_prefix_size + 100,
                   raw_frame(wire::frame_kind::tell, 0, 9, 0, message_bytes(request, 64)));
    ASSERT_TRUE(l->sink.wait([&] { return l->sink.frames.size() == request - 76; })) << l->log.all();
  }
  l->sink.locked([&] {
    EXPECT_EQ(check_message(l->sink.frames[0], 64), 77u);
    EXPECT_EQ(check_message(l->sink.frames[1], 64), 78u);
    return 0;
  });
  const auto st = conn->stats();
  EXPECT_EQ(st.late_replies, 2u);
  EXPECT_EQ(l->n->admission().frame_errors, 0u);
}

TEST(LargeMessagePeer, AMessageAboveMaxMessageSizeIsRefusedBeforeAnythingIsAllocated) {
  auto l = raw_peer_of_node();
  ASSERT_TRUE(l->peer);
  const auto before = l->n->pool_stats().bytes_allocated;
  const auto bytes = message_bytes(1, 64);
  ASSERT_TRUE(l->peer->send(first_fragment(9, std::uint64_t{1} << 30, 1, bytes)));
  EXPECT_TRUE(l->peer->closed_by_peer(5s)) << "a message above max_message_size closes the link";
  EXPECT_TRUE(l->log.wait_for("above max_message_size")) << l->log.all();
  EXPECT_LT(l->n->pool_stats().bytes_allocated - before, 1u << 20) << "nothing allocated for the announced GiB";
  EXPECT_GE(l->n->admission().frame_errors, 1u);
  EXPECT_TRUE(l->sink.frames.empty());
}

TEST(LargeMessagePeer, ABrokenFragmentSequenceClosesTheLink) {
  const auto bytes = message_bytes(1, 100);
  const std::span<const std::byte> all(bytes);
  struct broken {
    const char* what;
    std::vector<std::vector<std::byte>> frames;
    const char* logged;
  };
  const broken cases[] = {
      {"a fragment of no message", {raw_frame(wire::frame_kind::fragment, 0, 0, 77, all)}, "not in progress"},
      {"a fragment past the end",
       {first_fragment(9, 150, 3, all.subspan(0, 60)), raw_frame(wire::frame_kind::fragment, 0, 0, 3, all)},
       "past the end"},
      {"a first fragment longer than its message", {first_fragment(9, 50, 3, all)}, "longer than its message"},
      {"a message id reused while in progress",
       {first_fragment(9, 150, 3, all.subspan(0, 10)), first_fragment(9, 150, 3, all.subspan(0, 10))},
       "already in progress"},
  };
  for (const auto& c : cases) {
    auto l = raw_peer_of_node();
    ASSERT_TRUE(l->peer) << c.what;
    for (const auto& f : c.frames) (void)l->peer->send(f);
    EXPECT_TRUE(l->peer->closed_by_peer(5s)) << c.what;
    EXPECT_TRUE(l->log.wait_for(c.logged)) << c.what << "\n" << l->log.all();
    EXPECT_GE(l->n->admission().frame_errors, 1u) << c.what;
  }
}

TEST(LargeMessagePeer, AFirstFragmentBeyondTheLargeWindowIsAViolation) {
  auto l = raw_peer_of_node([](node_config& c) {
    c.max_message_size = 64u << 10;
    c.flow_window_large_bytes = 2 * ((64u << 10) + wire::large_message_overhead);
  });
  ASSERT_TRUE(l->peer);
  // Three messages started, none finished: the third is beyond the window.
  const auto bytes = message_bytes(1, 100);
  for (std::uint64_t id = 1; id <= 3; ++id) (void)l->peer->send(first_fragment(9, 64u << 10, id, bytes));
  EXPECT_TRUE(l->peer->closed_by_peer(5s));
  EXPECT_TRUE(l->log.wait_for("large-message window")) << l->log.all();
  EXPECT_GE(l->n->admission().frame_errors, 1u);
}

TEST(LargeMessagePeer, ALinkLostMidMessageLosesItAndDeliversWhatWaitedBehindIt) {
  auto l = raw_peer_of_node();
  ASSERT_TRUE(l->peer);
  const auto bytes = message_bytes(1, 100);
  const auto small = message_bytes(2, 64);
  ASSERT_TRUE(l->peer->send(first_fragment(9, 1000, 1, bytes)));
  ASSERT_TRUE(l->peer->send(raw_frame(wire::frame_kind::tell, 0, 9, 0, small)));
  ASSERT_TRUE(l->sink.wait([&] { return !l->sink.ups.empty(); }));
  auto conn = l->sink.locked([&] { return l->sink.ups.front(); });
  ASSERT_TRUE(l->sink.wait([&] { return conn->stats().frames_received >= 2; }));
  EXPECT_TRUE(l->sink.frames.empty()) << "the tell waits behind the unfinished message to its target";
  l->peer.reset();  // the link is lost
  ASSERT_TRUE(l->sink.wait([&] { return !l->sink.downs.empty(); }));
  EXPECT_EQ(conn->stats().large_messages_lost, 1u);
  ASSERT_EQ(l->sink.frames.size(), 1u) << "the whole tell behind the lost message is delivered";
  EXPECT_EQ(check_message(l->sink.frames[0], 64), 2u);
}


// ---- small asks beside a 256 MiB message ----------------------------------

// A multiplicative hash over 8-byte words (position-dependent): the
// receiver's copy must be the sender's.
std::uint64_t checksum(std::span<const std::byte> b) {
  std::uint64_t h = 0xcbf29ce484222325ull;
  std::size_t i = 0;
  for (; i + 8 <= b.size(); i += 8) h = (h ^ read_pod<std::uint64_t>(b, i)) * 0x100000001b3ull + i;
  for (; i < b.size(); ++i) h = (h ^ static_cast<std::uint64_t>(b[i])) * 0x100000001b3ull;
  return h;
}

std::chrono::nanoseconds p99(std::vector<std::chrono::nanoseconds> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() * 99 / 100];
}

// Sends 256 MiB tells one after another for `length` (at least `min_messages`
// of them) while 64 B asks run beside each; checks every message and the
// asks' latency.
void asks_beside_large_messages(std::chrono::seconds length, int min_messages) {
  constexpr std::size_t large = 256u << 20;
  auto big_config = [](node_config& c) {
    c.max_message_size = large;
    c.ring_capacity = 1u << 20;
    if (const char* w = std::getenv("HERALD_TEST_FRAGMENT_WINDOW")) c.fragment_window_bytes = std::stoul(w);
  };
  auto p = up_pair(transport_kind::tcp, big_config, big_config);
  ASSERT_TRUE(p->a_to_b);
  // b answers asks at once with 64 bytes and hands large tells to the test.
  std::mutex m;
  std::condition_variable cv;
  std::deque<inbound_frame> larges;
  p->sink_b.on_frame_hook = [&](const std::shared_ptr<connection>& from, inbound_frame f) {
    if (f.header.kind == wire::frame_kind::ask) {
      wire::frame_header h;
      h.kind = wire::frame_kind::reply;
      h.type_id = 1;
      h.request_id = f.header.request_id;
      (void)from->send(h, 64, [](std::span<std::byte> out) { std::memset(out.data(), 0x5A, out.size()); });
      return;
    }
    std::lock_guard lock(m);
    larges.push_back(std::move(f));
    cv.notify_all();
  };
  // One ask in flight at a time, timed from send to reply.
  auto timed_ask = [&]() -> std::chrono::nanoseconds {
    std::atomic<int> done{0};
    wire::frame_header h = tell_header(1);
    h.kind = wire::frame_kind::ask;
    const auto start = std::chrono::steady_clock::now();
    auto id = p->a_to_b->request(
        h, 64, [](std::span<std::byte> out) { std::memset(out.data(), 1, out.size()); },
        std::chrono::steady_clock::now() + 30s, [&](result<inbound_frame> r) {
          done.store(r ? 1 : 2);
          done.notify_one();
        });
    if (!id) return std::chrono::hours(1);
    done.wait(0);
    if (done.load() != 1) return std::chrono::hours(1);
    return std::chrono::steady_clock::now() - start;
  };
  for (int i = 0; i < 200; ++i) (void)timed_ask();  // warm up
  std::vector<std::chrono::nanoseconds> idle;
  for (int i = 0; i < 3000; ++i) idle.push_back(timed_ask());

  // The payload: a pattern, its checksum known before it is sent.
  std::vector<std::byte> payload(large);
  for (std::size_t i = 0; i < large; ++i) payload[i] = pattern(3, i);
  const std::uint64_t sum = checksum(payload);
  // One message at a time, sent from this thread (the encoding copy is not
  // "in flight"); asks run until b has it whole.
  std::vector<std::chrono::nanoseconds> loaded;
  std::vector<std::uint64_t> sums;
  std::chrono::nanoseconds on_link{0};
  const auto until = std::chrono::steady_clock::now() + length;
  int messages = 0;
  for (int i = 0; i < min_messages || std::chrono::steady_clock::now() < until; ++i, ++messages) {
    ASSERT_TRUE(p->a_to_b->send_bytes(tell_header(2), payload)) << "message " << i;
    const auto sent_at = std::chrono::steady_clock::now();
    auto delivered = [&] {
      std::lock_guard lock(m);
      return !larges.empty();
    };
    while (!delivered()) {
      const auto t = timed_ask();
      // Still on the link when the reply came: the ask ran beside it.
      if (!delivered()) loaded.push_back(t);
    }
    inbound_frame f = [&] {
      std::lock_guard lock(m);
      inbound_frame out = std::move(larges.front());
      larges.pop_front();
      return out;
    }();
    on_link += std::chrono::steady_clock::now() - sent_at;
    EXPECT_EQ(f.bytes().size(), large);
    sums.push_back(checksum(f.bytes()));
  }
  for (std::uint64_t s : sums) EXPECT_EQ(s, sum) << "the 256 MiB message arrives intact";
  ASSERT_FALSE(loaded.empty());
  const auto base = p99(idle);
  const auto busy = p99(loaded);
  std::printf("small ask p99: %.1f us idle, %.1f us with a 256 MiB message in flight (%zu asks), ratio %.2f; "
              "the large messages moved at %.2f GB/s\n",
              base.count() / 1e3, busy.count() / 1e3, loaded.size(), double(busy.count()) / double(base.count()),
              double(messages) * large / double(on_link.count()));
  EXPECT_GE(loaded.size(), 300u) << "enough asks ran while a large message was in flight";
  // The guarantee: an ask waits for the fragments ahead of it, never for the
  // whole message (a tenth of the time one took on the link). The ratio to
  // the idle p99 (target 10x) is a figure of bench/RESULTS.md: on a shared
  // two-core machine the idle p99 alone swings between ~15 and ~380 us.
  const auto whole = on_link / messages;
  EXPECT_LT(busy.count(), whole.count() / 10)
      << "p99 " << busy.count() / 1000 << " us; one message took " << whole.count() / 1000 << " us on the link";
}

TEST(LargeMessageLatency, SmallAsksKeepTheirP99WithinTenTimesWhileA256MiBMessageIsInFlight) {
  asks_beside_large_messages(std::chrono::seconds(0), 6);
}

// 10 minutes of 256 MiB messages with asks beside them: ctest -L soak.
TEST(LargeMessageSoak, TenMinutes) {
  HERALD_SOAK_ONLY();
  asks_beside_large_messages(std::chrono::seconds(600), 6);
}

}  // namespace
}  // namespace herald::runtime::test
