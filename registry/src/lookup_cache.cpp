#include "herald/registry/detail/lookup_cache.hpp"

#include <bit>
#include <string>
#include <vector>

namespace herald::registry::detail {

namespace {

// Registry ids for the thread caches: never reused, so that a registry
// created at the address of a destroyed one does not hit its cache.
std::atomic<std::uint64_t> next_id{1};

// Names up to this long are cached inline (one allocation-free compare on
// a hit); longer ones always read the map.
constexpr std::size_t inline_name = 46;
constexpr std::size_t ways = 4;

struct slot {
  std::uint64_t stamp = 0;
  name_entry entry;
  bool present = false;
  std::uint8_t length = 0;
  char name[inline_name];
  std::string_view key() const noexcept { return {name, length}; }
};

// A slot's tag: the high half of its name's hash, never 0 (0 is a free slot).
std::uint32_t tag_of(std::size_t h) noexcept { return static_cast<std::uint32_t>(h >> 32) | 1u; }

// One thread's cache of one registry: sets of `ways` slots, with their tags
// apart so that a miss in a set reads one cache line.
struct thread_cache {
  std::uint64_t owner = 0;  // 0: free
  std::uint64_t last_use = 0;
  std::uint32_t victim = 0;
  std::vector<std::uint32_t> tags;  // a power of two, or empty
  std::vector<slot> slots;
  std::size_t set_of(std::size_t h) const noexcept { return (h >> 12) & (tags.size() - ways); }
};

struct thread_caches {
  thread_cache caches[lookup_cache::max_threads_cached];
  std::uint64_t uses = 0;
  std::uint64_t hits = 0;
  std::uint64_t misses = 0;

  thread_cache* find(std::uint64_t owner) noexcept {
    for (thread_cache& c : caches) {
      if (c.owner == owner) {
        c.last_use = ++uses;
        return &c;
      }
    }
    return nullptr;
  }
  // The cache of owner, replacing the least recently used one if need be.
  thread_cache& claim(std::uint64_t owner) {
    if (thread_cache* c = find(owner)) return *c;
    thread_cache* victim = &caches[0];
    for (thread_cache& c : caches) {
      if (c.last_use < victim->last_use) victim = &c;
    }
    victim->owner = owner;
    victim->last_use = ++uses;
    victim->tags = {};
    victim->slots = {};
    return *victim;
  }
};

thread_local thread_caches tls;

std::size_t wanted_slots(std::size_t visible) {
  const std::size_t want = std::bit_ceil(std::max<std::size_t>(visible * 2, 64));
  return std::min(want, lookup_cache::max_slots);
}

}  // namespace

lookup_cache::lookup_cache()
    : id_(next_id.fetch_add(1, std::memory_order_relaxed)), versions_(std::make_unique<version[]>(stripes)) {}

int lookup_cache::find(std::size_t h, std::string_view name, name_entry& out) const noexcept {
  thread_cache* c = tls.find(id_);
  if (c == nullptr || c->tags.empty()) {
    ++tls.misses;
    return -1;
  }
  const std::size_t set = c->set_of(h);
  const std::uint32_t tag = tag_of(h);
  for (std::size_t i = set; i < set + ways; ++i) {
    if (c->tags[i] != tag) continue;
    const slot& s = c->slots[i];
    if (s.key() != name) continue;
    if (s.stamp != stamp(h)) break;
    ++tls.hits;
    if (!s.present) return 0;
    out = s.entry;
    return 1;
  }
  ++tls.misses;
  return -1;
}

void lookup_cache::fill(std::size_t h, std::string_view name, const name_entry* found, std::uint64_t before,
                        std::size_t visible) const {
  if (name.size() > inline_name) return;
  // Odd: the writer was changing this stripe; changed: what was read may be
  // older or newer than the version. Either way it cannot be stamped.
  if ((before & 1) != 0 || stamp(h) != before) return;
  thread_cache& c = tls.claim(id_);
  const std::size_t want = wanted_slots(visible);
  if (c.tags.size() < want) {
    c.tags.assign(want, 0);
    c.slots.assign(want, slot{});
  }
  const std::size_t set = c.set_of(h);
  const std::uint32_t tag = tag_of(h);
  std::size_t target = set + ways;
  for (std::size_t i = set; i < set + ways; ++i) {
    if (c.tags[i] == tag && c.slots[i].key() == name) {
      target = i;
      break;
    }
    if (c.tags[i] == 0 && target == set + ways) target = i;
  }
  // Every way taken by other names: one goes, in turn.
  if (target == set + ways) target = set + (c.victim++ % ways);
  slot& s = c.slots[target];
  c.tags[target] = tag;
  s.stamp = before;
  s.present = found != nullptr;
  s.entry = found != nullptr ? *found : name_entry{};
  s.length = static_cast<std::uint8_t>(name.size());
  name.copy(s.name, name.size());
}

std::uint64_t lookup_cache::thread_hits() noexcept { return tls.hits; }
std::uint64_t lookup_cache::thread_misses() noexcept { return tls.misses; }

}  // namespace herald::registry::detail
