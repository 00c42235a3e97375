#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string_view>
#include <vector>

#include "herald/registry/registry_types.hpp"

namespace herald::registry::detail {

// The read path of the name registry: a version per stripe of name hashes,
// bumped by the writer around every change of a visible entry, and a cache
// of entries (and absences) shared by the reader threads, each stamped with
// the version of its stripe when it was read from the libcuckoo map.
// Safe for concurrent use: any number of readers, one writer at a time (the
// registry's write mutex). A hit reads atomics only (the stripe version and
// one slot, under the slot's sequence lock): no lock and no write, so the
// cache lines that readers share stay shared. A miss fills a slot.
//
// Invariants:
// 1. A stripe version is odd exactly while the writer changes an entry of
//    that stripe in the map (begin_write .. end_write).
// 2. A slot holds an even stamp s, and what the map held for its name at
//    some instant while the stripe version was s (the stamp is read before
//    the map and checked unchanged after it); so while the stripe version is
//    still s, the slot is what the map holds.
// 3. A slot's seq is odd exactly while one filler (who moved it from even
//    with a compare-exchange) writes the slot; a read whose seq was odd or
//    changed is discarded.
// 4. Tables only grow; every table ever current stays allocated until the
//    cache is destroyed, so a reader holding an old one reads valid memory
//    (together they are under twice the newest).
class lookup_cache {
 public:
  static constexpr std::size_t stripes = 16384;
  static constexpr std::size_t ways = 4;
  static constexpr std::size_t min_slots = 64;
  // Slots of the table (4-way sets, 128 bytes each: 4 MiB at the cap); it
  // grows with the registry to twice its names. A read set larger than half
  // of this falls back to the map for the overflow, and so do names longer
  // than inline_name bytes.
  static constexpr std::size_t max_slots = 32768;
  static constexpr std::size_t name_words = 6;
  static constexpr std::size_t inline_name = 8 * name_words;

  lookup_cache();
  ~lookup_cache();
  lookup_cache(const lookup_cache&) = delete;
  lookup_cache& operator=(const lookup_cache&) = delete;

  // The cached answer for name (hash h) if still current: 1 found (out is
  // set), 0 known absent, -1 not cached or stale.
  int find(std::size_t h, std::string_view name, name_entry& out) const noexcept;
  // The stripe version to pass to fill; read before reading the map.
  std::uint64_t stamp(std::size_t h) const noexcept {
    return versions_[h & (stripes - 1)].v.load(std::memory_order_seq_cst);
  }
  // Caches what the map answered for name if its stripe did not change since
  // stamp was read. visible (the registry's size) sizes the table.
  void fill(std::size_t h, std::string_view name, const name_entry* found, std::uint64_t stamp,
            std::size_t visible) const;

  // Writer only (under the registry's write mutex), around a change of name's entry.
  void begin_write(std::size_t h) noexcept { versions_[h & (stripes - 1)].v.fetch_add(1, std::memory_order_seq_cst); }
  void end_write(std::size_t h) noexcept { versions_[h & (stripes - 1)].v.fetch_add(1, std::memory_order_seq_cst); }

  // Hits and misses of the calling thread, every registry together.
  static std::uint64_t thread_hits() noexcept;
  static std::uint64_t thread_misses() noexcept;

 private:
  struct version {
    std::atomic<std::uint64_t> v{0};
  };
  struct alignas(128) slot {
    std::atomic<std::uint64_t> seq{0};
    std::atomic<std::uint64_t> hash{0};
    std::atomic<std::uint64_t> meta{0};  // name length << 8 | present
    std::atomic<std::uint64_t> stamp{0};
    std::atomic<std::uint64_t> entry[5] = {};  // node, incarnation, actor, actor_type, version
    std::atomic<std::uint64_t> name[name_words] = {};
  };
  struct table {
    explicit table(std::size_t n);
    const std::size_t size;
    // Hints for the sets' ways (the slot's hash decides); 0 is a free way.
    const std::unique_ptr<std::atomic<std::uint32_t>[]> tags;
    const std::unique_ptr<slot[]> slots;
    std::size_t set_of(std::size_t h) const noexcept { return (h >> 14) & (size - ways); }
  };
  table* grow(std::size_t want) const;

  const std::unique_ptr<version[]> versions_;
  mutable std::atomic<table*> current_{nullptr};
  mutable std::mutex grow_mutex_;
  mutable std::vector<std::unique_ptr<table>> tables_;  // under grow_mutex_
};

}  // namespace herald::registry::detail
