// The dashboard's JSON (/api/state): one snapshot of what the page shows.
#include <nlohmann/json.hpp>

#include <chrono>

#include "http_endpoint.hpp"
#include "network.hpp"
#include "system_core.hpp"

namespace herald::detail {

std::string dashboard_state_json(network& net) {
  using nlohmann::json;
  json j;
  j["node"] = net.node().name();
  j["node_id"] = net.node_id();
  j["at_ms"] = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch()).count();
  json members = json::array();
  if (net.core().joined()) {
    for (const auto& m : net.member_rows())
      members.push_back({{"name", m.name}, {"node", m.node}, {"incarnation", m.incarnation}, {"address", m.address}, {"status", m.status}});
  }
  j["members"] = std::move(members);
  json reg = json::array();
  for (const auto& e : net.registry_rows())
    reg.push_back({{"name", e.name}, {"node", e.node}, {"actor", e.actor}, {"actor_type", e.actor_type}});
  j["registry"] = std::move(reg);
  json links = json::array();
  for (const auto& c : net.node().connections()) {
    const auto s = c->stats();
    links.push_back({{"peer", c->peer().node_name},
                     {"peer_id", c->peer().node_id},
                     {"frames_sent", s.frames_sent},
                     {"bytes_sent", s.bytes_sent},
                     {"frames_received", s.frames_received},
                     {"bytes_received", s.bytes_received},
                     {"asks_in_flight", s.asks_pending},
                     {"asks_answered", s.ask_latency.count},
                     {"ask_latency_sum_ns", s.ask_latency.sum_ns},
                     {"ring_used", s.ring_used}});
  }
  j["links"] = std::move(links);
  json types = json::array();
  for (const auto& t : net.core().type_snapshots())
    types.push_back({{"name", t.name},
                     {"alive", t.alive},
                     {"handled", t.handled},
                     {"mailbox_depth", t.mailbox_depth},
                     {"mailbox_depth_max", t.mailbox_depth_max},
                     {"restarts", t.restarts},
                     {"dead_letters", t.dead_letters},
                     {"mailbox_full", t.mailbox_full}});
  j["actor_types"] = std::move(types);
  json events = json::array();
  auto recent = net.events().since(0);
  const std::size_t keep = 50;
  const std::size_t from = recent.events.size() > keep ? recent.events.size() - keep : 0;
  for (std::size_t i = from; i < recent.events.size(); ++i) {
    const auto& e = recent.events[i];
    events.push_back({{"seq", e.seq}, {"at_ms", e.at_ms}, {"kind", e.kind}, {"event", e.event}, {"name", e.name},
                      {"node", e.node}, {"incarnation", e.incarnation}, {"detail", e.detail}});
  }
  j["events"] = std::move(events);
  // Strings from peers (names) may hold any bytes: replace invalid UTF-8
  // rather than throw.
  return j.dump(-1, ' ', false, json::error_handler_t::replace);
}

}  // namespace herald::detail
