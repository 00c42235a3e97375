#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <utility>

#include "herald/actors/detail/cell.hpp"
#include "herald/actors/detail/envelope.hpp"
#include "herald/actors/detail/remote_target.hpp"
#include "herald/result.hpp"
#include "herald/wire/message.hpp"

namespace herald {

namespace detail {

// Every subscription is a name of the cluster registry under this prefix:
// "$topic/<topic>/<message type id>/<node id>/<actor id>" (ids in hex), so
// that a node's subscriptions are its own names, spread by gossip and
// removed with its actors and with the node. Users cannot spawn or alias
// names under it.
inline constexpr std::string_view topic_prefix = "$topic/";

inline void append_hex(std::string& out, std::uint64_t v, bool fixed) {
  constexpr char digits[] = "0123456789abcdef";
  char buf[16];
  int n = 0;
  do {
    buf[n++] = digits[v & 0xf];
    v >>= 4;
  } while (fixed ? n < 16 : v != 0);
  while (n > 0) out.push_back(buf[--n]);
}

// The registry name of one subscription: the topic's key, then where the
// subscriber lives.
inline std::string subscription_name(std::string_view topic_key, std::uint64_t node, std::uint64_t actor) {
  std::string out(topic_key);
  append_hex(out, node, true);
  out.push_back('/');
  append_hex(out, actor, false);
  return out;
}

// The key of the topic a subscription name belongs to (its prefix up to the
// node id), or empty when the name is no subscription.
inline std::string_view topic_key_of(std::string_view name) noexcept {
  if (name.substr(0, topic_prefix.size()) != topic_prefix) return {};
  const auto actor_sep = name.rfind('/');
  if (actor_sep == std::string_view::npos || actor_sep < topic_prefix.size()) return {};
  const auto node_sep = name.rfind('/', actor_sep - 1);
  if (node_sep == std::string_view::npos || node_sep < topic_prefix.size()) return {};
  return name.substr(0, node_sep + 1);
}

// One subscription as a publisher sees it: a mailbox of this node (cell,
// with the tell of the topic's message for the subscriber's type) or an
// actor of another node.
struct topic_member {
  std::string name;  // the subscription's registry name
  std::uint64_t node = 0;
  actor_id actor = 0;
  ref_ptr<cell_base> cell;
  const envelope_ops* ops = nullptr;
  std::shared_ptr<const remote_target> remote;
};

}  // namespace detail

// A topic of the cluster's pub/sub: a name and the type of its messages.
// Subscribers on every node receive each message published to it, once.
// Two topics of one name and different message types are distinct topics.
// A plain value: copy it freely and keep it (its key is computed once).
template <class M>
class topic {
 public:
  explicit topic(std::string name) : name_(std::move(name)) {
    key_.reserve(detail::topic_prefix.size() + name_.size() + 18);
    key_.append(detail::topic_prefix).append(name_).push_back('/');
    detail::append_hex(key_, wire::type_id_of<M>(), true);
    key_.push_back('/');
  }
  const std::string& name() const noexcept { return name_; }
  // The prefix of its subscriptions' registry names.
  const std::string& key() const noexcept { return key_; }

 private:
  std::string name_;
  std::string key_;
};

// What one publish did: it told each subscriber visible on the publishing
// node once. subscribers == delivered + refused.
struct publish_report {
  std::size_t subscribers = 0;  // subscriptions it was sent to
  std::size_t delivered = 0;    // sends accepted (a mailbox, or a link's ring)
  std::size_t refused = 0;      // sends refused at once (node_down, backpressure, mailbox_full, ...)
  error last_refusal;           // the error of the last refused send (none if refused == 0)
  bool all_delivered() const noexcept { return refused == 0; }
};

// One subscription of a topic (actor_system::subscribers).
struct topic_subscriber {
  std::uint64_t node = 0;  // the subscriber's node id
  actor_id actor = 0;      // its id on that node
  friend bool operator==(const topic_subscriber&, const topic_subscriber&) = default;
};

}  // namespace herald
