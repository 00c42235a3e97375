#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "herald/result.hpp"

namespace herald::runtime {

class inproc_network;
class connection;

// What a sender sees when its connection's ring is full.
enum class backpressure_policy {
  block,  // wait for space up to node_config::backpressure_timeout, then errc::backpressure
  fail,   // errc::backpressure at once
};

// Where the shared cluster secret comes from, in this order: value, the
// contents of file (one trailing newline stripped), the environment variable.
struct secret_source {
  std::string value;
  std::string file;
  std::string env_var = "HERALD_SECRET";
};

// Loads the secret; invalid_argument when none of the sources has one.
result<std::string> load_secret(const secret_source& source);

enum class log_level { debug, info, warn, error };

// TLS for socket connections (tcp:// and unix://). Enabled, every socket
// connection runs a TLS 1.3 handshake with mutual certificate authentication
// before herald's own handshake, which then runs unchanged inside it. Both
// sides must present a certificate that chains to ca_file and names the node:
// a DNS subjectAltName equal to the node_name announced in its hello (for a
// certificate without DNS names, the subject CN). A peer without TLS, without
// a certificate, or with one from another CA, expired or naming another node,
// is refused. There is no mixed mode: a TLS node and a plaintext node refuse
// each other. inproc:// connections never use TLS.
struct tls_config {
  bool enabled = false;
  std::string ca_file;    // PEM: the cluster CA certificate(s) peers must chain to
  std::string cert_file;  // PEM: this node's certificate chain, its own first
  std::string key_file;   // PEM: the certificate's private key, unencrypted
};

// Everything a node needs to join a cluster. A value type.
struct node_config {
  // Identity. 0 for node_id picks a random one; 0 for incarnation uses the
  // start time in nanoseconds, so that a restarted node is a new member.
  std::uint64_t node_id = 0;
  std::uint64_t incarnation = 0;
  std::string node_name = "node";
  // "tcp://127.0.0.1:7000" (port 0 picks one), "unix:///run/herald.sock",
  // "inproc://name" (needs inproc). node::listen_addresses() has the bound ones.
  std::vector<std::string> listen;
  // Nodes whose message definitions differ refuse each other.
  std::uint64_t schema_hash = 0;
  // The schema hash of the admin service alone (PROTOCOL.md §4.3, §9): a
  // peer announcing it is an admin client (herald-ctl) and is admitted
  // whatever this node's own schema; 0 admits none.
  std::uint64_t admin_schema_hash = 0;
  // This node is an admin client: it announces admin_schema_hash and
  // accepts a peer of any schema hash.
  bool admin_client = false;
  // The protocol version announced in the handshake. Leave it: a different
  // value exists to test version refusal.
  std::uint16_t protocol_version = 4;
  secret_source secret;
  inproc_network* inproc = nullptr;
  tls_config tls;

  std::size_t io_threads = 1;
  std::size_t ring_capacity = 4u << 20;          // per connection, power of two
  std::size_t control_ring_capacity = 64u << 10;  // heartbeats, gossip, handshake
  std::size_t read_buffer_size = 256u << 10;      // per connection
  std::size_t large_payload_threshold = 64u << 10;  // larger payloads are sent from pooled buffers
  std::uint32_t max_frame_size = 16u << 20;
  std::size_t max_inflight_asks = 4096;  // per connection, power of two
  // Flow control (wire/PROTOCOL.md §6.2): the window this node grants each
  // peer for data frames (tell, ask) on one link. flow_window_bytes counts
  // wire bytes of frames whose handling has not finished here (in a mailbox
  // or running); 0 picks 2 * (max_frame_size + 32), so that the largest frame
  // always fits, and at least 1 MiB. flow_window_asks counts asks whose reply
  // has not been written back to the peer yet: a peer that does not read its
  // replies cannot make this node hold more than that many. A peer that sends
  // beyond its window breaks the protocol: the link is closed and counted
  // (connection_stats::credit_violations).
  std::size_t flow_window_bytes = 0;
  std::size_t flow_window_asks = 1024;
  // Large messages (wire/PROTOCOL.md §6.3). A tell, ask or reply whose
  // payload is above fragment_size travels as fragments of that size,
  // interleaved with the link's other frames (small ones never wait behind a
  // whole large message), and is delivered whole. max_message_size bounds
  // one message, sent or received: a send above it fails at once with
  // message_too_large and nothing is sent; a peer announcing more is a
  // protocol error (the link closes). Up to 1 GiB. flow_window_large_bytes is
  // the window of fragmented tells and asks this node grants each peer (each
  // takes message_length + 4096 bytes of it until its handler is done); 0
  // picks max_message_size + 4096, one largest message at a time. A cluster
  // uses one fragment_size no larger than max_frame_size - 16.
  std::size_t fragment_size = 64u << 10;
  std::size_t max_message_size = 64u << 20;
  std::size_t flow_window_large_bytes = 0;
  // Pacing of fragments: the bytes of fragment frames a peer may have on
  // the way to this node before this node has read them. It bounds what a
  // small frame queued behind fragments waits for in the sockets' buffers
  // (at ~2.5 GB/s, 512 KiB is about 0.2 ms); a link's large-message
  // bandwidth is at most this window per round trip, so raise it on links
  // with a long round trip. At least 2 * (fragment_size + 48).
  std::size_t fragment_window_bytes = 512u << 10;

  backpressure_policy backpressure = backpressure_policy::block;
  std::chrono::milliseconds backpressure_timeout{1000};
  std::chrono::milliseconds handshake_timeout{5000};
  // A dial not connected within connect_timeout is abandoned and redialled.
  // Redials back off from reconnect_min, doubling up to reconnect_max, each
  // delay jittered by +-20 %: kept low so that a healed link is back within
  // about connect_timeout + reconnect_max of the heal, not on the kernel's
  // SYN retransmission schedule.
  std::chrono::milliseconds connect_timeout{1000};
  // Admission: accepted connections still in the handshake, in all and per
  // source IP address (TCP). Over either, a new connection is closed at once,
  // before anything is allocated for it, and counted (node::admission()).
  std::size_t max_pending_handshakes = 128;
  std::size_t max_pending_per_source = 16;
  // Bound on what links that closed still cost: the tells and asks they
  // delivered that their actors have not handled yet (wire bytes plus 2 KiB
  // per message, connection::held_backlog). Each link's flow-control
  // window bounds it while the link is open; a peer that oversteps its window
  // and reconnects would add a window per link. While the closed links'
  // backlog is above this bound, new connections (accepted and dialled) are
  // refused at once and counted (node::admission().closed_link_backlog); the
  // backlog's messages are still delivered. Large messages (above
  // fragment_size) count apart, against one large window
  // (flow_window_large_bytes): a link replaced while its large message waits
  // for its handler does not shut the node's door. 0: no bound.
  std::size_t max_closed_link_backlog = 16u << 20;
  // Bound on a deliberate close (link replaced, member down, close frame from
  // the peer, shutdown): draining the rings and exchanging close frames.
  std::chrono::milliseconds drain_timeout{2000};
  std::chrono::milliseconds reconnect_min{100};
  std::chrono::milliseconds reconnect_max{1000};
  // Granularity of ask deadlines: pending asks are swept this often.
  std::chrono::milliseconds ask_sweep_interval{5};

  // Where the node reports what it refuses or loses. Called from io threads.
  // Empty: warnings and errors go to stderr.
  std::function<void(log_level, std::string_view)> log;
  // At most this many lines per second per cause reach `log` (or stderr);
  // the rest are counted and the next line of that cause says how many were
  // suppressed (runtime::log_limiter). 0: no limit.
  std::size_t log_lines_per_second = 5;

  // Called on the io thread of a link just established and registered (it
  // is connection_to(peer) now, unless replaced meanwhile), before the sink
  // hears on_peer_up: an observer of links coming up. Empty: nothing.
  std::function<void(const std::shared_ptr<connection>&)> on_link_up;

  // "HOST:PORT" (port 0 picks one): serve Prometheus metrics at /metrics
  // and the live dashboard at / over HTTP, on a thread of its own. Empty: no
  // listener. The actors layer starts it (actor_system::http_address()).
  std::string metrics_listen;
};

}  // namespace herald::runtime
