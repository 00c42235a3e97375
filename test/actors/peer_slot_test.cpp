#include "herald/actors/detail/remote_target.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <memory>
#include <thread>
#include <vector>

#include "support/test_support.hpp"

namespace herald::detail {
namespace {

// A connection that is open until closed and sends nothing: enough to see
// which one a peer slot hands out.
class fake_connection final : public runtime::connection {
 public:
  fake_connection()
      : connection(settings{4096, 4096, 1024, 1u << 20, 16, runtime::backpressure_policy::fail, std::chrono::milliseconds(0),
                            1u << 22, 1024, 64u << 10, 64u << 20, (64u << 20) + 4096, 1u << 20},
                   std::make_shared<runtime::buffer_pool>(0)) {}
  void close(herald::error) override { data_ring_->close(); }

 private:
  void wake_writer() override {}
  void arm_sweep() override {}
  void request_grant() noexcept override {}
};

TEST(PeerSlot, ASenderSwitchesToANewlyPublishedLinkWhileTheOldOneIsStillOpen) {
  peer_slot slot(7);
  auto first = std::make_shared<fake_connection>();
  auto second = std::make_shared<fake_connection>();
  EXPECT_EQ(slot.live_cached(), nullptr) << "no connection yet";
  slot.publish(first);
  EXPECT_EQ(slot.live_cached(), first.get());
  slot.publish(second);
  ASSERT_TRUE(first->is_open());
  EXPECT_EQ(slot.live_cached(), second.get()) << "the cache follows the slot's version, not only is_open()";
  auto cur = std::shared_ptr<runtime::connection>(second);
  ASSERT_TRUE(slot.retire(cur));
  EXPECT_EQ(slot.live_cached(), nullptr) << "a retired link is not handed out";
}

TEST(PeerSlot, AClosedCachedLinkIsNotHandedOut) {
  peer_slot slot(7);
  auto c = std::make_shared<fake_connection>();
  slot.publish(c);
  ASSERT_EQ(slot.live_cached(), c.get());
  c->close(herald::error(errc::node_down));
  EXPECT_EQ(slot.live_cached(), nullptr);
}

TEST(PeerSlot, ANewSlotAtTheAddressOfAFreedOneDoesNotInheritItsCachedLink) {
  auto c = std::make_shared<fake_connection>();
  auto other = std::make_shared<fake_connection>();
  alignas(peer_slot) unsigned char storage[sizeof(peer_slot)];
  auto* a = ::new (storage) peer_slot(1);
  a->publish(c);
  ASSERT_EQ(a->live_cached(), c.get());
  a->~peer_slot();
  auto* b = ::new (storage) peer_slot(2);
  EXPECT_EQ(b->live_cached(), nullptr) << "same address, new version: the old entry does not match";
  b->publish(other);
  EXPECT_EQ(b->live_cached(), other.get());
  b->~peer_slot();
}

TEST(PeerSlot, SendersRacingLinkReplacementsOnlyEverSeeAPublishedOpenLink) {
  peer_slot slot(7);
  const std::size_t rounds = test::scaled(20000);
  std::vector<std::shared_ptr<fake_connection>> links;
  for (int i = 0; i < 8; ++i) links.push_back(std::make_shared<fake_connection>());
  slot.publish(links[0]);
  std::atomic<bool> stop{false};
  std::atomic<std::uint64_t> bad{0};
  std::atomic<std::uint64_t> stale{0};
  runtime::connection* last = links[(rounds - 1) % links.size()].get();
  std::vector<std::thread> senders;
  for (int t = 0; t < 3; ++t) {
    senders.emplace_back([&] {
      while (!stop.load(std::memory_order_acquire)) {
        runtime::connection* c = slot.live_cached();
        bool known = c == nullptr;
        for (auto& l : links) known = known || c == l.get();
        if (!known) bad.fetch_add(1);
      }
      // stop was set after the last publish: this thread's cache follows.
      if (slot.live_cached() != last) stale.fetch_add(1);
    });
  }
  for (std::size_t i = 0; i < rounds; ++i) slot.publish(links[i % links.size()]);
  // After the last publish, every sender converges on the last link.
  stop.store(true, std::memory_order_release);
  for (auto& t : senders) t.join();
  EXPECT_EQ(bad.load(), 0u) << "a sender only ever gets a link the slot published";
  EXPECT_EQ(stale.load(), 0u) << "after the last publish every sender's cache holds the last link";
}

}  // namespace
}  // namespace herald::detail
