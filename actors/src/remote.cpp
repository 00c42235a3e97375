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
