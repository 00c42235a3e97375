#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string_view>

#include "herald/registry/registry_types.hpp"

namespace herald::registry::detail {

// The read path of the name registry: a version per stripe of name hashes,
// bumped by the writer around every change of a visible entry, and a cache
// per reader thread of entries (and absences) stamped with the version of
// their stripe when they were read from the libcuckoo map.
// Safe for concurrent use: any number of readers, one writer at a time (the
// registry's write mutex). A hit reads only the stripe version (a shared load,
// no read-modify-write) and the calling thread's own cache, so readers do not
// write any cache line they share.
//
// Invariants:
// 1. A stripe version is odd exactly while the writer changes an entry of
//    that stripe in the map (begin_write .. end_write).
// 2. A cached slot holds an even stamp s, and what the map held for its name
//    at some instant while the stripe version was s (the stamp is read before
//    the map and checked unchanged after it); so while the stripe version is
//    still s, the slot is what the map holds.
// 3. A thread's caches hold at most max_threads_cached registries of at most
//    max_slots slots each; a registry's id is never reused, so a cache of a
//    destroyed registry is never hit and is the first to be replaced.
class lookup_cache {
 public:
  static constexpr std::size_t stripes = 16384;
  // Slots of one thread's cache of one registry (4-way associative, about
  // 100 bytes each); a read set larger than half of this falls back to the
  // map for the overflow, and so do names longer than 46 bytes.
  static constexpr std::size_t max_slots = 32768;
  static constexpr std::size_t max_threads_cached = 4;

  lookup_cache();
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
  // stamp was read. visible sizes the thread's cache (it grows with the
  // registry up to max_slots).
  void fill(std::size_t h, std::string_view name, const name_entry* found, std::uint64_t stamp,
            std::size_t visible) const;

  // Writer only (under the registry's write mutex), around a change of name's entry.
  void begin_write(std::size_t h) noexcept { versions_[h & (stripes - 1)].v.fetch_add(1, std::memory_order_seq_cst); }
  void end_write(std::size_t h) noexcept { versions_[h & (stripes - 1)].v.fetch_add(1, std::memory_order_seq_cst); }

  // Hits and misses of the calling thread's caches, all registries together.
  static std::uint64_t thread_hits() noexcept;
  static std::uint64_t thread_misses() noexcept;

 private:
  struct version {
    std::atomic<std::uint64_t> v{0};
  };
  const std::uint64_t id_;
  const std::unique_ptr<version[]> versions_;
};

}  // namespace herald::registry::detail
