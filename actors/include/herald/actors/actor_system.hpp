#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <type_traits>
#include <typeindex>
#include <utility>
#include <vector>

#include "herald/actors/actor.hpp"
#include "herald/actors/actor_ref.hpp"
#include "herald/actors/admin.hpp"
#include "herald/actors/config.hpp"
#include "herald/actors/detail/cell.hpp"
#include "herald/actors/detail/remote_dispatch.hpp"
#include "herald/actors/detail/spawn_args.hpp"
#include "herald/actors/remote.hpp"
#include "herald/actors/topic.hpp"
#include "herald/actors/messages.hpp"
#include "herald/actors/metrics.hpp"
#include "herald/result.hpp"
#include "herald/registry/cluster_node.hpp"
#include "herald/runtime/node_config.hpp"
#include "herald/wire/type_registry.hpp"

namespace herald {

namespace detail {

template <class>
inline constexpr bool dependent_false = false;

// A spawn_on argument as it travels: string-likes as std::string, the rest decayed.
template <class A>
using spawn_arg_t = std::conditional_t<std::is_convertible_v<A, std::string_view> &&
                                           !std::is_same_v<std::decay_t<A>, std::string>,
                                       std::string, std::decay_t<A>>;

template <class T>
class cell final : public cell_base {
 public:
  using factory = std::function<std::unique_ptr<T>()>;
  cell(system_core& sys, actor_id id, spawn_options opts, ref_ptr<cell_base> parent, factory f)
      : cell_base(sys, id, std::move(opts), std::move(parent)), factory_(std::move(f)) {}

  void* state() noexcept override { return state_.get(); }
  remote_handler find_remote_handler(std::uint64_t type_id) const noexcept override {
    if constexpr (remote_actor<T>) {
      return dispatch_table<T, typename T::messages>::find(type_id);
    } else {
      return nullptr;
    }
  }

 protected:
  void construct_state() override {
    constructing_scope scope(this);
    state_ = factory_();
  }
  void destroy_state() noexcept override { state_.reset(); }
  void call_on_start() override { state_->on_start(); }
  void call_on_stop() override { state_->on_stop(); }

 private:
  factory factory_;
  std::unique_ptr<T> state_;
};

}  // namespace detail

// The root of a herald program: worker threads, timers, the actors, their
// names. No global state: everything hangs off an actor_system. Safe for
// concurrent use.
//
// Shutdown (shutdown() or the destructor) is deterministic: new spawns fail
// with errc::system_shutdown; every actor stops after the message it is
// running, its on_stop() runs, and the mail still queued is not handled
// (tells become dead letters, asks fail with errc::system_shutdown); monitors
// get down{system_shutdown}; then the workers and the timer thread are joined.
// Nothing hangs: every pending ask has failed when shutdown() returns.
class actor_system {
 public:
  explicit actor_system(actor_system_config cfg = {});
  ~actor_system();
  actor_system(const actor_system&) = delete;
  actor_system& operator=(const actor_system&) = delete;

  // Starts an actor of type T, constructed from `args` (copied, so that a
  // restart can construct it again) on a worker before its first message.
  // The first argument is the options: `{}` (anonymous, default policy), a
  // herald::name, or a spawn_options. A non-empty name registers it for
  // lookup(); a name already in use fails with errc::invalid_argument. Called
  // inside a handler, the new actor's parent is the calling actor (escalation
  // goes there).
  template <class T, class... Args>
  result<actor_ref<T>> spawn(herald::name n, Args&&... args) {
    return spawn<T>(spawn_options{.name = std::move(n.value), .policy = {}}, std::forward<Args>(args)...);
  }
  // A string where the options go is refused at compile time: it used to be
  // taken for a name, which silently spawned a default-constructed T.
  template <class T, class S, class... Args>
    requires std::is_convertible_v<S, std::string_view>
  result<actor_ref<T>> spawn(S&&, Args&&...) {
    static_assert(detail::dependent_false<S>,
                  "herald: spawn<T>(string, ...): name an actor with herald::name(\"...\") or "
                  "spawn_options{.name = ...}; to pass a string to T's constructor, put {} (no options) before it");
    return error(errc::invalid_argument);
  }
  template <class T, class... Args>
  result<actor_ref<T>> spawn(spawn_options opts = {}, Args&&... args) {
    static_assert(std::is_base_of_v<actor<T>, T>, "herald: an actor type T must derive from herald::actor<T>");
    static_assert(std::is_constructible_v<T, std::decay_t<Args>&...>,
                  "herald: T cannot be constructed from the spawn() arguments");
    auto factory = [... captured = std::decay_t<Args>(std::forward<Args>(args))]() {
      return std::make_unique<T>(captured...);
    };
    auto c = make_cell<T>(std::move(opts), next_id(), std::move(factory));
    auto added = add(c, std::type_index(typeid(T)), detail::actor_type_id<T>());
    if (!added) return std::move(added).error();
    return actor_ref<T>(std::move(c));
  }

  // Remote spawn. Lets other nodes start actors of type T here
  // (spawn_on<T>), constructed from arguments of exactly the types Args...
  // (each with a codec; a string-like travels as std::string). T must be one
  // of the Exposed types of start_node. A remotely spawned actor has no
  // parent (it is supervised by its own policy) and its name registers
  // cluster-wide like any named actor's. invalid_argument if T is declared
  // twice.
  template <class T, class... Args>
  result<void> declare_spawnable() {
    static_assert(remote_actor<T>, "herald: declare_spawnable<T>: T must declare `using messages = herald::messages<...>`");
    static_assert(std::is_constructible_v<T, Args&...>, "herald: T cannot be constructed from Args...");
    static_assert((wire::has_codec<Args> && ...), "herald: declare_spawnable<T, Args...>: every argument type needs a codec");
    return add_spawnable(detail::actor_type_id<T>(), std::string(wire::wire_name_of<T>()),
                         [this](std::string name, std::string_view bytes) -> result<std::uint64_t> {
                           auto args = detail::decode_spawn_args<Args...>(bytes);
                           if (!args) {
                             return error(errc::decode_failed, "the constructor arguments of " +
                                                                   std::string(wire::wire_name_of<T>()) +
                                                                   " do not decode as its declared parameters: " +
                                                                   args.error().message());
                           }
                           auto factory = [captured = std::move(args->values)]() {
                             return std::apply([](const auto&... a) { return std::make_unique<T>(a...); }, captured);
                           };
                           spawn_options opts;
                           opts.name = std::move(name);
                           const actor_id id = next_id();
                           auto* c = new detail::cell<T>(*core_, id, std::move(opts), {}, std::move(factory));
                           auto cell = detail::ref_ptr<detail::cell_base>::adopt(c);
                           auto added = add(cell, std::type_index(typeid(T)), detail::actor_type_id<T>());
                           if (!added) return std::move(added).error();
                           return id;
                         });
  }

  // Starts an actor of type T on the cluster member `node` (a node id; this
  // node's own id spawns here), which must have declared T spawnable with
  // these argument types, and returns a ref once that node confirms. A
  // non-empty name registers cluster-wide. Blocks up to the timeout (5 s
  // unless given); not for use inside a handler. Errors: node_down (no link
  // to node), unknown_type (T not spawnable there), invalid_argument (the
  // name is taken in the cluster, or no start_node), decode_failed (the
  // arguments are not T's declared ones), timeout.
  struct spawn_on_options {
    std::uint64_t node = 0;
    std::string name;
    std::chrono::milliseconds timeout = std::chrono::seconds(5);
  };
  template <class T, class... Args>
  result<actor_ref<T>> spawn_on(std::uint64_t node, herald::name n, Args&&... args) {
    return spawn_on<T>(spawn_on_options{node, std::move(n.value), std::chrono::seconds(5)}, std::forward<Args>(args)...);
  }
  template <class T, class... Args>
  result<actor_ref<T>> spawn_on(spawn_on_options opts, Args&&... args) {
    static_assert(remote_actor<T>, "herald: spawn_on<T>: T must declare `using messages = herald::messages<...>`");
    static_assert((wire::has_codec<detail::spawn_arg_t<Args>> && ...),
                  "herald: spawn_on<T>: every constructor argument needs a codec to cross the wire");
    if (opts.node != 0 && opts.node == node_id()) {
      if constexpr (std::is_constructible_v<T, detail::spawn_arg_t<Args>&...>) {
        return spawn<T>(spawn_options{.name = std::move(opts.name), .policy = {}},
                        detail::spawn_arg_t<Args>(std::forward<Args>(args))...);
      } else {
        return error(errc::decode_failed, "spawn_on: these arguments do not construct the actor type");
      }
    }
    auto target = spawn_remote(opts.node, opts.name, detail::actor_type_id<T>(),
                               detail::encode_spawn_args<detail::spawn_arg_t<Args>...>(
                                   detail::spawn_arg_t<Args>(std::forward<Args>(args))...),
                               opts.timeout);
    if (!target) return std::move(target).error();
    return actor_ref<T>(std::move(*target));
  }
  // The actor types the node at `address` lets others spawn (herald-ctl
  // spawnable). Errors as members_at.
  result<std::vector<admin::spawnable_type>> spawnable_at(const std::string& address,
                                                          std::chrono::milliseconds timeout = std::chrono::seconds(5));

  // Joins a cluster: starts the transport (listeners, io threads, the
  // handshake) and the node actor. `Exposed` are the actor types other nodes
  // may reach: their `messages` (and reply types) make up the schema hash that
  // the handshake compares, so nodes with different interfaces refuse each
  // other. Errors: invalid_argument (config, secret, two message types with
  // one wire id), io_error (bind), system_shutdown.
  //
  // The node also joins the cluster through cluster.seeds (none: it starts a
  // cluster of its own that others join through it): membership, failure
  // detection, and the cluster-wide registry of named actors, which spawn()
  // and lookup() then use. docs/cluster.md has the timings and bounds.
  template <class... Exposed>
  result<void> start_node(runtime::node_config cfg, registry::cluster_config cluster = {}) {
    static_assert((remote_actor<Exposed> && ...), "herald: start_node<T...>: every T must declare `using messages = herald::messages<...>`");
    return start_with<Exposed...>(std::move(cfg), std::move(cluster), true);
  }

  // Like start_node, as a client of a cluster: the transport and the node
  // actor, without joining the membership, so that a tool (herald-ctl) comes
  // and goes without appearing among the members. `Exposed` must match the
  // cluster's nodes (the schema hash). remote_lookup() and the *_at()
  // introspection calls work; lookup() finds only this process's actors.
  template <class... Exposed>
  result<void> start_client(runtime::node_config cfg) {
    static_assert((remote_actor<Exposed> && ...), "herald: start_client<T...>: every T must declare `using messages = herald::messages<...>`");
    return start_with<Exposed...>(std::move(cfg), {}, false);
  }

  // Introspection of the node listening at `address` ("tcp://10.0.0.1:7001"),
  // answered by its node actor: its view of the cluster's members (itself
  // included), of the cluster-wide registry, and its counters. Dials the node
  // if needed; blocks up to `timeout`; not for use inside a handler. Errors:
  // invalid_argument (no start_node/start_client), timeout, node_down.
  result<std::vector<admin::member>> members_at(const std::string& address,
                                                std::chrono::milliseconds timeout = std::chrono::seconds(5));
  result<std::vector<admin::registry_entry>> registry_at(const std::string& address,
                                                         std::chrono::milliseconds timeout = std::chrono::seconds(5));
  result<std::vector<admin::counter>> metrics_at(const std::string& address,
                                                 std::chrono::milliseconds timeout = std::chrono::seconds(5));
  // The admin service's event stream: the membership and registry events
  // the node recorded after sequence number `after` (0: all it holds).
  result<admin::events> events_at(const std::string& address, std::uint64_t after,
                                  std::chrono::milliseconds timeout = std::chrono::seconds(5));
  // Per actor type: messages handled, mailbox depth, restarts, dead letters,
  // handler time (herald-ctl top computes rates from two of these).
  result<admin::actor_types> actor_types_at(const std::string& address,
                                            std::chrono::milliseconds timeout = std::chrono::seconds(5));
  // Where node_config::metrics_listen serves /metrics and the dashboard
  // ("127.0.0.1:9464", the real port when 0 was asked); empty without one.
  std::string http_address() const;

  // Events of the cluster-wide name registry: added, removed, moved (the name
  // now points elsewhere) and conflict_lost (a duplicate name lost the rule of
  // docs/cluster.md), for every name or for one. `fn` runs in order on the
  // thread that changed the registry (the cluster's thread, or the one that
  // spawned or stopped a local actor), outside the registry's locks: keep it
  // short and never block in it. errc::invalid_argument before start_node().
  using name_event = registry::registry_event;
  using watch_id = std::uint64_t;
  result<watch_id> watch_names(std::function<void(const name_event&)> fn);
  result<watch_id> watch_name(std::string name, std::function<void(const name_event&)> fn);
  void unwatch(watch_id id);
  // The names registered cluster-wide that start with `prefix`, sorted, from
  // this node's copy of the registry (no network round trip). Topic
  // subscriptions (names under the reserved "$topic/") are listed only for a
  // prefix that starts with "$topic/" (see name_matches_prefix).
  // errc::invalid_argument before start_node().
  result<std::vector<std::string>> names_with_prefix(std::string_view prefix) const;
  // Whether `name` belongs to the names under `prefix`: it starts with it,
  // and is not a topic subscription unless the prefix asks for those. What
  // names_with_prefix and router groups select by.
  static bool name_matches_prefix(std::string_view name, std::string_view prefix) noexcept {
    constexpr std::string_view subscriptions = "$topic/";
    if (name.substr(0, prefix.size()) != prefix) return false;
    return prefix.substr(0, subscriptions.size()) == subscriptions ||
           name.substr(0, subscriptions.size()) != subscriptions;
  }

  // Aliases: more names for a local actor, registered like its spawn name
  // (lookup() finds it under each, cluster-wide once start_node() has run)
  // and removed when it stops, by remove_alias(), or with its node.
  // Errors: invalid_argument (a remote or empty ref, an empty name, one in
  // use, one under the reserved "$topic/" prefix), actor_stopped,
  // limit_exceeded (the registry's bounds); remove_alias: not_found.
  template <class T>
  result<void> add_alias(const actor_ref<T>& ref, std::string name) {
    if (name.substr(0, detail::topic_prefix.size()) == detail::topic_prefix) {
      return error(errc::invalid_argument, "names under \"$topic/\" are reserved for subscriptions");
    }
    return add_alias_erased(ref.cell(), std::move(name), std::type_index(typeid(T)), detail::actor_type_id<T>());
  }
  template <class T>
  result<void> remove_alias(const actor_ref<T>& ref, std::string_view name) {
    if (name.substr(0, detail::topic_prefix.size()) == detail::topic_prefix) {
      return error(errc::invalid_argument, "names under \"$topic/\" are subscriptions: use unsubscribe()");
    }
    return remove_alias_erased(ref.cell(), name);
  }

  // Pub/sub (docs/actors.md, "Pub/sub"). subscribe() makes a local actor a
  // subscriber of `t`: a name of the cluster registry, so every node learns
  // of it by gossip, and it goes when the actor stops, on unsubscribe(), or
  // with its node. Subscribing twice is one subscription. The actor must
  // handle M and list it in its `messages`. Needs start_node(). Errors:
  // invalid_argument (no start_node, a remote ref or one of another system),
  // actor_stopped, limit_exceeded; unsubscribe: not_found.
  template <class M, class T>
  result<void> subscribe(const topic<M>& t, const actor_ref<T>& ref) {
    static_assert(remote_actor<T>, "herald: subscribe: the subscriber must declare `using messages = herald::messages<...>` "
                                   "(publishers on other nodes reach it)");
    static_assert(handles<T, M>, "herald: subscribe: the subscriber has no handler `on(const M&)` for the topic's message type");
    static_assert(detail::in_interface<T, M>(), "herald: subscribe: the topic's message type is not in the subscriber's messages");
    return subscribe_erased(t.key(), ref.cell(), std::type_index(typeid(T)), detail::actor_type_id<T>(),
                            &detail::tell_ops<T, M>::ops);
  }
  template <class M, class T>
  result<void> unsubscribe(const topic<M>& t, const actor_ref<T>& ref) {
    return unsubscribe_erased(t.key(), ref.cell());
  }
  // Tells m to every subscriber of `t` that this node's copy of the registry
  // holds, local or remote, once each, in turn: from one thread (or actor)
  // a subscriber handles the publishes in publish order. A send refused at
  // once (node_down, backpressure, mailbox_full) is counted in the report,
  // not retried; remote delivery is at most once, as for any tell.
  // invalid_argument before start_node().
  template <class M>
  result<publish_report> publish(const topic<M>& t, const M& m) {
    static_assert(wire::has_codec<M>, "herald: publish: the topic's message type needs a wire codec");
    return publish_erased(t.key(), [&m](const detail::topic_member& s) -> result<void> {
      if (s.cell) {
        detail::envelope e;
        e.emplace_message<M>(m);
        e.ops = s.ops;
        return s.cell->offer(std::move(e));
      }
      return detail::remote_tell(*s.remote, m);
    });
  }
  // The subscribers of `t` as this node sees them now (what a publish here
  // would reach), sorted. invalid_argument before start_node().
  template <class M>
  result<std::vector<topic_subscriber>> subscribers(const topic<M>& t) {
    return subscribers_erased(t.key());
  }

  // The node's id and its bound listen addresses (empty before start_node).
  std::uint64_t node_id() const noexcept;
  std::vector<std::string> listen_addresses() const;

  // A ref to the actor named `name` on the node listening at `address`
  // ("tcp://127.0.0.1:7000"), dialling it if needed. Blocks up to `timeout`;
  // not for use inside a handler. A link lost or replaced while the lookup
  // waits for its answer is retried over the next one within the timeout.
  // Errors: timeout (no connection), not_found, type_mismatch, node_down.
  template <class T>
  result<actor_ref<T>> remote_lookup(const std::string& address, const std::string& name,
                                     std::chrono::milliseconds timeout = std::chrono::seconds(5)) {
    static_assert(remote_actor<T>, "herald: remote_lookup<T>: T must declare `using messages = herald::messages<...>`");
    auto target = resolve_remote(address, name, detail::actor_type_id<T>(), timeout);
    if (!target) return std::move(target).error();
    return actor_ref<T>(std::move(*target));
  }

  // Finds a named actor: one of this process first, then, for an actor type
  // with a remote interface, one anywhere in the cluster (from the local copy
  // of the cluster registry: no network round trip). errc::not_found if no
  // actor has that name; errc::type_mismatch if it is not a T.
  template <class T>
  result<actor_ref<T>> lookup(std::string_view name) const {
    auto c = find(name, std::type_index(typeid(T)));
    if (c) return actor_ref<T>(std::move(*c));
    if constexpr (remote_actor<T>) {
      if (c.error().code() == errc::not_found) {
        auto r = find_in_cluster(name, detail::actor_type_id<T>());
        if (!r) return std::move(r).error();
        return actor_ref<T>(std::move(*r));
      }
    }
    return std::move(c).error();
  }

  // Stops the actor (as if it called stop() itself). Idempotent.
  template <class T>
  void stop(const actor_ref<T>& ref) {
    if (ref) ref.cell()->request_stop(error(errc::actor_stopped, "stopped by actor_system::stop"));
  }

  // For main: blocks until every actor spawned on this system has stopped
  // (each called stop(), was stopped, or failed for good); the node actor of
  // start_node() does not count. The timed form gives up after `timeout` and
  // says whether they all had. Called on a worker (inside a handler) it could
  // only deadlock, so it returns at once (false). It does not stop anything
  // and does not shut the system down.
  void await_all_stopped();
  [[nodiscard]] bool await_all_stopped(std::chrono::nanoseconds timeout);

  // Stops every actor and joins the threads; see the class comment. Idempotent.
  void shutdown();

  system_metrics metrics() const;
  const actor_system_config& config() const noexcept;

 private:
  template <class... Exposed>
  result<void> start_with(runtime::node_config cfg, registry::cluster_config cluster, bool join) {
    wire::type_registry types;
    result<void> ok;
    auto add_type = [&]<class M>() {
      if (ok) ok = types.add<M>();
    };
    (detail::interface_types<Exposed, typename Exposed::messages>::each(add_type), ...);
    (void)add_type;  // unused when Exposed is empty (a client that hosts no actors)
    if (!ok) return ok;
    return start_network(std::move(cfg), std::move(cluster), types, join);
  }
  template <class T, class F>
  detail::ref_ptr<detail::cell_base> make_cell(spawn_options opts, actor_id id, F factory) {
    auto* c = new detail::cell<T>(*core_, id, std::move(opts), current_parent(), std::move(factory));
    return detail::ref_ptr<detail::cell_base>::adopt(c);
  }
  actor_id next_id() noexcept;
  detail::ref_ptr<detail::cell_base> current_parent() const noexcept;
  result<void> add(const detail::ref_ptr<detail::cell_base>& c, std::type_index type, std::uint64_t wire_type);
  result<void> start_network(runtime::node_config cfg, registry::cluster_config cluster, wire::type_registry& types,
                             bool join);
  result<std::shared_ptr<const detail::remote_target>> find_in_cluster(std::string_view name, std::uint64_t wire_type) const;
  result<std::shared_ptr<const detail::remote_target>> resolve_remote(const std::string& address, const std::string& name,
                                                                      std::uint64_t wire_type,
                                                                      std::chrono::milliseconds timeout);
  result<detail::ref_ptr<detail::cell_base>> find(std::string_view name, std::type_index type) const;
  result<void> add_spawnable(std::uint64_t type, std::string wire_name,
                             std::function<result<std::uint64_t>(std::string, std::string_view)> factory);
  result<void> add_alias_erased(const detail::ref_ptr<detail::cell_base>& c, std::string name, std::type_index type,
                                std::uint64_t wire_type);
  result<void> remove_alias_erased(const detail::ref_ptr<detail::cell_base>& c, std::string_view name);
  result<void> subscribe_erased(const std::string& key, const detail::ref_ptr<detail::cell_base>& c, std::type_index type,
                                std::uint64_t wire_type, const detail::envelope_ops* ops);
  result<void> unsubscribe_erased(const std::string& key, const detail::ref_ptr<detail::cell_base>& c);
  result<publish_report> publish_erased(const std::string& key,
                                        const std::function<result<void>(const detail::topic_member&)>& send);
  result<std::vector<topic_subscriber>> subscribers_erased(const std::string& key);
  result<std::shared_ptr<const detail::remote_target>> spawn_remote(std::uint64_t node, const std::string& name,
                                                                    std::uint64_t wire_type, std::string args,
                                                                    std::chrono::milliseconds timeout);

  std::unique_ptr<detail::system_core> core_;
};

}  // namespace herald
