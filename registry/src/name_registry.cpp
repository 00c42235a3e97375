#include "herald/registry/name_registry.hpp"

#include <algorithm>

namespace herald::registry {

namespace {

// Approximate wire cost of one delta beyond its name: five scalars and the
// FlatBuffers table overhead.
constexpr std::size_t delta_overhead = 48;
// libcuckoo grows by doubling; its default of 64Ki slots costs every node a
// megabyte and tens of milliseconds up front.
constexpr std::size_t initial_capacity = 1024;

}  // namespace

name_registry::name_registry(member_key self, registry_limits limits)
    : self_(self), limits_(limits), map_(initial_capacity) {
  streams_[self_.node].owner = self_;
}

bool name_registry::find_visible(std::string_view name, name_entry& out) const {
  const std::size_t h = name_hash{}(name);
  const int cached = cache_.find(h, name, out);
  if (cached >= 0) return cached == 1;
  const std::uint64_t stamp = cache_.stamp(h);
  bool found = false;
  {
    // libcuckoo's bucket locks spin: with more readers than cores, a reader
    // preempted inside find makes every other one that needs its bucket spin
    // for a time slice. Misses take turns on a mutex that sleeps instead.
    std::lock_guard turn(miss_mutex_);
    found = map_.find(name, out);
  }
  cache_.fill(h, name, found ? &out : nullptr, stamp, visible_.load(std::memory_order_relaxed));
  return found;
}

result<name_entry> name_registry::lookup(std::string_view name) const {
  name_entry e;
  if (!find_visible(name, e)) return error(errc::not_found, std::string(name));
  return e;
}

result<name_entry> name_registry::lookup(std::string_view name, type_id expected_type) const {
  name_entry e;
  if (!find_visible(name, e)) return error(errc::not_found, std::string(name));
  if (e.actor_type != expected_type) return error(errc::type_mismatch, std::string(name));
  return e;
}

result<stream_version> name_registry::register_local(std::string_view name, actor_id actor,
                                                     type_id actor_type) {
  if (name.empty()) return error(errc::invalid_argument, "empty actor name");
  stream_version v = 0;
  {
    std::lock_guard lock(write_mutex_);
    if (name.size() > limits_.max_name_length) {
      ++counters_.refused_name_too_long;
      return error(errc::limit_exceeded, "actor name longer than " + std::to_string(limits_.max_name_length));
    }
    stream& s = streams_[self_.node];
    auto it = s.items.find(name);
    const bool live = it != s.items.end() && !it->second.removed;
    if (!live && s.live >= limits_.max_entries_per_node) {
      ++counters_.refused_too_many_entries;
      return error(errc::limit_exceeded,
                   "node already holds " + std::to_string(limits_.max_entries_per_node) + " names");
    }
    v = ++s.version;
    put_item(s, std::string(name), item{v, false, actor, actor_type, s.epoch});
    ++counters_.local_changes;
  }
  dispatch();
  return v;
}

result<stream_version> name_registry::unregister_local(std::string_view name) {
  stream_version v = 0;
  {
    std::lock_guard lock(write_mutex_);
    stream& s = streams_[self_.node];
    auto it = s.items.find(name);
    if (it == s.items.end() || it->second.removed) return error(errc::not_found, std::string(name));
    v = ++s.version;
    put_item(s, it->first, item{v, true, 0, 0, s.epoch});
    ++counters_.local_changes;
  }
  dispatch();
  return v;
}

std::size_t name_registry::apply(const stream_batch& batch) {
  if (batch.owner.node == self_.node) {
    // Only this node writes its own names; its stream echoed back is old news.
    std::lock_guard lock(write_mutex_);
    counters_.deltas_ignored += batch.deltas.size();
    return 0;
  }
  std::size_t applied = 0;
  {
    std::lock_guard lock(write_mutex_);
    auto sit = streams_.find(batch.owner.node);
    if (sit != streams_.end() && batch.owner.incarnation < sit->second.owner.incarnation) {
      ++counters_.stale_incarnation;
      return 0;
    }
    if (sit != streams_.end() && batch.owner.incarnation > sit->second.owner.incarnation) {
      drop_stream(sit->second);
      streams_.erase(sit);
      sit = streams_.end();
    }
    if (sit == streams_.end()) {
      sit = streams_.emplace(batch.owner.node, stream{}).first;
      sit->second.owner = batch.owner;
    }
    stream& s = sit->second;
    if (batch.reset) {
      ++counters_.resyncs;
      ++s.epoch;
      s.version = 0;
      s.resync_target = std::max<stream_version>(batch.reset_target, 1);
      s.floor = std::max(s.floor, batch.floor);
    }
    stream_version prev = 0;
    for (const name_delta& d : batch.deltas) {
      if (d.version <= prev || d.name.empty()) {
        // Not a prefix in version order: nothing after this point can be trusted.
        ++counters_.refused_malformed;
        break;
      }
      prev = d.version;
      if (d.version <= s.version) {
        ++counters_.deltas_ignored;
        continue;
      }
      if (apply_one(s, d)) ++applied;
      s.version = d.version;
    }
    if (s.resync_target != 0 && s.version >= s.resync_target) finish_resync(s);
  }
  dispatch();
  return applied;
}

bool name_registry::apply_one(stream& s, const name_delta& d) {
  if (d.name.size() > limits_.max_name_length) {
    ++counters_.refused_name_too_long;
    return false;
  }
  auto it = s.items.find(d.name);
  const bool live = it != s.items.end() && !it->second.removed;
  if (!d.removed && !live && s.live >= limits_.max_entries_per_node) {
    ++counters_.refused_too_many_entries;
    return false;
  }
  // During a resync a stale item may still hold this version under another name.
  if (auto clash = s.by_version.find(d.version); clash != s.by_version.end() && clash->second != d.name) {
    erase_item(s, std::string(clash->second));
  }
  put_item(s, d.name, item{d.version, d.removed, d.actor, d.actor_type, s.epoch});
  ++counters_.deltas_applied;
  return true;
}

std::size_t name_registry::remove_node(node_id node) {
  if (node == self_.node) return 0;
  std::size_t removed = 0;
  {
    std::lock_guard lock(write_mutex_);
    auto sit = streams_.find(node);
    if (sit == streams_.end()) return 0;
    removed = sit->second.live;
    drop_stream(sit->second);
    streams_.erase(sit);
  }
  dispatch();
  return removed;
}

void name_registry::put_item(stream& s, const std::string& name, const item& it) {
  auto [pos, inserted] = s.items.try_emplace(name);
  item& slot = pos->second;
  if (!inserted) {
    s.by_version.erase(slot.version);
    if (slot.removed) {
      s.tombstones.erase(slot.version);
    } else {
      --s.live;
    }
  }
  slot = it;
  slot.epoch = s.epoch;
  s.by_version[it.version] = name;
  if (it.removed) {
    s.tombstones.insert(it.version);
    drop_claim(name, s.owner);
    trim_tombstones(s);
  } else {
    ++s.live;
    set_claim(name, name_entry{s.owner, it.actor, it.actor_type, it.version});
  }
}

void name_registry::erase_item(stream& s, const std::string& name) {
  auto it = s.items.find(name);
  if (it == s.items.end()) return;
  s.by_version.erase(it->second.version);
  if (it->second.removed) {
    s.tombstones.erase(it->second.version);
  } else {
    --s.live;
    drop_claim(name, s.owner);
  }
  s.items.erase(it);
}

void name_registry::drop_stream(stream& s) {
  for (auto& [name, it] : s.items) {
    if (!it.removed) drop_claim(name, s.owner);
  }
  s.items.clear();
  s.by_version.clear();
  s.tombstones.clear();
  s.live = 0;
}

void name_registry::trim_tombstones(stream& s) {
  while (s.tombstones.size() > limits_.max_tombstones_per_node) {
    const stream_version v = *s.tombstones.begin();
    auto bv = s.by_version.find(v);
    if (bv != s.by_version.end()) {
      s.items.erase(bv->second);
      s.by_version.erase(bv);
    }
    s.tombstones.erase(s.tombstones.begin());
    s.floor = std::max(s.floor, v);
    ++counters_.tombstones_dropped;
  }
}

void name_registry::finish_resync(stream& s) {
  std::vector<std::string> stale;
  for (auto& [name, it] : s.items) {
    if (it.epoch != s.epoch) stale.push_back(name);
  }
  for (const std::string& name : stale) erase_item(s, name);
  s.resync_target = 0;
}

void name_registry::set_claim(const std::string& name, const name_entry& e) {
  claim_list& list = claims_[name];
  const std::optional<name_entry> before =
      list.empty() ? std::nullopt : std::optional<name_entry>(list.front());
  auto same_node = std::find_if(list.begin(), list.end(),
                                [&](const name_entry& c) { return c.owner.node == e.owner.node; });
  if (same_node != list.end()) {
    if (*same_node == e) return;  // re-applied during a resync: nothing changes
    list.erase(same_node);
  }
  list.insert(std::upper_bound(list.begin(), list.end(), e,
                               [](const name_entry& a, const name_entry& b) { return a.owner < b.owner; }),
              e);
  const name_entry& after = list.front();
  publish_winner(name, before ? &*before : nullptr, &after);
  if (list.size() > 1) {
    if (!(after == e)) {
      ++counters_.conflicts;
      pending_.push_back(registry_event{registry_event_kind::conflict_lost, name, e, after});
    } else if (before && before->owner.node != e.owner.node) {
      ++counters_.conflicts;
      pending_.push_back(registry_event{registry_event_kind::conflict_lost, name, *before, after});
    }
  }
}

void name_registry::drop_claim(const std::string& name, const member_key& owner) {
  auto cit = claims_.find(name);
  if (cit == claims_.end()) return;
  claim_list& list = cit->second;
  auto pos = std::find_if(list.begin(), list.end(),
                          [&](const name_entry& c) { return c.owner.node == owner.node; });
  if (pos == list.end()) return;
  const name_entry before = list.front();
  list.erase(pos);
  if (list.empty()) {
    claims_.erase(cit);
    publish_winner(name, &before, nullptr);
  } else {
    const name_entry after = list.front();
    publish_winner(name, &before, &after);
  }
}

void name_registry::publish_winner(const std::string& name, const name_entry* before,
                                   const name_entry* after) {
  const std::size_t h = name_hash{}(name);
  if (before == nullptr && after != nullptr) {
    cache_.begin_write(h);
    map_.insert_or_assign(name, *after);
    cache_.end_write(h);
    visible_.fetch_add(1, std::memory_order_relaxed);
    pending_.push_back(registry_event{registry_event_kind::added, name, *after, {}});
  } else if (before != nullptr && after == nullptr) {
    cache_.begin_write(h);
    map_.erase(name);
    cache_.end_write(h);
    visible_.fetch_sub(1, std::memory_order_relaxed);
    pending_.push_back(registry_event{registry_event_kind::removed, name, *before, {}});
  } else if (before != nullptr && after != nullptr && !(*before == *after)) {
    cache_.begin_write(h);
    map_.insert_or_assign(name, *after);
    cache_.end_write(h);
    pending_.push_back(registry_event{registry_event_kind::moved, name, *after, *before});
  }
}

std::vector<stream_digest> name_registry::digest() const {
  std::lock_guard lock(write_mutex_);
  std::vector<stream_digest> out;
  out.reserve(streams_.size());
  for (const auto& [node, s] : streams_) out.push_back(stream_digest{s.owner, s.version, s.resync_target != 0});
  std::sort(out.begin(), out.end(),
            [](const stream_digest& a, const stream_digest& b) { return a.owner < b.owner; });
  return out;
}

stream_digest name_registry::digest_of(node_id node) const {
  std::lock_guard lock(write_mutex_);
  auto sit = streams_.find(node);
  if (sit == streams_.end()) return stream_digest{member_key{node, 0}, 0, false};
  return stream_digest{sit->second.owner, sit->second.version, sit->second.resync_target != 0};
}

stream_batch name_registry::deltas_since(node_id node, const stream_digest& peer,
                                         std::size_t byte_budget) const {
  std::lock_guard lock(write_mutex_);
  stream_batch batch;
  auto sit = streams_.find(node);
  if (sit == streams_.end()) return batch;
  const stream& s = sit->second;
  batch.owner = s.owner;
  if (peer.owner.incarnation > s.owner.incarnation) return batch;
  const bool same_run = peer.owner.incarnation == s.owner.incarnation;
  stream_version from = same_run ? peer.version : 0;
  if (from >= s.version) return batch;
  if (from < s.floor && !(same_run && peer.resyncing)) {
    batch.reset = true;
    batch.reset_target = s.version;
    batch.floor = s.floor;
    from = 0;
  }
  std::size_t bytes = 0;
  for (auto it = s.by_version.upper_bound(from); it != s.by_version.end() && it->first <= s.version; ++it) {
    const item& i = s.items.at(it->second);
    const std::size_t cost = it->second.size() + delta_overhead;
    if (!batch.deltas.empty() && bytes + cost > byte_budget) break;
    bytes += cost;
    batch.deltas.push_back(name_delta{it->second, i.version, i.removed, i.actor, i.actor_type});
  }
  return batch;
}

std::vector<std::pair<std::string, name_entry>> name_registry::snapshot() const {
  std::lock_guard lock(write_mutex_);
  std::vector<std::pair<std::string, name_entry>> out;
  out.reserve(claims_.size());
  for (const auto& [name, list] : claims_) out.emplace_back(name, list.front());
  std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
  return out;
}

std::size_t name_registry::live_names_of(node_id node) const {
  std::lock_guard lock(write_mutex_);
  auto sit = streams_.find(node);
  return sit == streams_.end() ? 0 : sit->second.live;
}

registry_counters name_registry::counters() const {
  std::lock_guard lock(write_mutex_);
  return counters_;
}

name_registry::subscription name_registry::subscribe(event_callback cb) { return watch({}, std::move(cb)); }

name_registry::subscription name_registry::watch(std::string name, event_callback cb) {
  std::lock_guard lock(subs_mutex_);
  const subscription id = next_sub_++;
  subs_.push_back(std::make_shared<const subscriber>(subscriber{id, std::move(name), std::move(cb)}));
  return id;
}

void name_registry::unsubscribe(subscription id) {
  std::lock_guard lock(subs_mutex_);
  std::erase_if(subs_, [id](const auto& s) { return s->id == id; });
}

void name_registry::dispatch() {
  for (;;) {
    std::unique_lock turn(dispatch_mutex_, std::try_to_lock);
    // Whoever holds the turn drains what this thread queued, in order; a
    // callback that writes to the registry lands here too and returns at once.
    if (!turn.owns_lock()) return;
    for (;;) {
      std::vector<registry_event> events;
      {
        std::lock_guard lock(write_mutex_);
        events.swap(pending_);
      }
      if (events.empty()) break;
      std::vector<std::shared_ptr<const subscriber>> subs;
      {
        std::lock_guard lock(subs_mutex_);
        subs = subs_;
      }
      for (const registry_event& ev : events) {
        for (const auto& sub : subs) {
          if (sub->name.empty() || sub->name == ev.name) sub->cb(ev);
        }
      }
    }
    turn.unlock();
    std::lock_guard lock(write_mutex_);
    if (pending_.empty()) return;
  }
}

}  // namespace herald::registry
