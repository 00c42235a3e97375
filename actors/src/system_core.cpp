#include "system_core.hpp"

#include <cxxabi.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <memory>
#include <thread>
#include <vector>

#include "herald/actors/actor_system.hpp"
#include "network.hpp"

namespace herald::detail {
namespace {

std::size_t worker_count(const actor_system_config& cfg) {
  if (cfg.worker_threads != 0) return cfg.worker_threads;
  auto n = std::thread::hardware_concurrency();
  return n == 0 ? 1 : n;
}

std::string demangle(const char* mangled) {
  int status = 0;
  std::unique_ptr<char, void (*)(void*)> p(abi::__cxa_demangle(mangled, nullptr, nullptr, &status), std::free);
  return status == 0 && p ? std::string(p.get()) : std::string(mangled);
}

// One function for the scheduler to run once: scheduled once, it runs and
// deletes itself (release() after run()).
class posted_call final : public runtime::schedulable {
 public:
  posted_call(system_core& core, std::function<void()> fn) : core_(core), fn_(std::move(fn)) {}
  void run(std::size_t) noexcept override {
    try {
      fn_();
    } catch (const std::exception& e) {
      core_.log_warning(std::string("an ask continuation threw: ") + e.what());
    } catch (...) {
      core_.log_warning("an ask continuation threw");
    }
  }
  void retain() noexcept override {}
  void release() noexcept override { delete this; }

 private:
  system_core& core_;
  std::function<void()> fn_;
};

}  // namespace

system_core::system_core(actor_system& owner, actor_system_config cfg)
    : owner_(owner),
      cfg_(std::move(cfg)),
      scheduler_(worker_count(cfg_), cfg_.max_messages_per_activation) {}

system_core::~system_core() { shutdown(); }

void system_core::post(std::function<void()> fn) noexcept {
  posted_call* p = nullptr;
  try {
    p = new posted_call(*this, std::move(fn));
  } catch (...) {
    log_warning("out of memory posting an ask continuation: it does not run");
    return;
  }
  scheduler_.schedule(p);
}

void post_to_worker(system_core& core, runtime::schedulable& s) noexcept { core.scheduler().schedule(&s); }
void log_continuation_failure(system_core& core, const char* what) noexcept {
  core.log_warning(std::string("an ask continuation threw: ") + what);
}
system_core& core_of(network& net) noexcept { return net.core(); }

result<void> system_core::add(const ref_ptr<cell_base>& c, std::type_index type, std::uint64_t wire_type) {
  std::lock_guard lock(lifecycle_mutex_);
  if (shutting_down_) return error(errc::system_shutdown, "spawn during shutdown");
  if (c->name().compare(0, topic_prefix.size(), topic_prefix) == 0) {
    return error(errc::invalid_argument, "names under \"$topic/\" are reserved for subscriptions");
  }
  // Before the name publishes the cell: a sender that finds it by name may
  // get it run at once, and the worker reads stats().
  type_stats* ts = stats_for(type);
  c->set_stats(ts);
  if (!c->name().empty() && !names_.insert(c->name(), named{c, type, wire_type})) {
    return error(errc::invalid_argument, "an actor named '" + c->name() + "' already exists");
  }
  cells_.insert(c->id(), c);
  alive_.fetch_add(1, std::memory_order_relaxed);
  if (net_ && !c->name().empty()) {
    if (auto r = net_->cluster().registry().register_local(c->name(), c->id(), wire_type); !r) {
      names_.erase(c->name());
      cells_.erase(c->id());
      alive_.fetch_sub(1, std::memory_order_relaxed);
      return r.error();
    }
  }
  spawned_.fetch_add(1, std::memory_order_relaxed);
  ts->spawned.fetch_add(1, std::memory_order_relaxed);
  // An empty message gets the actor scheduled; its first activation starts it.
  c->enqueue(make_noop_envelope());
  return {};
}

result<system_core::named> system_core::find_named(std::string_view name) const {
  std::optional<named> hit;
  names_.find_fn(std::string(name), [&](const named& n) { hit.emplace(n); });
  if (!hit) return error(errc::not_found, "no actor named '" + std::string(name) + "'");
  return std::move(*hit);
}

result<ref_ptr<cell_base>> system_core::find(std::string_view name, std::type_index type) const {
  auto hit = find_named(name);
  if (!hit) return std::move(hit).error();
  if (hit->type != type) {
    return error(errc::type_mismatch, "actor '" + std::string(name) + "' is a " + demangle(hit->type.name()));
  }
  return std::move(hit->cell);
}

result<actor_id> system_core::resolve(std::string_view name, std::uint64_t wire_type) const {
  auto hit = find_named(name);
  if (!hit) return std::move(hit).error();
  if (hit->wire_type != wire_type) {
    return error(errc::type_mismatch, "actor '" + std::string(name) + "' is a " + demangle(hit->type.name()));
  }
  return hit->cell->id();
}

result<void> system_core::start_network(runtime::node_config cfg, registry::cluster_config cluster, bool join) {
  std::lock_guard lock(lifecycle_mutex_);
  if (shutting_down_) return error(errc::system_shutdown, "start_node during shutdown");
  if (net_) return error(errc::invalid_argument, "the node is already started");
  log_ = cfg.log;
  auto n = std::make_unique<network>(*this);
  if (auto ok = n->start(std::move(cfg), std::move(cluster)); !ok) return ok;
  // A client stops its cluster layer before any connection exists: it never
  // gossips, so it never becomes a member.
  if (!join) n->cluster().stop();
  joined_ = join;
  net_ = std::move(n);
  // Published before the names are copied: remove() erases a name, then
  // reads net(); either its name is gone before lock_table() below, or it
  // sees net() and unregisters the name copied here.
  net_published_.store(net_.get(), std::memory_order_release);
  auto table = names_.lock_table();
  for (auto& [name, entry] : table) {
    if (auto r = net_->cluster().registry().register_local(name, entry.cell->id(), entry.wire_type); !r) {
      log_warning("actor '" + name + "' is not registered cluster-wide: " + r.error().message());
    }
  }
  return {};
}

result<std::pair<std::uint64_t, actor_id>> system_core::find_in_cluster(std::string_view name,
                                                                       std::uint64_t wire_type) const {
  network* net = net_published_.load(std::memory_order_acquire);
  if (!net) return error(errc::not_found, "no actor named '" + std::string(name) + "'");
  auto e = net->cluster().registry().lookup(name, wire_type);
  if (!e) return std::move(e).error();
  if (e->owner.node == net->node_id()) return error(errc::not_found, "actor '" + std::string(name) + "' has stopped");
  return std::make_pair(e->owner.node, e->actor);
}

void system_core::log_warning(const std::string& message) noexcept {
  try {
    auto line = log_limit_.admit(message);
    if (!line) return;
    if (log_) {
      log_(runtime::log_level::warn, *line);
    } else {
      std::fprintf(stderr, "herald: %s\n", line->c_str());
    }
  } catch (...) {
  }
}

ref_ptr<cell_base> system_core::find(actor_id id) const {
  ref_ptr<cell_base> out;
  cells_.find_fn(id, [&](const ref_ptr<cell_base>& c) { out = c; });
  return out;
}

void system_core::drop_name(cell_base& c, const std::string& name) noexcept {
  // Erase the name only if it still maps to this cell.
  bool mine = false;
  names_.erase_fn(name, [&](const named& n) { return mine = n.cell.get() == &c; });
  if (auto* net = this->net(); mine && net) (void)net->cluster().registry().unregister_local(name);
}

result<void> system_core::add_alias(const ref_ptr<cell_base>& c, std::string name, std::type_index type,
                                    std::uint64_t wire_type) {
  if (!c) return error(errc::invalid_argument, "an alias needs a local actor: a remote actor's names are its node's");
  if (&c->core() != this) return error(errc::invalid_argument, "the actor belongs to another actor_system");
  if (name.empty()) return error(errc::invalid_argument, "empty alias");
  // Under lifecycle_mutex_, like add(): start_network either copies this
  // name to the registry or is done before it is added, never both.
  std::lock_guard life(lifecycle_mutex_);
  if (shutting_down_) return error(errc::system_shutdown, "alias during shutdown");
  std::lock_guard lock(aliases_mutex_);
  if (c->stopped()) return error(errc::actor_stopped, "actor " + std::to_string(c->id()) + " has stopped");
  if (!names_.insert(name, named{c, type, wire_type})) {
    return error(errc::invalid_argument, "the name '" + name + "' is taken");
  }
  if (net_) {
    if (auto r = net_->cluster().registry().register_local(name, c->id(), wire_type); !r) {
      names_.erase(name);
      return r.error();
    }
  }
  aliases_[c->id()].push_back(std::move(name));
  return {};
}

result<void> system_core::remove_alias(cell_base& c, std::string_view name) {
  std::string held;
  {
    std::lock_guard lock(aliases_mutex_);
    auto it = aliases_.find(c.id());
    if (it == aliases_.end()) return error(errc::not_found, "actor " + std::to_string(c.id()) + " has no alias '" + std::string(name) + "'");
    auto pos = std::find(it->second.begin(), it->second.end(), name);
    if (pos == it->second.end()) {
      return error(errc::not_found, "actor " + std::to_string(c.id()) + " has no alias '" + std::string(name) + "'");
    }
    held = std::move(*pos);
    it->second.erase(pos);
    if (it->second.empty()) aliases_.erase(it);
  }
  drop_name(c, held);
  topics_.forget_local({held});
  return {};
}

void system_core::remove(cell_base& c) noexcept {
  if (!c.name().empty()) drop_name(c, c.name());
  std::vector<std::string> aliases;
  {
    std::lock_guard lock(aliases_mutex_);
    if (auto it = aliases_.find(c.id()); it != aliases_.end()) {
      aliases = std::move(it->second);
      aliases_.erase(it);
    }
  }
  if (!aliases.empty()) {
    for (const auto& a : aliases) drop_name(c, a);
    // After the registry dropped them: a publisher here follows the registry.
    topics_.forget_local(aliases);
  }
  ref_ptr<cell_base> keep;  // released outside the table's lock
  cells_.erase_fn(c.id(), [&](ref_ptr<cell_base>& p) {
    keep = std::move(p);
    return true;
  });
  stopped_.fetch_add(1, std::memory_order_relaxed);
  if (auto* ts = c.stats()) ts->stopped.fetch_add(1, std::memory_order_relaxed);
  {
    std::lock_guard lock(lifecycle_mutex_);
    alive_.fetch_sub(1, std::memory_order_relaxed);
    all_stopped_.notify_all();
  }
}

void system_core::dead_letter(cell_base& target, const std::type_info& type, const error& why) noexcept {
  dead_letters_.fetch_add(1, std::memory_order_relaxed);
  if (auto* ts = target.stats()) ts->dead_letters.fetch_add(1, std::memory_order_relaxed);
  if (cfg_.on_dead_letter) {
    try {
      cfg_.on_dead_letter(herald::dead_letter{target.id(), demangle(type.name()), why});
    } catch (...) {
      // A throwing dead-letter handler must not take the runtime down with it.
    }
  }
}

void system_core::escalate(const escalation& e) noexcept {
  escalations_.fetch_add(1, std::memory_order_relaxed);
  try {
    if (cfg_.on_escalation) {
      cfg_.on_escalation(e);
    } else {
      std::fprintf(stderr, "herald: actor %llu '%s' escalated a failure with no parent: %s\n",
                   static_cast<unsigned long long>(e.who), e.name.c_str(), e.reason.message().c_str());
    }
  } catch (...) {
  }
}

void system_core::shutdown() {
  std::vector<ref_ptr<cell_base>> live;
  {
    std::lock_guard lock(lifecycle_mutex_);
    if (shutting_down_) return;
    shutting_down_ = true;
    auto table = cells_.lock_table();
    for (auto& [id, c] : table) live.push_back(c);
  }
  for (auto& c : live) c->request_stop(error(errc::system_shutdown, "actor system shutting down"));
  {
    std::unique_lock lock(lifecycle_mutex_);
    all_stopped_.wait(lock, [&] { return alive_.load(std::memory_order_relaxed) == 0; });
  }
  live.clear();
  // Every subscriber has stopped: nothing is left to publish to.
  topics_.close();
  // Remote asks still pending fail with node_down; no frame arrives after this.
  if (auto* net = this->net()) net->shutdown();
  scheduler_.stop();
  timers_.stop();
}

bool system_core::await_all_stopped(const std::chrono::steady_clock::time_point* deadline) {
  std::unique_lock lock(lifecycle_mutex_);
  auto done = [&] {
    // The node actor lives as long as the transport; it is no user's actor.
    std::uint64_t system_actors = cells_.contains(node_actor_id) ? 1 : 0;
    return alive_.load(std::memory_order_relaxed) <= system_actors;
  };
  if (deadline == nullptr) {
    all_stopped_.wait(lock, done);
    return true;
  }
  return all_stopped_.wait_until(lock, *deadline, done);
}

system_metrics system_core::metrics() const {
  system_metrics m;
  m.actors_spawned = spawned_.load(std::memory_order_relaxed);
  m.actors_stopped = stopped_.load(std::memory_order_relaxed);
  m.actors_alive = alive_.load(std::memory_order_relaxed);
  m.dead_letters = dead_letters_.load(std::memory_order_relaxed);
  m.handler_failures = failures_.load(std::memory_order_relaxed);
  m.restarts = restarts_.load(std::memory_order_relaxed);
  m.quorum_late_replies = quorum_late_.load(std::memory_order_relaxed);
  m.mailbox_full = mailbox_full_.load(std::memory_order_relaxed);
  m.mailbox_waits = mailbox_waits_.load(std::memory_order_relaxed);
  m.io_thread_activations = io_activations_.load(std::memory_order_relaxed);
  m.escalations = escalations_.load(std::memory_order_relaxed);
  m.asks_timed_out = ask_timeouts_.load(std::memory_order_relaxed);
  m.activations = scheduler_.snapshot().activations;
  if (const auto* net = this->net()) net->add_metrics(m);
  topics_.add_metrics(m);
  return m;
}

type_stats* system_core::stats_for(std::type_index type) {
  std::lock_guard lock(types_mutex_);
  auto& slot = types_[type];
  if (!slot) slot = std::make_unique<type_stats>(demangle(type.name()));
  return slot.get();
}

std::vector<type_snapshot> system_core::type_snapshots() {
  std::vector<type_snapshot> out;
  std::map<const type_stats*, std::size_t> index;
  {
    std::lock_guard lock(types_mutex_);
    for (const auto& [type, ts] : types_) {
      index[ts.get()] = out.size();
      type_snapshot t;
      t.name = ts->name;
      t.handled = ts->handled.load(std::memory_order_relaxed);
      t.restarts = ts->restarts.load(std::memory_order_relaxed);
      t.dead_letters = ts->dead_letters.load(std::memory_order_relaxed);
      t.mailbox_full = ts->mailbox_full.load(std::memory_order_relaxed);
      const auto spawned = ts->spawned.load(std::memory_order_relaxed);
      const auto stopped = ts->stopped.load(std::memory_order_relaxed);
      t.alive = spawned > stopped ? spawned - stopped : 0;
      t.handler_time = ts->handler_time.read();
      out.push_back(std::move(t));
    }
  }
  {
    auto cells = cells_.lock_table();
    for (const auto& [id, c] : cells) {
      auto it = index.find(c->stats());
      if (it == index.end()) continue;
      auto& t = out[it->second];
      const auto d = c->mailbox_depth();
      t.mailbox_depth += d;
      t.mailbox_depth_max = std::max(t.mailbox_depth_max, d);
    }
  }
  std::sort(out.begin(), out.end(), [](const type_snapshot& a, const type_snapshot& b) { return a.name < b.name; });
  return out;
}

}  // namespace herald::detail
