#pragma once

#include <cstdint>
#include <iterator>
#include <string_view>

namespace herald {

// A snapshot of an actor_system's counters (monotonic unless noted).
struct system_metrics {
  std::uint64_t actors_spawned = 0;
  std::uint64_t actors_stopped = 0;
  std::uint64_t actors_alive = 0;     // a level, not a counter
  std::uint64_t dead_letters = 0;
  std::uint64_t handler_failures = 0;
  std::uint64_t restarts = 0;
  std::uint64_t escalations = 0;
  std::uint64_t asks_timed_out = 0;
  std::uint64_t activations = 0;      // times a worker picked up an actor with mail
  // Activations of non_blocking actors run on the io thread that read their
  // messages (spawn_options::non_blocking), not counted in activations.
  std::uint64_t io_thread_activations = 0;
  std::uint64_t quorum_late_replies = 0;  // replies that came after their quorum ask had decided (dropped)
  // Bounded mailboxes (actor_system_config::mailbox, spawn_options::mailbox):
  // local sends refused with errc::mailbox_full, and sends that waited for
  // room under when_full::block (admitted or not).
  std::uint64_t mailbox_full = 0;
  std::uint64_t mailbox_waits = 0;

  // Across nodes (zero without start_node). Connection counters are summed
  // over every link this node has had: the open ones, and the final counts
  // of closed ones (kept per peer), so they never go back on a reconnect.
  std::uint64_t connections = 0;      // a level
  std::uint64_t links_closed = 0;     // links lost or closed (one replaced by a newer link is not counted)
  std::uint64_t frames_sent = 0;
  std::uint64_t bytes_sent = 0;
  std::uint64_t writev_calls = 0;     // frames_sent / writev_calls: frames per vectored write
  std::uint64_t frames_received = 0;
  std::uint64_t bytes_received = 0;
  std::uint64_t backpressure_events = 0;
  std::uint64_t late_replies = 0;     // replies dropped: their ask had timed out
  std::uint64_t asks_in_flight = 0;   // a level: remote asks waiting for their reply, over the open links
  std::uint64_t remote_asks_timed_out = 0;
  std::uint64_t remote_asks_failed_node_down = 0;
  std::uint64_t frames_to_missing_actors = 0;
  std::uint64_t remote_decode_failures = 0;
  std::uint64_t remote_unknown_types = 0;
  std::uint64_t remote_reply_failures = 0;
  // Transport, since the node started (node::transport_counters()).
  std::uint64_t dials_failed = 0;           // failed dial attempts, all causes
  std::uint64_t dials_timed_out = 0;        // attempts not connected within connect_timeout
  std::uint64_t resolves_failed = 0;        // host names that did not resolve
  std::uint64_t tls_handshakes_failed = 0;  // TLS peers refused or refusing (certificate, no TLS)
  // Admission: what the node refused or dropped, by reason, since it started
  // (runtime::admission_stats; these outlive the connections).
  std::uint64_t handshaking = 0;                 // a level: connections in the handshake
  std::uint64_t rejected_auth_failed = 0;
  std::uint64_t rejected_handshake_timeout = 0;
  std::uint64_t rejected_version_mismatch = 0;
  std::uint64_t rejected_schema_mismatch = 0;
  std::uint64_t rejected_duplicate_link = 0;
  std::uint64_t rejected_handshake_failed = 0;
  std::uint64_t rejected_by_peer = 0;            // the peer refused this node (close frame)
  std::uint64_t rejected_frame_errors = 0;
  std::uint64_t rejected_pending_cap = 0;
  std::uint64_t rejected_per_source_cap = 0;
  std::uint64_t rejected_closed_link_backlog = 0;
  std::uint64_t rejected_connection_cap = 0;
  std::uint64_t accept_errors = 0;
  // Over the node's lifetime, closed links included: tells and asks whose
  // send returned ok that a lost link discarded unsent (a deliberate close
  // drains instead).
  std::uint64_t frames_dropped_unsent = 0;
  // Flow control (wire/PROTOCOL.md §6.2), summed over links like the
  // connection counters: times a writer held a tell or ask for want of the
  // peer's window, and links closed because a peer sent beyond the window
  // this node granted.
  std::uint64_t credit_stalls = 0;
  std::uint64_t credit_violations = 0;
  // Cluster.
  std::uint64_t registry_names = 0;       // a level: names known cluster-wide
  std::uint64_t registry_deltas_applied = 0;  // registry changes learned from other nodes and applied
  std::uint64_t name_conflicts_lost = 0;  // names of this node that lost the duplicate rule
  std::uint64_t members_lost = 0;         // members declared down or left
  // Pub/sub (actor_system::publish): publishes made on this node, the
  // sends to subscribers they made and accepted, and those refused at once
  // (node_down, backpressure, mailbox_full; each publish reports its own).
  std::uint64_t topic_publishes = 0;
  std::uint64_t topic_deliveries = 0;
  std::uint64_t topic_deliveries_refused = 0;
};

enum class metric_kind { counter, gauge };

// One row of the table of system_metrics: what every consumer of the
// snapshot uses (admin replies, herald-ctl, the Prometheus exporter), so a
// counter is named and described in one place. `key` is its name in admin
// replies; `family` its Prometheus metric family (base units, `_total` on
// counters), and `reason` the value of the family's `reason` label when
// several rows share one family (empty otherwise). Rows of one family are
// adjacent; `help` is set on the first of them.
struct metric_field {
  std::string_view key;
  std::string_view family;
  std::string_view reason;
  metric_kind kind;
  std::uint64_t system_metrics::*member;
  std::string_view help;
};

inline constexpr metric_field system_metric_fields[] = {
    {"actors_spawned", "herald_actors_spawned_total", "", metric_kind::counter, &system_metrics::actors_spawned, "Actors spawned."},
    {"actors_stopped", "herald_actors_stopped_total", "", metric_kind::counter, &system_metrics::actors_stopped, "Actors stopped."},
    {"actors_alive", "herald_actors_alive", "", metric_kind::gauge, &system_metrics::actors_alive, "Actors spawned and not yet stopped."},
    {"dead_letters", "herald_dead_letters_total", "", metric_kind::counter, &system_metrics::dead_letters, "Messages that reached no running actor."},
    {"handler_failures", "herald_handler_failures_total", "", metric_kind::counter, &system_metrics::handler_failures, "Handlers that threw."},
    {"restarts", "herald_restarts_total", "", metric_kind::counter, &system_metrics::restarts, "Actors restarted by their supervision policy."},
    {"escalations", "herald_escalations_total", "", metric_kind::counter, &system_metrics::escalations, "Failures escalated past the root."},
    {"asks_timed_out", "herald_asks_timed_out_total", "", metric_kind::counter, &system_metrics::asks_timed_out, "Local asks that hit their deadline."},
    {"activations", "herald_activations_total", "", metric_kind::counter, &system_metrics::activations, "Times a worker picked up an actor with mail."},
    {"io_thread_activations", "herald_io_thread_activations_total", "", metric_kind::counter, &system_metrics::io_thread_activations, "Activations of non_blocking actors run on the io thread that read their messages."},
    {"quorum_late_replies", "herald_quorum_late_replies_total", "", metric_kind::counter, &system_metrics::quorum_late_replies, "Replies that came after their quorum ask had decided (dropped)."},
    {"mailbox_full", "herald_mailbox_full_total", "", metric_kind::counter, &system_metrics::mailbox_full, "Local sends refused because the target's bounded mailbox was full."},
    {"mailbox_waits", "herald_mailbox_waits_total", "", metric_kind::counter, &system_metrics::mailbox_waits, "Local sends that waited for room in a bounded mailbox (when_full::block)."},
    {"connections", "herald_links", "", metric_kind::gauge, &system_metrics::connections, "Links open now."},
    {"links_closed", "herald_links_closed_total", "", metric_kind::counter, &system_metrics::links_closed, "Links lost or closed (a link replaced by a newer one is not counted)."},
    {"frames_sent", "herald_frames_sent_total", "", metric_kind::counter, &system_metrics::frames_sent, "Frames written, over every link."},
    {"bytes_sent", "herald_sent_bytes_total", "", metric_kind::counter, &system_metrics::bytes_sent, "Bytes written, over every link."},
    {"writev_calls", "herald_writev_calls_total", "", metric_kind::counter, &system_metrics::writev_calls, "Vectored writes, over every link."},
    {"frames_received", "herald_frames_received_total", "", metric_kind::counter, &system_metrics::frames_received, "Frames read, over every link."},
    {"bytes_received", "herald_received_bytes_total", "", metric_kind::counter, &system_metrics::bytes_received, "Bytes read, over every link."},
    {"backpressure_events", "herald_backpressure_events_total", "", metric_kind::counter, &system_metrics::backpressure_events, "Sends that found a link's ring full."},
    {"late_replies", "herald_late_replies_total", "", metric_kind::counter, &system_metrics::late_replies, "Replies dropped because their ask had timed out."},
    {"asks_in_flight", "herald_asks_in_flight", "", metric_kind::gauge, &system_metrics::asks_in_flight, "Remote asks that wait for a reply, over every open link."},
    {"remote_asks_timed_out", "herald_remote_asks_timed_out_total", "", metric_kind::counter, &system_metrics::remote_asks_timed_out, "Remote asks that hit their deadline."},
    {"remote_asks_failed_node_down", "herald_remote_asks_failed_node_down_total", "", metric_kind::counter, &system_metrics::remote_asks_failed_node_down, "Remote asks failed because their link was lost."},
    {"frames_to_missing_actors", "herald_frames_to_missing_actors_total", "", metric_kind::counter, &system_metrics::frames_to_missing_actors, "Frames for an actor id not running here."},
    {"remote_decode_failures", "herald_remote_decode_failures_total", "", metric_kind::counter, &system_metrics::remote_decode_failures, "Remote messages whose payload did not decode."},
    {"remote_unknown_types", "herald_remote_unknown_types_total", "", metric_kind::counter, &system_metrics::remote_unknown_types, "Remote messages of a type their actor does not handle."},
    {"remote_reply_failures", "herald_remote_reply_failures_total", "", metric_kind::counter, &system_metrics::remote_reply_failures, "Replies to remote asks that could not be sent."},
    {"dials_failed", "herald_dials_failed_total", "", metric_kind::counter, &system_metrics::dials_failed, "Failed dial attempts, all causes."},
    {"dials_timed_out", "herald_dials_timed_out_total", "", metric_kind::counter, &system_metrics::dials_timed_out, "Dial attempts not connected within connect_timeout."},
    {"resolves_failed", "herald_resolves_failed_total", "", metric_kind::counter, &system_metrics::resolves_failed, "Host names that did not resolve."},
    {"tls_handshakes_failed", "herald_tls_handshakes_failed_total", "", metric_kind::counter, &system_metrics::tls_handshakes_failed, "TLS handshakes refused or refusing."},
    {"handshaking", "herald_handshakes_in_progress", "", metric_kind::gauge, &system_metrics::handshaking, "Connections in the handshake now."},
    {"rejected_auth_failed", "herald_connections_rejected_total", "auth_failed", metric_kind::counter, &system_metrics::rejected_auth_failed, "Connections refused or dropped, by reason."},
    {"rejected_handshake_timeout", "herald_connections_rejected_total", "handshake_timeout", metric_kind::counter, &system_metrics::rejected_handshake_timeout, ""},
    {"rejected_version_mismatch", "herald_connections_rejected_total", "version_mismatch", metric_kind::counter, &system_metrics::rejected_version_mismatch, ""},
    {"rejected_schema_mismatch", "herald_connections_rejected_total", "schema_mismatch", metric_kind::counter, &system_metrics::rejected_schema_mismatch, ""},
    {"rejected_duplicate_link", "herald_connections_rejected_total", "duplicate_link", metric_kind::counter, &system_metrics::rejected_duplicate_link, ""},
    {"rejected_handshake_failed", "herald_connections_rejected_total", "handshake_failed", metric_kind::counter, &system_metrics::rejected_handshake_failed, ""},
    {"rejected_by_peer", "herald_connections_rejected_total", "refused_by_peer", metric_kind::counter, &system_metrics::rejected_by_peer, ""},
    {"rejected_frame_errors", "herald_connections_rejected_total", "frame_error", metric_kind::counter, &system_metrics::rejected_frame_errors, ""},
    {"rejected_pending_cap", "herald_connections_rejected_total", "pending_cap", metric_kind::counter, &system_metrics::rejected_pending_cap, ""},
    {"rejected_per_source_cap", "herald_connections_rejected_total", "per_source_cap", metric_kind::counter, &system_metrics::rejected_per_source_cap, ""},
    {"rejected_closed_link_backlog", "herald_connections_rejected_total", "closed_link_backlog", metric_kind::counter, &system_metrics::rejected_closed_link_backlog, ""},
    {"rejected_connection_cap", "herald_connections_rejected_total", "connection_cap", metric_kind::counter, &system_metrics::rejected_connection_cap, ""},
    {"accept_errors", "herald_accept_errors_total", "", metric_kind::counter, &system_metrics::accept_errors, "accept() calls that failed."},
    {"frames_dropped_unsent", "herald_frames_dropped_unsent_total", "", metric_kind::counter, &system_metrics::frames_dropped_unsent, "Frames accepted for sending that a lost link discarded."},
    {"credit_stalls", "herald_credit_stalls_total", "", metric_kind::counter, &system_metrics::credit_stalls, "Times a writer stopped at a data frame the peer's window did not admit (PROTOCOL.md 6.2)."},
    {"credit_violations", "herald_credit_violations_total", "", metric_kind::counter, &system_metrics::credit_violations, "Links closed because the peer sent beyond the window granted to it."},
    {"registry_names", "herald_registry_entries", "", metric_kind::gauge, &system_metrics::registry_names, "Names known cluster-wide."},
    {"registry_deltas_applied", "herald_registry_deltas_applied_total", "", metric_kind::counter, &system_metrics::registry_deltas_applied, "Registry changes learned from other nodes and applied."},
    {"name_conflicts_lost", "herald_name_conflicts_lost_total", "", metric_kind::counter, &system_metrics::name_conflicts_lost, "Names of this node that lost the duplicate rule."},
    {"members_lost", "herald_members_lost_total", "", metric_kind::counter, &system_metrics::members_lost, "Members declared down or left."},
    {"topic_publishes", "herald_topic_publishes_total", "", metric_kind::counter, &system_metrics::topic_publishes, "Messages published to a topic on this node."},
    {"topic_deliveries", "herald_topic_deliveries_total", "", metric_kind::counter, &system_metrics::topic_deliveries, "Sends to topic subscribers that were accepted (a mailbox, or a link's ring)."},
    {"topic_deliveries_refused", "herald_topic_deliveries_refused_total", "", metric_kind::counter, &system_metrics::topic_deliveries_refused, "Sends to topic subscribers refused at once (node_down, backpressure, mailbox_full)."},
};

// A member of system_metrics without a row here fails to compile.
static_assert(sizeof(system_metrics) == std::size(system_metric_fields) * sizeof(std::uint64_t),
              "every member of system_metrics has a row in system_metric_fields");

}  // namespace herald
