// The receive side of remote messages: the envelope that carries a frame
// into a mailbox, error replies, and the built-in node actor.
#include <flatbuffers/flatbuffers.h>

#include <algorithm>

#include "herald/actors/actor_system.hpp"
#include "herald/actors/detail/remote_call.hpp"
#include "herald/wire/control.hpp"
#include "network.hpp"
#include "node_actor.hpp"
#include "system_core.hpp"

namespace herald::detail {
namespace {

struct remote_ops {
  static remote_call& call(envelope& e) noexcept { return e.message<remote_call>(); }
  static void invoke(cell_base& c, envelope& e) {
    auto& rc = call(e);
    remote_handler fn = c.find_remote_handler(rc.frame.header.type_id);
    if (!fn) {
      if (auto* net = c.core().net()) net->count_unknown_type();
      if (rc.is_ask()) {
        send_error_reply(*rc.from, rc.request_id(),
                         error(errc::unknown_type, "actor " + std::to_string(c.id()) + " has no handler for type id " +
                                                       std::to_string(rc.frame.header.type_id)));
      }
      return;
    }
    fn(c, rc);
  }
  static void reject(cell_base& c, envelope& e, const error& why) noexcept {
    auto& rc = call(e);
    if (rc.is_ask()) {
      send_error_reply(*rc.from, rc.request_id(), why);
    } else {
      c.core().dead_letter(c, typeid(remote_call), why);
    }
  }
  static void fail_reply(envelope& e, const error& why) noexcept {
    auto& rc = call(e);
    if (rc.is_ask()) send_error_reply(*rc.from, rc.request_id(), why);
  }
  static void relocate(envelope& dst, envelope& src) noexcept { dst.relocate_message<remote_call>(src); }
  static void destroy(envelope& e) noexcept { e.destroy_message<remote_call>(); }
  static constexpr envelope_ops ops{&invoke, &reject, &fail_reply, &relocate, &destroy, &typeid(remote_call)};
};

static_assert(envelope::fits_inline<remote_call>, "a remote frame travels inside its envelope: no allocation per message");

actor_ref<node_actor> node_actor_at(network& net, std::uint64_t node) {
  return actor_ref<node_actor>(std::make_shared<const remote_target>(remote_target{net.slot(node), node_actor_id}));
}

}  // namespace

bool on_io_thread() noexcept { return runtime::detail::on_io_thread(); }

envelope make_remote_envelope(remote_call&& rc) {
  envelope e;
  e.emplace_message<remote_call>(std::move(rc));
  e.ops = &remote_ops::ops;
  return e;
}

void send_error_reply(runtime::connection& conn, std::uint64_t request_id, const error& err) noexcept {
  try {
    flatbuffers::FlatBufferBuilder b(256);
    wire::build_error_reply(b, err);
    wire::frame_header h;
    h.kind = wire::frame_kind::error_reply;
    h.request_id = request_id;
    (void)conn.send_bytes(h, std::span<const std::byte>(reinterpret_cast<const std::byte*>(b.GetBufferPointer()), b.GetSize()));
  } catch (...) {
    // Out of memory building an error reply: the asker's deadline or the
    // connection's loss still ends its ask.
  }
}

void count_reply_failure(cell_base& cell, const error&) noexcept {
  if (auto* net = cell.core().net()) net->count_reply_failure();
}

void count_decode_failure(cell_base& cell, const error&) noexcept {
  if (auto* net = cell.core().net()) net->count_decode_failure();
}

resolve_reply node_actor::on(const resolve_request& r) {
  auto id = core_->resolve(r.name, r.actor_type);
  if (!id) return resolve_reply{0, static_cast<std::uint16_t>(id.error().code()), id.error().context()};
  return resolve_reply{*id, 0, {}};
}

void node_actor::on(const monitor_request& r) {
  auto target = core_->find(r.actor_id);
  if (!target || target->stopped()) {
    notify(r.requester_node, r.actor_id, error(errc::actor_stopped, "actor " + std::to_string(r.actor_id) + " is not running"));
    return;
  }
  auto& nodes = watched_by_[r.actor_id];
  if (std::find(nodes.begin(), nodes.end(), r.requester_node) != nodes.end()) return;
  bool first = nodes.empty();
  nodes.push_back(r.requester_node);
  if (first) target->add_monitor(self().cell(), &deliver_down<node_actor>);
}

void node_actor::on(const down& d) {
  auto it = watched_by_.find(d.who);
  if (it == watched_by_.end()) return;
  for (auto node : it->second) notify(node, d.who, d.reason);
  watched_by_.erase(it);
}

void node_actor::on(const remote_down_notice& n) {
  net_->deliver_down(n.node, n.actor_id, error(static_cast<errc>(n.code), n.context));
}

members_reply node_actor::on(const members_request&) {
  members_reply out;
  if (!core_->joined()) return out;  // a client's cluster layer does not run
  auto rows = net_->cluster().call([](registry::cluster_node& n) {
    std::vector<member_row> v;
    auto add = [&](const registry::member_info& m) {
      v.push_back(member_row{m.key.node, m.key.incarnation, m.name, m.address, std::string(registry::to_string(m.status))});
    };
    add(n.members().self());
    for (const auto& [id, m] : n.members().others()) add(m);
    return v;
  });
  std::sort(rows.begin(), rows.end(), [](const member_row& a, const member_row& b) { return a.name < b.name; });
  out.members = std::move(rows);
  return out;
}

registry_reply node_actor::on(const registry_request&) {
  registry_reply out;
  for (auto& [name, e] : net_->cluster().registry().snapshot()) {
    out.entries.push_back(registry_row{name, e.owner.node, e.owner.incarnation, e.actor, e.actor_type});
  }
  std::sort(out.entries.begin(), out.entries.end(), [](const registry_row& a, const registry_row& b) { return a.name < b.name; });
  return out;
}

metrics_reply node_actor::on(const metrics_request&) {
  auto m = core_->metrics();
  metrics_reply out;
  auto add = [&](const char* name, std::uint64_t v) { out.counters.push_back(counter_row{name, v}); };
  add("actors_spawned", m.actors_spawned);
  add("actors_stopped", m.actors_stopped);
  add("actors_alive", m.actors_alive);
  add("dead_letters", m.dead_letters);
  add("handler_failures", m.handler_failures);
  add("restarts", m.restarts);
  add("escalations", m.escalations);
  add("asks_timed_out", m.asks_timed_out);
  add("activations", m.activations);
  add("connections", m.connections);
  add("links_closed", m.links_closed);
  add("frames_sent", m.frames_sent);
  add("bytes_sent", m.bytes_sent);
  add("writev_calls", m.writev_calls);
  add("frames_received", m.frames_received);
  add("bytes_received", m.bytes_received);
  add("backpressure_events", m.backpressure_events);
  add("late_replies", m.late_replies);
  add("remote_asks_timed_out", m.remote_asks_timed_out);
  add("remote_asks_failed_node_down", m.remote_asks_failed_node_down);
  add("frames_to_missing_actors", m.frames_to_missing_actors);
  add("remote_decode_failures", m.remote_decode_failures);
  add("remote_unknown_types", m.remote_unknown_types);
  add("remote_reply_failures", m.remote_reply_failures);
  add("dials_failed", m.dials_failed);
  add("dials_timed_out", m.dials_timed_out);
  add("resolves_failed", m.resolves_failed);
  add("tls_handshakes_failed", m.tls_handshakes_failed);
  add("handshaking", m.handshaking);
  add("rejected_auth_failed", m.rejected_auth_failed);
  add("rejected_handshake_timeout", m.rejected_handshake_timeout);
  add("rejected_version_mismatch", m.rejected_version_mismatch);
  add("rejected_schema_mismatch", m.rejected_schema_mismatch);
  add("rejected_duplicate_link", m.rejected_duplicate_link);
  add("rejected_handshake_failed", m.rejected_handshake_failed);
  add("rejected_by_peer", m.rejected_by_peer);
  add("rejected_frame_errors", m.rejected_frame_errors);
  add("rejected_pending_cap", m.rejected_pending_cap);
  add("rejected_per_source_cap", m.rejected_per_source_cap);
  add("rejected_connection_cap", m.rejected_connection_cap);
  add("accept_errors", m.accept_errors);
  add("frames_dropped_unsent", m.frames_dropped_unsent);
  add("credit_stalls", m.credit_stalls);
  add("credit_violations", m.credit_violations);
  add("registry_names", m.registry_names);
  add("name_conflicts_lost", m.name_conflicts_lost);
  add("members_lost", m.members_lost);
  return out;
}

void node_actor::notify(std::uint64_t node, actor_id who, const error& reason) {
  (void)node_actor_at(*net_, node).tell(
      remote_down_notice{who, net_->node_id(), static_cast<std::uint16_t>(reason.code()), reason.context()});
}

void network::monitor(const remote_target& target, ref_ptr<cell_base> watcher, cell_base::down_fn deliver) {
  const auto node = target.peer->node_id;
  {
    std::lock_guard lock(mutex_);
    watchers_[{node, target.id}].emplace_back(std::move(watcher), deliver);
  }
  if (!target.peer->live()) {
    deliver_down(node, target.id, error(errc::node_down, "node " + std::to_string(node) + " is not connected"));
    return;
  }
  (void)node_actor_at(*this, node).tell(monitor_request{target.id, node_id_});
}

}  // namespace herald::detail

namespace herald::detail {

void monitor_remote(const remote_target& target, cell_base& watcher, cell_base::down_fn deliver) {
  target.peer->net->monitor(target, ref_ptr<cell_base>(&watcher), deliver);
}

}  // namespace herald::detail
