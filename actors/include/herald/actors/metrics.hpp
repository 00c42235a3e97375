#pragma once

#include <cstdint>

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
  std::uint64_t name_conflicts_lost = 0;  // names of this node that lost the duplicate rule
  std::uint64_t members_lost = 0;         // members declared down or left
};

}  // namespace herald
