// Flow control of one link (wire/PROTOCOL.md §6.2): the receiver's window
// bounds what it holds, a sender without window keeps frames in its ring,
// control frames pass a shut window, and a peer that oversteps is closed.
#include "herald/runtime/connection.hpp"

#include <gtest/gtest.h>

#include <flatbuffers/flatbuffers.h>

#include <atomic>
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

// A sink that keeps the window of every tell and ask until the test
// consumes the frame, as the actors layer does until a handler has run.
class holding_sink final : public recording_sink {
 public:
  holding_sink() {
    on_frame_hook = [this](const std::shared_ptr<connection>& from, inbound_frame f) {
      std::lock_guard lock(m_);
      held_.emplace_back(from, std::move(f));
      ++received_;
    };
  }
  bool holds_credit() const noexcept override { return true; }

  // Consumes up to n held frames (oldest first), returning their sequence
  // numbers (the first 8 payload bytes).
  std::vector<std::uint64_t> consume(std::size_t n = SIZE_MAX) {
    std::vector<std::uint64_t> seqs;
    std::lock_guard lock(m_);
    while (n-- != 0 && !held_.empty()) {
      auto& [from, f] = held_.front();
      if (f.bytes().size() >= 8) seqs.push_back(read_pod<std::uint64_t>(f.bytes()));
      from->consumed(f.header);
      held_.pop_front();
    }
    return seqs;
  }
  std::size_t held() {
    std::lock_guard lock(m_);
    return held_.size();
  }
  std::size_t received() {
    std::lock_guard lock(m_);
    return received_;
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
  std::size_t received_ = 0;
};

// a's sink records, b's holds the window; b grants a 64 KiB window.
using held_pair = basic_node_pair<recording_sink, holding_sink>;

constexpr std::size_t window = 64u << 10;

std::unique_ptr<held_pair> start_held_pair(transport_kind k) {
  auto p = up_pair<recording_sink, holding_sink>(
      k,
      [](node_config& c) {
        c.ring_capacity = 256u << 10;
        c.backpressure = backpressure_policy::fail;
        c.drain_timeout = 500ms;  // teardown leaves frames held
      },
      [](node_config& c) {
        c.max_frame_size = 16u << 10;
        c.flow_window_bytes = window;
        c.drain_timeout = 500ms;
      });
  EXPECT_TRUE(p->sink_a.wait([&] { return p->a_to_b && p->a_to_b->stats().credits_received != 0; }))
      << "b grants a window once the link is up";
  return p;
}

result<void> send_seq(connection& c, std::uint64_t seq) {
  return c.send(tell_header(), 64, [&](std::span<std::byte> out) {
    std::memset(out.data(), 0, out.size());
    std::memcpy(out.data(), &seq, sizeof seq);
  });
}

class FlowControl : public ::testing::TestWithParam<transport_kind> {};

TEST_P(FlowControl, AReceiverHoldsNoMoreThanItsWindowAndTheSenderMeetsBackpressure) {
  auto p = start_held_pair(GetParam());
  ASSERT_TRUE(p->a_to_b);
  std::uint64_t accepted = 0;
  bool refused = false;
  for (int i = 0; i < 100000 && !refused; ++i) {
    auto r = send_seq(*p->a_to_b, accepted);
    if (r) {
      ++accepted;
    } else {
      EXPECT_EQ(r.error().code(), errc::backpressure) << r.error().message();
      refused = true;
    }
  }
  ASSERT_TRUE(refused) << "a sender whose peer grants no more window meets its ring's backpressure";
  const std::size_t frame = wire::frame_size(64);
  const std::size_t admitted = window / frame;
  ASSERT_TRUE(p->sink_b.wait([&] { return p->sink_b.received() == admitted; }))
      << "b receives exactly what its window admits: " << p->sink_b.received() << " of " << admitted;
  std::this_thread::sleep_for(50ms);  // nothing more may come: measuring absence needs time
  EXPECT_EQ(p->sink_b.received(), admitted) << "no frame beyond the window";
  EXPECT_GT(p->a_to_b->stats().credit_stalls, 0u);
  EXPECT_GT(p->a_to_b->stats().ring_used, 0u) << "the held frames wait in a's ring";

  // b drains its "mailboxes": every accepted tell arrives once, in order.
  std::vector<std::uint64_t> got;
  const auto deadline = std::chrono::steady_clock::now() + 20s;
  while (got.size() < accepted && std::chrono::steady_clock::now() < deadline) {
    auto part = p->sink_b.consume();
    got.insert(got.end(), part.begin(), part.end());
    if (part.empty()) std::this_thread::sleep_for(1ms);
  }
  ASSERT_EQ(got.size(), accepted) << "every tell the sender was told succeeded arrives";
  for (std::uint64_t i = 0; i < accepted; ++i) ASSERT_EQ(got[i], i) << "in order";
  EXPECT_GE(p->a_to_b->stats().credits_received, 2u);
  // With the window back, the sender is not refused any more.
  EXPECT_TRUE(send_seq(*p->a_to_b, accepted));
}

// The receiver releases one frame at a time, slowly enough that each grant
// is taken the moment it is due. Grants used to be due at fixed multiples
// of half a window; a grant taken just past one put the next multiple beyond
// what the sender could ever send, and the link stalled for good (payloads
// of 56 and 200 bytes with this 64 KiB window stalled after about 1.7 and
// 2.5 windows). Four windows must flow.
TEST_P(FlowControl, ReleasingFramesOneByOneNeverStallsTheLink) {
  for (const std::size_t payload : {std::size_t{56}, std::size_t{200}}) {
    auto p = start_held_pair(GetParam());
    ASSERT_TRUE(p->a_to_b);
    const std::size_t target = 4 * window / wire::frame_size(payload);
    std::atomic<bool> stop{false};
    std::thread sender([&] {
      for (std::uint64_t seq = 0; seq < target && !stop.load();) {
        auto r = p->a_to_b->send(tell_header(), payload, [&](std::span<std::byte> out) {
          std::memset(out.data(), 0, out.size());
          std::memcpy(out.data(), &seq, sizeof seq);
        });
        if (r) {
          ++seq;
        } else {
          std::this_thread::sleep_for(100us);  // backpressure: the window is spent
        }
      }
    });
    std::size_t consumed = 0;
    auto last_progress = std::chrono::steady_clock::now();
    while (consumed < target && std::chrono::steady_clock::now() - last_progress < 3s) {
      if (!p->sink_b.consume(1).empty()) {
        ++consumed;
        last_progress = std::chrono::steady_clock::now();
        std::this_thread::sleep_for(200us);  // the io thread takes its grant now
      } else {
        std::this_thread::sleep_for(50us);
      }
    }
    stop = true;
    sender.join();
    EXPECT_EQ(consumed, target) << "payload " << payload << ": the link stalled after " << consumed << " frames ("
                                << p->a_to_b->stats().credits_received << " grants received)";
  }
}

TEST_P(FlowControl, ControlFramesPassAShutWindow) {
  auto p = start_held_pair(GetParam());
  ASSERT_TRUE(p->a_to_b);
  std::uint64_t seq = 0;
  while (send_seq(*p->a_to_b, seq)) ++seq;  // window and ring full
  flatbuffers::FlatBufferBuilder b;
  wire::build_heartbeat(b, wire::heartbeat{7, 0, false});
  wire::frame_header h;
  h.kind = wire::frame_kind::heartbeat;
  h.flags = wire::frame_flags::control_lane | wire::frame_flags::flatbuffer;
  ASSERT_TRUE(p->a_to_b->send_bytes(
      h, std::span<const std::byte>(reinterpret_cast<const std::byte*>(b.GetBufferPointer()), b.GetSize())));
  EXPECT_TRUE(p->sink_b.wait([&] { return !p->sink_b.controls.empty(); }))
      << "a heartbeat is not held behind data frames without window";
  EXPECT_LT(p->sink_b.received(), seq) << "while data frames are still held";
}

TEST_P(FlowControl, ADeliberateCloseDrainsFramesHeldForWindow) {
  auto p = start_held_pair(GetParam());
  ASSERT_TRUE(p->a_to_b);
  std::uint64_t accepted = 0;
  while (send_seq(*p->a_to_b, accepted)) ++accepted;
  // b consumes on its own while a closes the link: the drain waits for
  // window, which keeps coming, and loses nothing.
  std::atomic<bool> stop{false};
  std::vector<std::uint64_t> got;
  std::thread consumer([&] {
    while (!stop.load()) {
      auto part = p->sink_b.consume();
      got.insert(got.end(), part.begin(), part.end());
      std::this_thread::sleep_for(1ms);
    }
  });
  p->a_to_b->close(herald::error(errc::node_down, "test closes"));
  EXPECT_TRUE(p->sink_b.wait([&] { return p->sink_b.received() == accepted; }, 20s));
  stop = true;
  consumer.join();
  EXPECT_EQ(p->a->frames_dropped_unsent(), 0u) << "a deliberate close drains";
  EXPECT_EQ(p->sink_b.received(), accepted);
}

// A sink that keeps each tell's header and a plain pointer to its
// connection, as the actors layer does, and gives the window back when the
// test says.
class pointer_sink final : public recording_sink {
 public:
  pointer_sink() {
    on_frame_hook = [this](const std::shared_ptr<connection>& from, inbound_frame f) {
      std::lock_guard lock(m_);
      held_.emplace_back(from.get(), f.header);
    };
  }
  bool holds_credit() const noexcept override { return true; }
  std::size_t held() {
    std::lock_guard lock(m_);
    return held_.size();
  }
  // Gives back the oldest held frame's window; false when none is held.
  bool consume_one() {
    std::pair<connection*, wire::frame_header> f;
    {
      std::lock_guard lock(m_);
      if (held_.empty()) return false;
      f = held_.front();
      held_.pop_front();
    }
    f.first->consumed(f.second);
    return true;
  }

 private:
  std::mutex m_;
  std::deque<std::pair<connection*, wire::frame_header>> held_;
};

TEST_P(FlowControl, AClosedConnectionLivesUntilTheLastFrameItHandedUpIsConsumedThoughNothingReferencesIt) {
  auto p = up_pair<recording_sink, pointer_sink>(GetParam());
  ASSERT_TRUE(p->a_to_b);
  constexpr std::size_t n = 10;
  for (std::uint64_t s = 0; s < n; ++s) ASSERT_TRUE(send_seq(*p->a_to_b, s));
  ASSERT_TRUE(p->sink_b.wait([&] { return p->sink_b.held() == n; }));
  const std::weak_ptr<connection> link = p->b_to_a;
  p->b_to_a->close(herald::error(errc::node_down, "closed by the test"));
  ASSERT_TRUE(p->sink_b.wait([&] { return !p->sink_b.downs.empty(); })) << "b's side of the link closes";
  // Every reference the test and the sinks had goes.
  p->a_to_b.reset();
  p->b_to_a.reset();
  p->sink_a.locked([&] { p->sink_a.ups.clear(); return 0; });
  p->sink_b.locked([&] { p->sink_b.ups.clear(); return 0; });
  std::this_thread::sleep_for(20ms);  // handlers posted by the close run
  EXPECT_FALSE(link.expired()) << "the closed connection lives while frames it handed up are held";
  for (std::size_t i = 0; i + 1 < n; ++i) ASSERT_TRUE(p->sink_b.consume_one());
  std::this_thread::sleep_for(20ms);
  EXPECT_FALSE(link.expired()) << "one frame is still held";
  ASSERT_TRUE(p->sink_b.consume_one());
  EXPECT_TRUE(p->sink_b.wait([&] { return link.expired(); }, 5s)) << "the last consumed() lets it go";
}

INSTANTIATE_TEST_SUITE_P(Transports, FlowControl,
                         ::testing::Values(transport_kind::inproc, transport_kind::tcp, transport_kind::unix_socket),
                         [](const auto& info) { return to_string(info.param); });

// A raw peer that reads the node's first grant.
using raw_link = raw_dialled_node<holding_sink>;

std::unique_ptr<raw_link> raw_link_to_node(std::function<void(node_config&)> tweak = {}) {
  return raw_dial_node<holding_sink>([&](node_config& c) {
    c.max_frame_size = 16u << 10;
    c.flow_window_bytes = window;
    c.flow_window_asks = 8;
    if (tweak) tweak(c);
  });
}

std::vector<std::byte> data_frame(wire::frame_kind kind, std::uint64_t request_id, std::size_t payload) {
  wire::frame_header h;
  h.kind = kind;
  h.target = 9;
  h.type_id = 1;
  h.request_id = request_id;
  h.payload_length = static_cast<std::uint32_t>(payload);
  std::vector<std::byte> out(wire::frame_size(payload), std::byte{0});
  wire::encode_header(h, out.data());
  return out;
}

TEST(FlowControlPeer, APeerThatSendsBeyondItsByteWindowIsClosedAndCounted) {
  auto l = raw_link_to_node();
  ASSERT_TRUE(l->peer);
  EXPECT_EQ(l->grant.max_bytes, window);
  EXPECT_EQ(l->grant.max_asks, 8u);
  const std::size_t frame = wire::frame_size(1000);
  const std::size_t fits = window / frame;
  for (std::size_t i = 0; i < fits; ++i) ASSERT_TRUE(l->peer->send(data_frame(wire::frame_kind::tell, 0, 1000)));
  ASSERT_TRUE(l->sink.wait([&] { return l->sink.received() == fits; })) << "within the window, all is delivered";
  (void)l->peer->send(data_frame(wire::frame_kind::tell, 0, 1000));  // one too many
  EXPECT_TRUE(l->peer->closed_by_peer(5s)) << "a peer beyond its window loses its link";
  EXPECT_TRUE(l->log.wait_for("beyond its flow-control window")) << l->log.all();
  EXPECT_EQ(l->sink.received(), fits) << "the frame beyond the window is not delivered";
  EXPECT_GE(l->n->admission().frame_errors, 1u) << "counted";
}

TEST(FlowControlPeer, AsksWhoseRepliesAreNotWrittenStopThePeersNewAsks) {
  // The sink answers nothing: every ask keeps its slot of the window.
  auto l = raw_link_to_node();
  ASSERT_TRUE(l->peer);
  for (std::uint64_t i = 1; i <= l->grant.max_asks; ++i)
    ASSERT_TRUE(l->peer->send(data_frame(wire::frame_kind::ask, i, 8)));
  ASSERT_TRUE(l->sink.wait([&] { return l->sink.received() == l->grant.max_asks; }));
  l->sink.consume();  // handled, bytes back, but no reply written: the asks stay taken
  (void)l->peer->send(data_frame(wire::frame_kind::ask, 100, 8));
  EXPECT_TRUE(l->peer->closed_by_peer(5s)) << "an ask beyond the ask window is a violation";
  EXPECT_EQ(l->sink.received(), l->grant.max_asks);
}

TEST(FlowControlPeer, RepliesWrittenGiveAsksBack) {
  auto l = raw_link_to_node();
  ASSERT_TRUE(l->peer);
  // This sink answers every ask at once (and gives its bytes back).
  l->sink.on_frame_hook = [](const std::shared_ptr<connection>& from, inbound_frame f) {
    wire::frame_header h;
    h.kind = wire::frame_kind::reply;
    h.request_id = f.header.request_id;
    (void)from->send_bytes(h, {});
    from->consumed(f.header);
  };
  std::uint64_t rid = 1;
  std::uint64_t limit = l->grant.max_asks;
  for (int round = 0; round < 4; ++round) {
    while (rid <= limit) ASSERT_TRUE(l->peer->send(data_frame(wire::frame_kind::ask, rid++, 8)));
    // The replies come, then a credit that gives the asks back.
    std::uint64_t replies = 0;
    std::optional<wire::credit_grant> g;
    while (!g || g->max_asks <= limit) {
      auto f = l->peer->read_frame(5s);
      ASSERT_TRUE(f) << "round " << round;
      if (f->header.kind == wire::frame_kind::reply) ++replies;
      if (f->header.kind != wire::frame_kind::credit) continue;
      alignas(8) std::byte aligned[256];
      std::memcpy(aligned, f->payload.data(), f->payload.size());
      g = wire::decode_credit(std::span<const std::byte>(aligned, f->payload.size())).value();
    }
    EXPECT_GE(replies, l->grant.max_asks / 2);
    limit = g->max_asks;
  }
  EXPECT_GE(limit, l->grant.max_asks * 2) << "the ask window moved forward as replies were written";
  EXPECT_EQ(l->n->admission().frame_errors, 0u);
}

TEST(FlowControlConfig, AWindowSmallerThanTheLargestFrameIsRefused) {
  recording_sink sink;
  auto c = base_config("b", transport_kind::tcp, nullptr);
  c.flow_window_bytes = 1u << 20;
  c.max_frame_size = 4u << 20;
  auto n = node::start(c, sink);
  ASSERT_FALSE(n);
  EXPECT_EQ(n.error().code(), errc::invalid_argument);
}

}  // namespace
}  // namespace herald::runtime::test
