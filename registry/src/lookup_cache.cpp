#include "herald/registry/detail/lookup_cache.hpp"

#include <algorithm>
#include <bit>
#include <cstring>
#include <string>

namespace herald::registry::detail {

namespace {

thread_local std::uint64_t thread_hit_count = 0;
thread_local std::uint64_t thread_miss_count = 0;
thread_local std::uint32_t thread_victim = 0;

// A slot's tag: the high half of its name's hash, never 0 (0 is a free slot).
std::uint32_t tag_of(std::size_t h) noexcept { return static_cast<std::uint32_t>(h >> 32) | 1u; }

// The name as the words a slot stores: zero-padded to name_words words.
void pack(std::string_view name, std::uint64_t (&out)[lookup_cache::name_words]) noexcept {
  std::memset(out, 0, sizeof(out));
  std::memcpy(out, name.data(), name.size());
}

}  // namespace

lookup_cache::lookup_cache() : versions_(std::make_unique<version[]>(stripes)) {
  tables_.push_back(std::make_unique<table>(min_slots));
  current_.store(tables_.back().get(), std::memory_order_release);
}

lookup_cache::~lookup_cache() = default;

lookup_cache::table::table(std::size_t n) : size(n), tags(std::make_unique<std::atomic<std::uint32_t>[]>(n)),
                                            slots(std::make_unique<slot[]>(n)) {}

int lookup_cache::find(std::size_t h, std::string_view name, name_entry& out) const noexcept {
  if (name.size() > inline_name) {
    ++thread_miss_count;
    return -1;
  }
  const table& t = *current_.load(std::memory_order_acquire);
  const std::size_t set = t.set_of(h);
  const std::uint32_t tag = tag_of(h);
  std::uint64_t want[name_words];
  bool packed = false;
  for (std::size_t i = set; i < set + ways; ++i) {
    if (t.tags[i].load(std::memory_order_relaxed) != tag) continue;
    if (!packed) {
      pack(name, want);
      packed = true;
    }
    const slot& s = t.slots[i];
    // A seqlock read: every field is an atomic read relaxed between two
    // reads of seq; an odd or changed seq means a filler was writing.
    const std::uint64_t s1 = s.seq.load(std::memory_order_acquire);
    if ((s1 & 1) != 0) break;
    const std::uint64_t meta = s.meta.load(std::memory_order_relaxed);
    bool same = s.hash.load(std::memory_order_relaxed) == h && (meta >> 8) == name.size();
    for (std::size_t w = 0; same && w < name_words; ++w) same = s.name[w].load(std::memory_order_relaxed) == want[w];
    const std::uint64_t slot_stamp = s.stamp.load(std::memory_order_relaxed);
    name_entry e;
    e.owner.node = s.entry[0].load(std::memory_order_relaxed);
    e.owner.incarnation = s.entry[1].load(std::memory_order_relaxed);
    e.actor = s.entry[2].load(std::memory_order_relaxed);
    e.actor_type = s.entry[3].load(std::memory_order_relaxed);
    e.version = s.entry[4].load(std::memory_order_relaxed);
    std::atomic_thread_fence(std::memory_order_acquire);
    if (s.seq.load(std::memory_order_relaxed) != s1) break;
    if (!same) continue;
    if (slot_stamp != stamp(h)) break;
    ++thread_hit_count;
    if ((meta & 1) == 0) return 0;
    out = e;
    return 1;
  }
  ++thread_miss_count;
  return -1;
}

void lookup_cache::fill(std::size_t h, std::string_view name, const name_entry* found, std::uint64_t before,
                        std::size_t visible) const {
  if (name.size() > inline_name) return;
  // Odd: the writer was changing this stripe; changed: what was read may be
  // older or newer than the version. Either way it cannot be stamped.
  if ((before & 1) != 0 || stamp(h) != before) return;
  table* t = current_.load(std::memory_order_acquire);
  const std::size_t want = std::min(std::bit_ceil(std::max<std::size_t>(visible * 2, min_slots)), max_slots);
  if (t->size < want) t = grow(want);
  const std::size_t set = t->set_of(h);
  const std::uint32_t tag = tag_of(h);
  std::size_t target = set + ways;
  for (std::size_t i = set; i < set + ways; ++i) {
    const std::uint32_t held = t->tags[i].load(std::memory_order_relaxed);
    if (held == tag) {
      target = i;  // most likely this name: refresh it in place
      break;
    }
    if (held == 0 && target == set + ways) target = i;
  }
  // Every way taken by other names: one goes, in turn.
  if (target == set + ways) target = set + (thread_victim++ % ways);
  slot& s = t->slots[target];
  std::uint64_t seq = s.seq.load(std::memory_order_relaxed);
  // Another reader filling this slot: leave it to that one.
  if ((seq & 1) != 0 || !s.seq.compare_exchange_strong(seq, seq + 1, std::memory_order_relaxed)) return;
  std::atomic_thread_fence(std::memory_order_release);
  std::uint64_t words[name_words];
  pack(name, words);
  s.hash.store(h, std::memory_order_relaxed);
  s.meta.store((static_cast<std::uint64_t>(name.size()) << 8) | (found != nullptr ? 1u : 0u), std::memory_order_relaxed);
  for (std::size_t w = 0; w < name_words; ++w) s.name[w].store(words[w], std::memory_order_relaxed);
  s.stamp.store(before, std::memory_order_relaxed);
  const name_entry e = found != nullptr ? *found : name_entry{};
  s.entry[0].store(e.owner.node, std::memory_order_relaxed);
  s.entry[1].store(e.owner.incarnation, std::memory_order_relaxed);
  s.entry[2].store(e.actor, std::memory_order_relaxed);
  s.entry[3].store(e.actor_type, std::memory_order_relaxed);
  s.entry[4].store(e.version, std::memory_order_relaxed);
  s.seq.store(seq + 2, std::memory_order_release);
  t->tags[target].store(tag, std::memory_order_relaxed);
}

lookup_cache::table* lookup_cache::grow(std::size_t want) const {
  std::lock_guard lock(grow_mutex_);
  table* t = current_.load(std::memory_order_relaxed);
  if (t->size >= want) return t;
  // The old table stays allocated (readers may be in it) until the cache
  // goes; the tables together are less than twice the newest.
  tables_.push_back(std::make_unique<table>(want));
  t = tables_.back().get();
  current_.store(t, std::memory_order_release);
  return t;
}

std::uint64_t lookup_cache::thread_hits() noexcept { return thread_hit_count; }
std::uint64_t lookup_cache::thread_misses() noexcept { return thread_miss_count; }

}  // namespace herald::registry::detail
