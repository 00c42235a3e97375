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

namespace {
thread_local window_batch* window_batch_of_thread = nullptr;
}

window_batch::window_batch() noexcept : outer_(window_batch_of_thread) { window_batch_of_thread = this; }

window_batch::~window_batch() {
  flush();
  window_batch_of_thread = outer_;
}

void window_batch::flush() noexcept {
  if (conn_ == nullptr) return;
  runtime::connection* c = std::exchange(conn_, nullptr);
  c->consumed_frames(bytes_, frames_);  // may be c's last use
  bytes_ = 0;
  frames_ = 0;
}

void window_batch::give_back(runtime::connection* from, const wire::frame_header& h) noexcept {
  window_batch* b = window_batch_of_thread;
  const bool small = (h.kind == wire::frame_kind::tell || h.kind == wire::frame_kind::ask) &&
                     (h.flags & wire::frame_flags::fragmented) == 0;
  if (b == nullptr || !small) return from->consumed(h);
  if (b->conn_ != from) {
    b->flush();
    b->limit_ = from->consume_batch_bytes();
    b->conn_ = from;
  }
  b->bytes_ += wire::frame_size(h.payload_length);
  ++b->frames_;
  if (b->bytes_ >= b->limit_) b->flush();
}

bool on_io_thread() noexcept { return runtime::detail::on_io_thread(); }

void emplace_remote_call(envelope& e, runtime::inbound_frame&& frame, runtime::connection* from) noexcept {
  e.emplace_message<remote_call>(std::move(frame), from);
  e.ops = &remote_ops::ops;
}

void emplace_remote_call(envelope& e, const wire::frame_header& h, std::span<const std::byte> payload,
                         runtime::buffer_pool& pool, runtime::connection* from) noexcept {
  // A payload within the frame's inline capacity: nothing here allocates.
  e.emplace_message<remote_call>(h, payload, pool, from);
  e.ops = &remote_ops::ops;
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
  if (core_->joined()) out.members = net_->member_rows();  // a client's cluster layer does not run
  return out;
}

registry_reply node_actor::on(const registry_request&) {
  registry_reply out;
  out.entries = net_->registry_rows();
  return out;
}

std::vector<member_row> network::member_rows() {
  auto rows = cluster().call([](registry::cluster_node& n) {
    std::vector<member_row> v;
    auto add = [&](const registry::member_info& m) {
      v.push_back(member_row{m.key.node, m.key.incarnation, m.name, m.address, std::string(registry::to_string(m.status))});
    };
    add(n.members().self());
    for (const auto& [id, m] : n.members().others()) add(m);
    return v;
  });
  std::sort(rows.begin(), rows.end(), [](const member_row& a, const member_row& b) { return a.name < b.name; });
  return rows;
}

std::vector<registry_row> network::registry_rows() {
  std::vector<registry_row> out;
  for (auto& [name, e] : cluster().registry().snapshot()) {
    out.push_back(registry_row{name, e.owner.node, e.owner.incarnation, e.actor, e.actor_type});
  }
  std::sort(out.begin(), out.end(), [](const registry_row& a, const registry_row& b) { return a.name < b.name; });
  return out;
}

metrics_reply node_actor::on(const metrics_request&) {
  auto m = core_->metrics();
  metrics_reply out;
  out.counters.reserve(std::size(system_metric_fields));
  for (const auto& f : system_metric_fields) out.counters.push_back(counter_row{std::string(f.key), m.*f.member});
  return out;
}

events_reply node_actor::on(const events_request& r) { return net_->events().since(r.after); }

actor_types_reply node_actor::on(const actor_types_request&) {
  actor_types_reply out;
  out.at_ns = static_cast<std::uint64_t>(std::chrono::duration_cast<std::chrono::nanoseconds>(
                                             std::chrono::steady_clock::now().time_since_epoch())
                                             .count());
  for (auto& t : core_->type_snapshots()) {
    out.types.push_back(actor_type_row{std::move(t.name), t.alive, t.handled, t.mailbox_depth, t.restarts,
                                       t.dead_letters, t.handler_time.sum_ns});
  }
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
