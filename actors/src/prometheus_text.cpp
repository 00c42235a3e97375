// The Prometheus text exposition format of a node's counters: the
// system_metrics table, then per link, per actor type, asks and membership.
#include <cstdio>
#include <string>
#include <string_view>
#include <vector>

#include "http_endpoint.hpp"
#include "network.hpp"
#include "system_core.hpp"

namespace herald::detail {
namespace {

// A label value with \, " and newline escaped, as the format requires.
std::string label_value(std::string_view v) {
  std::string out;
  out.reserve(v.size());
  for (char c : v) {
    if (c == '\\') out += "\\\\";
    else if (c == '"') out += "\\\"";
    else if (c == '\n') out += "\\n";
    else out += c;
  }
  return out;
}

class writer {
 public:
  explicit writer(std::string node) : node_label_("node=\"" + label_value(node) + "\"") {}

  void family(std::string_view name, std::string_view type, std::string_view help) {
    out_ += "# HELP ";
    out_ += name;
    out_ += ' ';
    out_ += help;
    out_ += "\n# TYPE ";
    out_ += name;
    out_ += ' ';
    out_ += type;
    out_ += '\n';
  }
  // labels: extra `k="v"` pairs, already escaped, comma separated.
  void sample(std::string_view name, const std::string& labels, double v) {
    char buf[64];
    std::snprintf(buf, sizeof buf, "%.17g", v);
    line(name, labels, buf);
  }
  void sample(std::string_view name, const std::string& labels, std::uint64_t v) {
    line(name, labels, std::to_string(v));
  }
  void histogram(std::string_view name, const std::string& labels, const runtime::latency_histogram::snapshot& h) {
    std::uint64_t cumulative = 0;
    const std::string sep = labels.empty() ? "" : labels + ",";
    std::string bucket_name = std::string(name) + "_bucket";
    for (std::size_t i = 0; i < runtime::latency_histogram::bucket_count; ++i) {
      cumulative += h.buckets[i];
      char le[32];
      std::snprintf(le, sizeof le, "%g", static_cast<double>(runtime::latency_histogram::bounds_ns[i]) / 1e9);
      line(bucket_name, sep + "le=\"" + le + "\"", std::to_string(cumulative));
    }
    cumulative += h.buckets.back();
    line(bucket_name, sep + "le=\"+Inf\"", std::to_string(cumulative));
    sample(std::string(name) + "_sum", labels, static_cast<double>(h.sum_ns) / 1e9);
    // _count equals the +Inf bucket, even while others record concurrently.
    line(std::string(name) + "_count", labels, std::to_string(cumulative));
  }
  std::string take() { return std::move(out_); }

 private:
  void line(std::string_view name, const std::string& labels, const std::string& value) {
    out_ += name;
    out_ += '{';
    out_ += node_label_;
    if (!labels.empty()) {
      out_ += ',';
      out_ += labels;
    }
    out_ += "} ";
    out_ += value;
    out_ += '\n';
  }

  std::string node_label_;
  std::string out_;
};

std::string peer_label(const runtime::peer_info& p) {
  return "peer=\"" + label_value(p.node_name) + "\",peer_id=\"" + std::to_string(p.node_id) + "\"";
}

}  // namespace

std::string prometheus_text(network& net) {
  writer w(net.node().name());
  const system_metrics m = net.core().metrics();
  for (std::size_t i = 0; i < std::size(system_metric_fields); ++i) {
    const auto& f = system_metric_fields[i];
    if (i == 0 || system_metric_fields[i - 1].family != f.family)
      w.family(f.family, f.kind == metric_kind::counter ? "counter" : "gauge", f.help);
    w.sample(f.family, f.reason.empty() ? std::string() : "reason=\"" + std::string(f.reason) + "\"", m.*f.member);
  }

  // Per link (open links only; the totals above include closed ones).
  struct link_row {
    std::string labels;
    runtime::connection_stats s;
  };
  std::vector<link_row> links;
  for (const auto& c : net.node().connections()) links.push_back({peer_label(c->peer()), c->stats()});
  auto per_link = [&](std::string_view name, std::string_view type, std::string_view help, auto get) {
    w.family(name, type, help);
    for (const auto& l : links) w.sample(name, l.labels, static_cast<std::uint64_t>(get(l.s)));
  };
  using cs = runtime::connection_stats;
  per_link("herald_link_frames_sent_total", "counter", "Frames written on the link.", [](const cs& s) { return s.frames_sent; });
  per_link("herald_link_sent_bytes_total", "counter", "Bytes written on the link.", [](const cs& s) { return s.bytes_sent; });
  per_link("herald_link_frames_received_total", "counter", "Frames read from the link.",
           [](const cs& s) { return s.frames_received; });
  per_link("herald_link_received_bytes_total", "counter", "Bytes read from the link.",
           [](const cs& s) { return s.bytes_received; });
  per_link("herald_link_writev_calls_total", "counter", "Vectored writes on the link.",
           [](const cs& s) { return s.writev_calls; });
  per_link("herald_link_backpressure_events_total", "counter", "Sends that found the link's ring full.",
           [](const cs& s) { return s.backpressure_events; });
  per_link("herald_link_ring_used_bytes", "gauge", "Bytes of the link's data ring not yet written.",
           [](const cs& s) { return s.ring_used; });
  per_link("herald_link_ring_capacity_bytes", "gauge", "Bytes of the link's data ring.",
           [](const cs& s) { return s.ring_capacity; });
  per_link("herald_link_asks_in_flight", "gauge", "Asks sent on the link that wait for a reply.",
           [](const cs& s) { return s.asks_pending; });
  per_link("herald_link_credit_stalls_total", "counter",
           "Times the link's writer stopped at a data frame the peer's window did not admit.",
           [](const cs& s) { return s.credit_stalls; });
  per_link("herald_link_send_window_bytes", "gauge", "Bytes of data frames the peer's window still admits.",
           [](const cs& s) { return s.send_window_bytes; });
  per_link("herald_link_send_window_asks", "gauge", "Asks the peer's window still admits.",
           [](const cs& s) { return s.send_window_asks; });
  per_link("herald_link_send_window_large_bytes", "gauge",
           "Bytes of large messages (message length + 4096 each) the peer's large window still admits.",
           [](const cs& s) { return s.send_window_large_bytes; });
  per_link("herald_link_large_messages_sent_total", "counter", "Messages sent on the link as fragments.",
           [](const cs& s) { return s.large_messages_sent; });
  per_link("herald_link_large_messages_received_total", "counter",
           "Fragmented messages received whole on the link.", [](const cs& s) { return s.large_messages_received; });
  per_link("herald_link_large_messages_lost_total", "counter",
           "Fragmented messages started on the link and lost with it, either direction.",
           [](const cs& s) { return s.large_messages_lost; });
  w.family("herald_link_frames_per_writev", "gauge", "Frames per vectored write on the link, since it opened.");
  for (const auto& l : links) w.sample("herald_link_frames_per_writev", l.labels, l.s.frames_per_writev());
  w.family("herald_link_ask_duration_seconds", "histogram", "Time from sending an ask on the link to its reply.");
  for (const auto& l : links) w.histogram("herald_link_ask_duration_seconds", l.labels, l.s.ask_latency);

  // Asks over every open link (herald_asks_in_flight is a system metric).
  runtime::latency_histogram::snapshot ask_latency;
  for (const auto& l : links) ask_latency += l.s.ask_latency;
  w.family("herald_ask_duration_seconds", "histogram", "Time from sending a remote ask to its reply, over every open link.");
  w.histogram("herald_ask_duration_seconds", "", ask_latency);

  // Per actor type.
  const auto types = net.core().type_snapshots();
  auto per_type = [&](std::string_view name, std::string_view type, std::string_view help, auto get) {
    w.family(name, type, help);
    for (const auto& t : types) w.sample(name, "actor_type=\"" + label_value(t.name) + "\"", static_cast<std::uint64_t>(get(t)));
  };
  per_type("herald_actor_messages_handled_total", "counter", "Messages handled by actors of the type.",
           [](const type_snapshot& t) { return t.handled; });
  per_type("herald_actor_mailbox_depth", "gauge", "Messages waiting in the mailboxes of the type's actors.",
           [](const type_snapshot& t) { return t.mailbox_depth; });
  per_type("herald_actor_mailbox_depth_max", "gauge", "Messages waiting in the fullest mailbox of the type.",
           [](const type_snapshot& t) { return t.mailbox_depth_max; });
  per_type("herald_actor_restarts_total", "counter", "Restarts of actors of the type.",
           [](const type_snapshot& t) { return t.restarts; });
  per_type("herald_actor_dead_letters_total", "counter", "Messages to stopped actors of the type.",
           [](const type_snapshot& t) { return t.dead_letters; });
  per_type("herald_actor_mailbox_full_total", "counter", "Local sends refused by a full mailbox of an actor of the type.",
           [](const type_snapshot& t) { return t.mailbox_full; });
  per_type("herald_actors", "gauge", "Live actors of the type.", [](const type_snapshot& t) { return t.alive; });
  w.family("herald_actor_handler_duration_seconds", "histogram",
           "Handler time per message (each activation's mean), by actor type.");
  for (const auto& t : types)
    w.histogram("herald_actor_handler_duration_seconds", "actor_type=\"" + label_value(t.name) + "\"", t.handler_time);

  // Membership.
  if (net.core().joined()) {
    const auto rows = net.member_rows();
    w.family("herald_members", "gauge", "Members by status, as this node sees them (itself included).");
    for (const char* status : {"up", "suspect", "down", "left"}) {
      std::uint64_t n = 0;
      for (const auto& r : rows) n += r.status == status ? 1 : 0;
      w.sample("herald_members", std::string("status=\"") + status + "\"", n);
    }
  }
  w.family("herald_membership_events_total", "counter",
           "Membership events seen: joined, suspect (suspicions), alive, down, left, refuted (refutations).");
  for (std::size_t k = 0; k < network::member_event_kinds; ++k) {
    const auto kind = static_cast<registry::member_event_kind>(k);
    w.sample("herald_membership_events_total", "event=\"" + std::string(registry::to_string(kind)) + "\"",
             net.member_events(kind));
  }
  return w.take();
}

}  // namespace herald::detail
