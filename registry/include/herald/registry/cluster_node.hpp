#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <random>
#include <span>
#include <string>
#include <string_view>
#include <thread>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "herald/registry/cluster_env.hpp"
#include "herald/registry/cluster_messages.hpp"
#include "herald/registry/member_table.hpp"
#include "herald/registry/name_registry.hpp"
#include "herald/registry/phi_accrual.hpp"

namespace herald::registry {

// Everything a node needs to take part in a cluster. Every node of a cluster
// must use the same registry limits (see name_registry). The timings below are
// the defaults; docs/cluster.md derives the detection times from them.
struct cluster_config {
  member_key self;
  std::string name;
  std::string address;
  std::vector<std::string> seeds;

  std::chrono::milliseconds gossip_interval{200};
  std::chrono::milliseconds heartbeat_interval{200};
  // How often a node also gossips with a down member or a seed, so that the
  // halves of a healed partition find each other again.
  std::chrono::milliseconds anti_entropy_interval{1000};
  // Wait for a direct or indirect ack before suspecting a silent member.
  std::chrono::milliseconds probe_timeout{500};
  // Time a suspect member has to refute before it is declared down, in a
  // cluster of up to 10 members; it grows with log10 of the cluster size
  // beyond (see suspicion_timeout_for()).
  std::chrono::milliseconds suspicion_timeout{3000};
  // Independent accusers (nodes whose own probes failed) that confirm a
  // suspect down before its timeout; capped at the number of other live
  // members, and unused when that leaves fewer than 2.
  std::size_t suspicion_confirmations = 3;
  // A gap this long between two of this node's own ticks (or between any two
  // of its activities) means this node was paused or its timers fired late:
  // the silence of the others is its own and is forgiven.
  std::chrono::milliseconds pause_threshold{1000};
  // After such a pause the node doubts itself for this long: it refreshes its
  // view by gossiping with every member, and suspects and declares no one.
  std::chrono::milliseconds self_doubt_period{3000};
  // Down and left members are forgotten after this long.
  std::chrono::milliseconds down_retention{60000};
  double phi_threshold = 8.0;
  phi_accrual::params detector;
  std::size_t gossip_fanout = 3;
  std::size_t indirect_probes = 3;
  std::size_t max_members = 256;
  registry_limits registry;
  codec_limits codec;
  // Seed of the node's own random choices (gossip peers, probe helpers);
  // 0 derives one from the node id and incarnation.
  std::uint64_t random_seed = 0;
  // Refusals and membership changes; empty: std::clog.
  log_sink log;
};

struct cluster_counters {
  std::uint64_t messages_received = 0;
  std::uint64_t messages_refused = 0;  // failed size, verification or bounds
  std::uint64_t members_refused = 0;   // a new member past max_members
  std::uint64_t batches_ignored = 0;   // streams of members not known to be live
  std::uint64_t gossip_rounds = 0;
  std::uint64_t gossip_sent = 0;
  std::uint64_t heartbeats_sent = 0;
  std::uint64_t probes_started = 0;
  std::uint64_t suspicions = 0;   // members this node itself suspected first
  std::uint64_t accusations = 0;  // suspicions this node joined from its own failed probes
  std::uint64_t downs = 0;       // members this node saw go down or leave
  std::uint64_t refutations = 0;
  std::uint64_t own_pauses = 0;
  std::uint64_t links_lost = 0;            // on_connection_lost calls about a live member
  std::uint64_t confirmed_downs = 0;       // downs this node declared on k accusers
  std::uint64_t accusations_withheld = 0;  // failed probes ignored while doubting itself
};

// One node's cluster logic: the name registry, membership, gossip and failure
// detection, behind a transport it is given and driven by tick().
// Confined to one thread (the runtime's control strand, or a test's thread),
// except registry(), which is safe for concurrent use. Debug builds assert it.
class cluster_node {
 public:
  using member_callback = std::function<void(const member_event&)>;

  cluster_node(cluster_config cfg, control_transport& transport, const clock_source& clock);
  cluster_node(const cluster_node&) = delete;
  cluster_node& operator=(const cluster_node&) = delete;

  // The registry of the whole cluster as this node holds it.
  name_registry& registry() noexcept { return registry_; }
  const name_registry& registry() const noexcept { return registry_; }

  // Runs the timers that are due: join attempts, heartbeats, failure
  // detection, gossip rounds, anti-entropy. Call at least every ~50 ms.
  void tick();
  // One control message from the network; verified before it is read.
  void on_message(std::span<const std::byte> bytes);
  // The transport lost its connection to address. Evidence about that link
  // only: the member is probed at once (directly and through others), and
  // only a failed probe makes it suspect.
  void on_connection_lost(std::string_view address);
  // The transport connected to address. A node still alone gossips with it
  // at once instead of waiting for the next join attempt. For a client
  // address, the member is not suspected while a link to it is up.
  void on_connection_up(std::string_view address);
  // Announces that this node leaves and stops taking part.
  void leave();

  // Membership events, on this node's thread, after the registry was updated.
  void on_member_event(member_callback cb) { member_callbacks_.push_back(std::move(cb)); }

  const member_info& self() const noexcept { return members_.self(); }
  const member_table& members() const noexcept { return members_; }
  // Members (this node included) whose status is up or suspect, sorted by node.
  std::vector<member_info> live_members() const;
  const cluster_counters& counters() const noexcept { return counters_; }
  const cluster_config& config() const noexcept { return cfg_; }
  // Whether this node doubts itself (just resumed from a pause) and so
  // accuses no one.
  bool doubting() const noexcept { return clock_.now() < doubt_until_; }
  // The suspicion timeout in a cluster of n members: suspicion_timeout
  // times max(1, log10 n).
  std::chrono::milliseconds suspicion_timeout_for(std::size_t n) const;
  // Accusers that confirm a suspect down now; 0 when confirmations are off.
  std::size_t confirmations_needed() const;

 private:
  struct peer_state {
    phi_accrual detector;
    cluster_clock::time_point status_since{};
    std::optional<std::uint64_t> probe_nonce;
    cluster_clock::time_point probe_deadline{};
    // This node probed the member itself since it learned of its suspicion.
    bool probed_suspicion = false;
  };

  void check_thread();
  void log(std::string_view line);
  void send(std::string_view address, const cluster_message& msg);
  void learn(const member_info& claim, std::string_view reason);
  void mark(node_id node, member_status status, std::string_view reason);
  void apply_events(std::vector<member_event>& events);
  bool stream_is_live(const member_key& owner) const;
  std::vector<stream_digest> live_digests() const;
  std::vector<stream_batch> what_peer_lacks(const std::vector<stream_digest>& peer) const;
  std::vector<member_info> member_list() const;
  std::vector<const member_info*> pick_live(std::size_t n, node_id except);

  // cluster_gossip.cpp
  void gossip_round();
  void anti_entropy();
  void join_attempt();
  void send_syn(std::string_view address);
  void handle(const gossip_msg& g);
  // cluster_probe.cpp
  void send_heartbeats();
  void detect_failures(cluster_clock::time_point now);
  void start_probe(const member_info& m, cluster_clock::time_point now);
  void handle(const heartbeat_msg& h);
  void handle(const probe_msg& p);
  void forgive_own_pause(cluster_clock::time_point now);
  // Detects a pause of this node from any of its entry points.
  void notice_time(cluster_clock::time_point now);
  // Tells a member that this node holds as suspect or down, and that has just
  // shown it is alive, what it is accused of, so that it refutes.
  void tell_if_accused(const member_info& sender);

  cluster_config cfg_;
  control_transport& transport_;
  const clock_source& clock_;
  name_registry registry_;
  member_table members_;
  std::unordered_map<node_id, peer_state> peers_;
  std::vector<member_callback> member_callbacks_;
  cluster_counters counters_;
  std::mt19937_64 rng_;
  std::thread::id owner_thread_{};
  std::optional<cluster_clock::time_point> last_seen_;
  cluster_clock::time_point doubt_until_{};
  // Client members (by address) to which a link is up.
  std::unordered_set<std::string> client_links_;
  cluster_clock::time_point next_gossip_{};
  cluster_clock::time_point next_heartbeat_{};
  cluster_clock::time_point next_anti_entropy_{};
  cluster_clock::time_point next_join_{};
  std::unordered_map<node_id, cluster_clock::time_point> gone_since_;
};

}  // namespace herald::registry
