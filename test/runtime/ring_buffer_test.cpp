#include "herald/runtime/ring_buffer.hpp"

#include <gtest/gtest.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>

#include <atomic>
#include <cstring>
#include <random>
#include <thread>
#include <vector>

#include "support/test_support.hpp"

namespace herald::runtime {
namespace {

using namespace std::chrono_literals;

ring_buffer::reservation claim_now(ring_buffer& ring, std::size_t size) {
  ring_buffer::reservation r;
  EXPECT_EQ(ring.try_claim(size, r), ring_buffer::claim_status::claimed) << "claim of " << size << " bytes";
  return r;
}

std::vector<ring_buffer::record> walk(ring_buffer& ring) {
  std::vector<ring_buffer::record> out;
  ring.for_each_committed([&](const ring_buffer::record& r) {
    out.push_back(r);
    return true;
  });
  return out;
}

TEST(RingBuffer, RejectsACapacityThatIsNotAPowerOfTwo) {
  EXPECT_THROW(ring_buffer(1000), std::invalid_argument);
  EXPECT_THROW(ring_buffer(64), std::invalid_argument) << "smaller than four minimal records";
}

TEST(RingBuffer, HandsCommittedRecordsToTheConsumerInClaimOrder) {
  ring_buffer ring(1024);
  auto a = claim_now(ring, 32);
  auto b = claim_now(ring, 64);
  std::memset(a.data, 0xAA, a.size);
  std::memset(b.data, 0xBB, b.size);
  ring.commit(b, 2);
  EXPECT_TRUE(walk(ring).empty()) << "b is committed but a, claimed first, is not: nothing may be seen";
  EXPECT_FALSE(ring.has_committed());
  ring.commit(a, 1);
  auto records = walk(ring);
  ASSERT_EQ(records.size(), 2u);
  EXPECT_EQ(records[0].size, 32u);
  EXPECT_EQ(records[0].tag, 1);
  EXPECT_EQ(records[0].data[0], std::byte{0xAA});
  EXPECT_EQ(records[1].size, 64u);
  EXPECT_EQ(records[1].tag, 2);
  EXPECT_EQ(records[1].data[63], std::byte{0xBB});
  EXPECT_TRUE(walk(ring).empty()) << "a walked record is not handed out twice";
}

TEST(RingBuffer, WrapsAroundWithoutTearingAFrame) {
  ring_buffer ring(256);
  // Fill 96 of the first 128 bytes, release them, then claim 128: the tail
  // (160 bytes free but only 160 to the end) fits; the next 128 must wrap.
  auto a = claim_now(ring, 96);
  ring.commit(a);
  ASSERT_EQ(walk(ring).size(), 1u);
  ring.release_to(ring.scan_position());
  auto b = claim_now(ring, 128);  // [96, 224)
  ring.commit(b);
  ASSERT_EQ(walk(ring).size(), 1u);
  ring.release_to(ring.scan_position());
  auto c = claim_now(ring, 128);  // 32 bytes left at the end: padded, lands at offset 0
  std::memset(c.data, 0xCC, c.size);
  ring.commit(c, 3);
  auto records = walk(ring);
  ASSERT_EQ(records.size(), 1u) << "the skip padding is not a record";
  EXPECT_EQ(records[0].size, 128u);
  EXPECT_EQ(records[0].data, b.data - 96) << "the wrapped record starts at the ring's first byte, whole";
  EXPECT_EQ(records[0].data[127], std::byte{0xCC});
  ring.release_to(ring.scan_position());
  EXPECT_EQ(ring.used(), 0u);
}

TEST(RingBuffer, ReportsFullInsteadOfOverwritingUnreleasedBytes) {
  ring_buffer ring(256);
  auto a = claim_now(ring, 128);
  auto b = claim_now(ring, 128);
  ring_buffer::reservation c;
  EXPECT_EQ(ring.try_claim(32, c), ring_buffer::claim_status::full);
  ring.commit(a);
  ring.commit(b);
  EXPECT_EQ(walk(ring).size(), 2u);
  EXPECT_EQ(ring.try_claim(32, c), ring_buffer::claim_status::full) << "walked but not released bytes are still taken";
  ring.release_to(ring.scan_position());
  EXPECT_EQ(ring.try_claim(32, c), ring_buffer::claim_status::claimed);
}

TEST(RingBuffer, ARecordCommittedAsSkipIsSteppedOver) {
  ring_buffer ring(1024);
  auto a = claim_now(ring, 64);
  auto b = claim_now(ring, 32);
  auto c = claim_now(ring, 96);
  ring.commit(c, 3);
  ring.commit(a, 1);
  EXPECT_EQ(walk(ring).size(), 1u) << "b, claimed before c, holds c back until it is published";
  ring.commit_as_skip(b);
  auto records = walk(ring);
  ASSERT_EQ(records.size(), 1u) << "the given-up record is not handed out";
  EXPECT_EQ(records[0].size, 96u);
  EXPECT_EQ(records[0].tag, 3);
  ring.release_to(ring.scan_position());
  EXPECT_EQ(ring.used(), 0u) << "its space is released with the rest";
}

TEST(RingBuffer, LimitsTheWalkToMaxBytesButAlwaysTakesOneRecord) {
  ring_buffer ring(1024);
  for (int i = 0; i < 4; ++i) ring.commit(claim_now(ring, 128));
  std::size_t n = ring.for_each_committed([](const auto&) { return true; }, 64);
  EXPECT_EQ(n, 1u) << "the first record is taken even when larger than max_bytes";
  n = ring.for_each_committed([](const auto&) { return true; }, 300);
  EXPECT_EQ(n, 2u);
  n = ring.for_each_committed([](const auto&) { return true; }, SIZE_MAX, 1);
  EXPECT_EQ(n, 1u);
}

TEST(RingBuffer, ClaimTimesOutWhenTheConsumerNeverReleases) {
  ring_buffer ring(256);
  claim_now(ring, 128);
  claim_now(ring, 128);
  ring_buffer::reservation r;
  const auto start = ring_buffer::clock::now();
  EXPECT_EQ(ring.claim(32, start + 20ms, r), ring_buffer::claim_status::full);
  EXPECT_GE(ring_buffer::clock::now() - start, 20ms) << "the caller waited for its deadline";
}

TEST(RingBuffer, BlockedClaimProceedsWhenTheConsumerReleases) {
  ring_buffer ring(256);
  ring.commit(claim_now(ring, 128));
  ring.commit(claim_now(ring, 128));
  std::atomic<bool> claimed{false};
  std::thread producer([&] {
    ring_buffer::reservation r;
    auto s = ring.claim(64, ring_buffer::clock::now() + 60s, r);
    EXPECT_EQ(s, ring_buffer::claim_status::claimed);
    claimed = true;
  });
  EXPECT_EQ(walk(ring).size(), 2u);
  ring.release_to(ring.scan_position());
  producer.join();
  EXPECT_TRUE(claimed.load()) << "release_to wakes a producer waiting for space";
}

TEST(RingBuffer, CloseFailsBlockedAndFutureClaims) {
  ring_buffer ring(256);
  claim_now(ring, 128);
  claim_now(ring, 128);
  std::thread producer([&] {
    ring_buffer::reservation r;
    EXPECT_EQ(ring.claim(64, ring_buffer::clock::now() + 60s, r), ring_buffer::claim_status::closed);
  });
  ring.close();
  producer.join();
  ring_buffer::reservation r;
  EXPECT_EQ(ring.try_claim(32, r), ring_buffer::claim_status::closed);
}

// Every record carries its producer, sequence number and size in its first
// 16 bytes and a byte pattern derived from them in the rest, so a torn or
// misplaced record is detected.
void fill(std::byte* p, std::uint32_t size, std::uint32_t producer, std::uint32_t seq) {
  std::memcpy(p, &producer, 4);
  std::memcpy(p + 4, &seq, 4);
  std::memcpy(p + 8, &size, 4);
  for (std::uint32_t i = 16; i < size; ++i) p[i] = static_cast<std::byte>((producer * 31 + seq + i) & 0xFF);
}

struct stress_params {
  std::size_t capacity;
  std::uint32_t producers;
  std::uint32_t per_producer;
  std::uint32_t max_size;
  bool slow_consumer;
};

void run_stress(const stress_params& p) {
  ring_buffer ring(p.capacity);
  std::vector<std::thread> producers;
  for (std::uint32_t id = 0; id < p.producers; ++id) {
    producers.emplace_back([&ring, &p, id] {
      std::mt19937 rng(id * 7919 + 1);
      std::uniform_int_distribution<std::uint32_t> units(4, p.max_size / 8);
      for (std::uint32_t seq = 0; seq < p.per_producer; ++seq) {
        const std::uint32_t size = units(rng) * 8;
        ring_buffer::reservation r;
        auto s = ring.claim(size, ring_buffer::clock::now() + std::chrono::seconds(60), r);
        ASSERT_EQ(s, ring_buffer::claim_status::claimed) << "producer " << id << " seq " << seq;
        fill(r.data, size, id, seq);
        ring.commit(r, static_cast<std::uint8_t>(seq & 3));
      }
    });
  }
  std::vector<std::uint32_t> next(p.producers, 0);
  const std::uint64_t total = std::uint64_t{p.producers} * p.per_producer;
  std::uint64_t seen = 0;
  std::uint64_t errors = 0;
  std::mt19937 rng(42);
  while (seen < total && errors == 0) {
    std::size_t n = ring.for_each_committed(
        [&](const ring_buffer::record& r) {
          std::uint32_t producer, seq, size;
          std::memcpy(&producer, r.data, 4);
          std::memcpy(&seq, r.data + 4, 4);
          std::memcpy(&size, r.data + 8, 4);
          if (producer >= p.producers || size != r.size || seq != next[producer] || r.tag != (seq & 3)) {
            ADD_FAILURE() << "record out of order or torn: producer " << producer << " seq " << seq << " expected "
                          << (producer < p.producers ? next[producer] : 0) << ", size " << size << " vs " << r.size;
            ++errors;
            return false;
          }
          for (std::uint32_t i = 16; i < size; ++i) {
            if (r.data[i] != static_cast<std::byte>((producer * 31 + seq + i) & 0xFF)) {
              ADD_FAILURE() << "torn record: producer " << producer << " seq " << seq << " byte " << i;
              ++errors;
              return false;
            }
          }
          ++next[producer];
          ++seen;
          return true;
        },
        p.capacity / 4);
    if (n == 0) {
      std::this_thread::yield();
      continue;
    }
    // A slow consumer holds the walked bytes a while (a write in flight).
    if (p.slow_consumer && rng() % 4 == 0) std::this_thread::sleep_for(std::chrono::microseconds(rng() % 200));
    ring.release_to(ring.scan_position());
  }
  if (errors != 0) ring.close();
  for (auto& t : producers) t.join();
  EXPECT_EQ(seen, total) << "every committed record reaches the consumer exactly once";
  EXPECT_EQ(ring.used(), 0u);
}

TEST(RingBuffer, ManyProducersRandomSizesKeepPerProducerOrderWithoutTearing) {
  run_stress({64 * 1024, 4, static_cast<std::uint32_t>(test::scaled(50000)), 2048, false});
}

TEST(RingBuffer, SmallRingWrapsConstantlyUnderContention) {
  run_stress({1024, 4, static_cast<std::uint32_t>(test::scaled(20000)), 256, false});
}

TEST(RingBuffer, SlowConsumerBlocksProducersWithoutLosingRecords) {
  run_stress({4096, 3, static_cast<std::uint32_t>(test::scaled(10000)), 1024, true});
}

// The CPUs this process may run on, in order.
std::vector<int> allowed_cpus() {
  cpu_set_t set;
  CPU_ZERO(&set);
  std::vector<int> out;
  if (::sched_getaffinity(0, sizeof set, &set) != 0) return out;
  for (int i = 0; i < CPU_SETSIZE; ++i)
    if (CPU_ISSET(i, &set)) out.push_back(i);
  return out;
}

// Pins the calling thread to one CPU (best effort: a test still runs where
// pinning is refused, only with fewer preemptions to hunt with).
void pin_to(int cpu) {
  cpu_set_t set;
  CPU_ZERO(&set);
  CPU_SET(cpu, &set);
  (void)::pthread_setaffinity_np(::pthread_self(), sizeof set, &set);
}

// A signal that makes the thread it lands on yield its core: a preemption at
// an arbitrary instruction, far more often than the scheduler's tick.
void yield_now(int) { ::sched_yield(); }

// Eight producers share one core, so that each is preempted often and at any
// instruction (between the loads of a claim or of used() too), while a
// consumer on another core releases every committed record at once. A third
// thread sends the producers SIGUSR1, whose handler yields, every few
// microseconds. body(ring) runs in each producer until the test, lasting
// `duration`, ends.
template <class Body>
void contend_on_one_core(ring_buffer& ring, std::chrono::milliseconds duration, Body body) {
  const auto cpus = allowed_cpus();
  const int producer_cpu = cpus.empty() ? -1 : cpus.front();
  const int consumer_cpu = cpus.size() > 1 ? cpus[1] : -1;
  struct sigaction yield_action {}, previous {};
  yield_action.sa_handler = yield_now;
  yield_action.sa_flags = SA_RESTART;
  sigemptyset(&yield_action.sa_mask);
  ASSERT_EQ(::sigaction(SIGUSR1, &yield_action, &previous), 0);
  std::atomic<bool> stop{false}, stop_signals{false};
  std::thread consumer([&] {
    if (consumer_cpu >= 0) pin_to(consumer_cpu);
    while (!stop.load(std::memory_order_relaxed)) {
      if (ring.for_each_committed([](const ring_buffer::record&) { return true; }) == 0) continue;
      ring.release_to(ring.scan_position());
    }
  });
  std::vector<std::thread> producers;
  for (int i = 0; i < 8; ++i) {
    producers.emplace_back([&] {
      if (producer_cpu >= 0) pin_to(producer_cpu);
      while (!stop.load(std::memory_order_relaxed)) body(ring);
    });
  }
  std::thread preempter([&] {
    if (consumer_cpu >= 0) pin_to(consumer_cpu);
    std::mt19937 rng(1);
    while (!stop_signals.load(std::memory_order_relaxed)) {
      ::pthread_kill(producers[rng() % producers.size()].native_handle(), SIGUSR1);
      std::this_thread::sleep_for(std::chrono::microseconds(5));
    }
  });
  std::this_thread::sleep_for(duration);
  stop_signals = true;
  preempter.join();  // before the producers end: never signal a finished thread
  stop = true;
  for (auto& t : producers) t.join();
  consumer.join();
  ::sigaction(SIGUSR1, &previous, nullptr);
}

TEST(RingBuffer, NoSpuriousFullUnderContention) {
  ring_buffer ring(1u << 20);
  std::atomic<std::uint64_t> claims{0}, spurious{0};
  std::atomic<std::size_t> used_at_full{0};
  contend_on_one_core(ring, test::sanitized() ? 1500ms : 2000ms, [&](ring_buffer& r) {
    // Producers keep the ring below an eighth full, so it is never full for
    // real: each overshoots the check by at most one 32-byte record.
    if (r.used() >= r.capacity() / 8) return std::this_thread::yield();
    ring_buffer::reservation res;
    switch (r.try_claim(32, res)) {
      case ring_buffer::claim_status::claimed:
        r.commit(res);
        claims.fetch_add(1, std::memory_order_relaxed);
        break;
      case ring_buffer::claim_status::full:
        used_at_full.store(r.used(), std::memory_order_relaxed);
        spurious.fetch_add(1, std::memory_order_relaxed);
        break;
      case ring_buffer::claim_status::closed: ADD_FAILURE() << "nobody closed the ring"; break;
    }
  });
  EXPECT_EQ(spurious.load(), 0u) << "try_claim reported full " << spurious.load() << " times in " << claims.load()
                                 << " claims while used() stayed below a quarter of the capacity (last seen "
                                 << used_at_full.load() << " of " << ring.capacity() << " bytes)";
  EXPECT_GT(claims.load(), 0u);
}

TEST(RingBuffer, UsedNeverExceedsCapacity) {
  ring_buffer ring(1u << 20);
  std::atomic<std::uint64_t> over{0}, samples{0};
  std::atomic<std::size_t> worst{0};
  contend_on_one_core(ring, test::sanitized() ? 1500ms : 2000ms, [&](ring_buffer& r) {
    // Sampled while the ring is nearly empty: where a stale reserve position
    // read before the release position would make the difference negative.
    const std::size_t u = r.used();
    samples.fetch_add(1, std::memory_order_relaxed);
    if (u > r.capacity()) {
      over.fetch_add(1, std::memory_order_relaxed);
      worst.store(u, std::memory_order_relaxed);
      return;
    }
    if (u >= r.capacity() / 8) return std::this_thread::yield();
    ring_buffer::reservation res;
    if (r.try_claim(32, res) == ring_buffer::claim_status::claimed) r.commit(res);
  });
  EXPECT_EQ(over.load(), 0u) << "used() exceeded the capacity in " << over.load() << " of " << samples.load()
                             << " samples (e.g. " << worst.load() << "): the two positions were read out of order";
}

TEST(RingBufferSoak, ManyProducersForALongTime) {
  HERALD_SOAK_ONLY();
  run_stress({64 * 1024, 8, 300'000, 4096, false});
}

}  // namespace
TEST(RingBuffer, ARecordTheAdmitCheckRefusesStaysForTheNextWalk) {
  ring_buffer ring(1024);
  for (std::uint8_t tag = 0; tag < 3; ++tag) {
    ring_buffer::reservation r;
    ASSERT_EQ(ring.try_claim(64, r), ring_buffer::claim_status::claimed);
    r.data[0] = std::byte{tag};
    ring.commit(r, tag);
  }
  std::vector<int> seen;
  auto take = [&](const ring_buffer::record& rec) {
    seen.push_back(static_cast<int>(rec.data[0]));
    return true;
  };
  EXPECT_EQ(ring.for_each_admitted([](const ring_buffer::record& rec) { return rec.tag < 1; }, take), 1u);
  EXPECT_TRUE(ring.has_committed()) << "the refused record is still there";
  EXPECT_EQ(ring.for_each_admitted([](const ring_buffer::record&) { return true; }, take), 2u);
  EXPECT_EQ(seen, (std::vector<int>{0, 1, 2})) << "in order, none lost or repeated";
  ring.release_to(ring.scan_position());
  EXPECT_TRUE(ring.drained());
}

}  // namespace herald::runtime
