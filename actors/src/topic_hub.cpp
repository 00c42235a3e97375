#include "topic_hub.hpp"

#include <algorithm>

#include "network.hpp"

namespace herald::detail {

topic_hub::~topic_hub() { close(); }

bool topic_hub::add_local(const std::string& name, ref_ptr<cell_base> cell, const envelope_ops* ops) {
  std::lock_guard lock(local_mutex_);
  return local_.try_emplace(name, local_sub{std::move(cell), ops}).second;
}

void topic_hub::forget_local(const std::vector<std::string>& names) {
  std::vector<local_sub> gone;  // released outside the lock
  std::lock_guard lock(local_mutex_);
  for (const auto& n : names) {
    auto it = local_.find(n);
    if (it == local_.end()) continue;
    gone.push_back(std::move(it->second));
    local_.erase(it);
  }
}

bool topic_hub::has_local(const std::string& name) const {
  std::lock_guard lock(local_mutex_);
  return local_.count(name) != 0;
}

std::optional<topic_member> topic_hub::member_for(const std::string& name, const registry::name_entry& e) const {
  topic_member m;
  m.name = name;
  m.node = e.owner.node;
  m.actor = e.actor;
  if (e.owner.node == net_->node_id()) {
    std::lock_guard lock(local_mutex_);
    auto it = local_.find(name);
    // Not (or no longer) subscribed here: the registry is about to say so.
    if (it == local_.end()) return std::nullopt;
    m.cell = it->second.cell;
    m.ops = it->second.ops;
  } else {
    m.remote = std::make_shared<const remote_target>(remote_target{net_->slot(e.owner.node), e.actor});
  }
  return m;
}

void topic_hub::put(topic_state& t, topic_member m) {
  auto next = std::make_shared<std::vector<topic_member>>(*t.members);
  auto same = std::find_if(next->begin(), next->end(), [&](const topic_member& x) { return x.name == m.name; });
  if (same != next->end()) {
    *same = std::move(m);
  } else {
    next->push_back(std::move(m));
  }
  t.members = std::move(next);
}

void topic_hub::drop(topic_state& t, std::string_view name) {
  auto pos = std::find_if(t.members->begin(), t.members->end(), [&](const topic_member& x) { return x.name == name; });
  if (pos == t.members->end()) return;
  auto next = std::make_shared<std::vector<topic_member>>(*t.members);
  next->erase(next->begin() + (pos - t.members->begin()));
  t.members = std::move(next);
}

void topic_hub::on_event(const registry::registry_event& e) {
  const std::string_view key = topic_key_of(e.name);
  if (key.empty()) return;
  auto it = topics_.find(std::string(key));
  if (it == topics_.end()) return;
  switch (e.kind) {
    case registry::registry_event_kind::added:
    case registry::registry_event_kind::moved:
      if (auto m = member_for(e.name, e.entry)) {
        put(it->second, std::move(*m));
      } else {
        drop(it->second, e.name);
      }
      return;
    case registry::registry_event_kind::removed:
      drop(it->second, e.name);
      return;
    case registry::registry_event_kind::conflict_lost:
      return;  // the winner's added/moved event says where the name points
  }
}

topic_hub::snapshot topic_hub::members_of(network& net, const std::string& key) {
  std::lock_guard lock(mutex_);
  if (auto it = topics_.find(key); it != topics_.end()) return it->second.members;
  if (closed_) return nullptr;
  if (watch_ == 0) {
    net_ = &net;
    // Events come on the registry writer's thread, outside the registry's
    // locks; this takes mutex_, which never waits for a registry lock while
    // an event is being delivered (a scan below reads the registry under
    // mutex_, but the registry delivers events outside its write lock).
    watch_ = net.cluster().registry().subscribe([this](const registry::registry_event& e) {
      std::lock_guard inner(mutex_);
      on_event(e);
    });
  }
  topic_state& t = topics_[key];
  auto next = std::make_shared<std::vector<topic_member>>();
  for (const auto& [name, entry] : net.cluster().registry().snapshot()) {
    if (name.compare(0, key.size(), key) != 0 || topic_key_of(name) != key) continue;
    if (auto m = member_for(name, entry)) next->push_back(std::move(*m));
  }
  t.members = std::move(next);
  return t.members;
}

result<publish_report> topic_hub::publish(network& net, const std::string& key,
                                          const std::function<result<void>(const topic_member&)>& send) {
  const snapshot members = members_of(net, key);
  if (!members) return error(errc::system_shutdown, "publish during shutdown");
  publish_report report;
  for (const topic_member& s : *members) {
    // A local subscriber that has stopped is about to leave the topic.
    if (s.cell && s.cell->stopped()) continue;
    ++report.subscribers;
    auto r = send(s);
    if (r) {
      ++report.delivered;
    } else {
      ++report.refused;
      report.last_refusal = std::move(r).error();
    }
  }
  publishes_.fetch_add(1, std::memory_order_relaxed);
  deliveries_.fetch_add(report.delivered, std::memory_order_relaxed);
  refused_.fetch_add(report.refused, std::memory_order_relaxed);
  return report;
}

std::vector<topic_subscriber> topic_hub::subscribers(network& net, const std::string& key) {
  const snapshot members = members_of(net, key);
  std::vector<topic_subscriber> out;
  if (!members) return out;
  out.reserve(members->size());
  for (const auto& m : *members) out.push_back(topic_subscriber{m.node, m.actor});
  std::sort(out.begin(), out.end(),
            [](const topic_subscriber& a, const topic_subscriber& b) { return std::pair(a.node, a.actor) < std::pair(b.node, b.actor); });
  return out;
}

void topic_hub::close() {
  std::unordered_map<std::string, topic_state> topics;  // released outside the locks
  std::unordered_map<std::string, local_sub> local;
  {
    std::lock_guard lock(mutex_);
    if (watch_ != 0) net_->cluster().registry().unsubscribe(watch_);
    watch_ = 0;
    closed_ = true;
    topics.swap(topics_);
  }
  std::lock_guard lock(local_mutex_);
  local.swap(local_);
}

void topic_hub::add_metrics(system_metrics& m) const {
  m.topic_publishes = publishes_.load(std::memory_order_relaxed);
  m.topic_deliveries = deliveries_.load(std::memory_order_relaxed);
  m.topic_deliveries_refused = refused_.load(std::memory_order_relaxed);
}

}  // namespace herald::detail
