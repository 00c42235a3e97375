#include <flatbuffers/flatbuffers.h>

#include <algorithm>

#include "herald/registry/cluster_messages.hpp"
#include "herald/wire/fb_verify.hpp"
#include "herald/wire/gossip_generated.h"

namespace herald::registry {

namespace fb = herald::wire::gossip;

std::string_view to_string(member_status s) noexcept {
  switch (s) {
    case member_status::up: return "up";
    case member_status::suspect: return "suspect";
    case member_status::down: return "down";
    case member_status::left: return "left";
  }
  return "unknown";
}

namespace {

flatbuffers::Offset<fb::Member> put(flatbuffers::FlatBufferBuilder& b, const member_info& m) {
  auto name = b.CreateString(m.name);
  auto address = b.CreateString(m.address);
  auto accusers = m.accusers.empty() ? flatbuffers::Offset<flatbuffers::Vector<std::uint64_t>>{}
                                     : b.CreateVector(m.accusers);
  return fb::CreateMember(b, m.key.node, m.key.incarnation, m.seq, static_cast<fb::MemberStatus>(m.status), name,
                          address, accusers);
}

flatbuffers::Offset<fb::StreamBatch> put(flatbuffers::FlatBufferBuilder& b, const stream_batch& s) {
  std::vector<flatbuffers::Offset<fb::NameDelta>> deltas;
  deltas.reserve(s.deltas.size());
  for (const name_delta& d : s.deltas) {
    deltas.push_back(
        fb::CreateNameDelta(b, b.CreateString(d.name), d.version, d.removed, d.actor, d.actor_type));
  }
  return fb::CreateStreamBatch(b, s.owner.node, s.owner.incarnation, s.reset, s.reset_target, s.floor,
                               b.CreateVector(deltas));
}

struct encoder {
  flatbuffers::FlatBufferBuilder& b;

  std::pair<fb::ClusterBody, flatbuffers::Offset<void>> operator()(const gossip_msg& g) const {
    std::vector<flatbuffers::Offset<fb::Member>> members;
    for (const member_info& m : g.members) members.push_back(put(b, m));
    std::vector<flatbuffers::Offset<fb::StreamDigest>> digests;
    for (const stream_digest& d : g.digests) {
      digests.push_back(fb::CreateStreamDigest(b, d.owner.node, d.owner.incarnation, d.version, d.resyncing));
    }
    std::vector<flatbuffers::Offset<fb::StreamBatch>> batches;
    for (const stream_batch& s : g.batches) batches.push_back(put(b, s));
    auto sender = put(b, g.sender);
    auto off = fb::CreateGossip(b, static_cast<fb::GossipPhase>(g.phase), sender, b.CreateVector(members),
                                b.CreateVector(digests), b.CreateVector(batches));
    return {fb::ClusterBody::Gossip, off.Union()};
  }
  std::pair<fb::ClusterBody, flatbuffers::Offset<void>> operator()(const heartbeat_msg& h) const {
    auto sender = put(b, h.sender);
    return {fb::ClusterBody::Heartbeat, fb::CreateHeartbeat(b, sender).Union()};
  }
  std::pair<fb::ClusterBody, flatbuffers::Offset<void>> operator()(const probe_msg& p) const {
    auto sender = put(b, p.sender);
    auto off = fb::CreateProbe(b, static_cast<fb::ProbeKind>(p.kind), sender, p.origin, p.subject, p.nonce);
    return {fb::ClusterBody::Probe, off.Union()};
  }
};

// Everything below runs on a verified buffer; it still checks what the
// Verifier does not: enum ranges, counts and string lengths.
class reader {
 public:
  explicit reader(const codec_limits& limits) : limits_(limits) {}

  result<member_info> member(const fb::Member* m) const {
    if (m == nullptr) return error(errc::decode_failed, "member missing");
    const auto status = static_cast<std::uint8_t>(m->status());
    if (status > static_cast<std::uint8_t>(member_status::left)) {
      return error(errc::decode_failed, "member status " + std::to_string(status));
    }
    member_info out{member_key{m->node(), m->incarnation()}, m->seq(), static_cast<member_status>(status)};
    if (!string(m->name(), out.name) || !string(m->address(), out.address)) {
      return error(errc::limit_exceeded, "member name or address longer than " +
                                             std::to_string(limits_.max_string_bytes) + " bytes");
    }
    if (const auto* acc = m->accusers()) {
      if (acc->size() > max_accusers) {
        return error(errc::limit_exceeded, std::to_string(acc->size()) + " accusers of one member");
      }
      // The verifier checks a vector's length field at 4-byte alignment only;
      // a vector of 8-byte scalars an encoder wrote is 8-aligned in the
      // (8-aligned) payload, and one that is not would be read misaligned.
      if (reinterpret_cast<std::uintptr_t>(acc->data()) % alignof(std::uint64_t) != 0) {
        return error(errc::decode_failed, "accusers vector not 8-byte aligned");
      }
      out.accusers.assign(acc->begin(), acc->end());
      std::sort(out.accusers.begin(), out.accusers.end());
      out.accusers.erase(std::unique(out.accusers.begin(), out.accusers.end()), out.accusers.end());
    }
    return out;
  }

  stream_batch batch(const fb::StreamBatch& s) const {
    stream_batch out{member_key{s.node(), s.incarnation()}, s.reset(), s.reset_target(), s.floor(), {}};
    if (const auto* deltas = s.deltas()) {
      out.deltas.reserve(deltas->size());
      for (const fb::NameDelta* d : *deltas) {
        // A name over the registry's bound is still copied: the registry refuses
        // and counts it, so that every node skips the same item.
        name_delta nd{d->name() ? d->name()->str() : std::string(), d->version(), d->removed(), d->actor(),
                      d->actor_type()};
        out.deltas.push_back(std::move(nd));
      }
    }
    return out;
  }

  result<cluster_message> gossip(const fb::Gossip& g) const {
    const auto phase = static_cast<std::uint8_t>(g.phase());
    if (phase > static_cast<std::uint8_t>(gossip_phase::ack2)) return error(errc::decode_failed, "gossip phase");
    gossip_msg out;
    out.phase = static_cast<gossip_phase>(phase);
    auto sender = member(g.sender());
    if (!sender) return std::move(sender).error();
    out.sender = std::move(*sender);
    if (const auto* members = g.members()) {
      if (members->size() > limits_.max_members) {
        return error(errc::limit_exceeded, std::to_string(members->size()) + " members in one gossip");
      }
      for (const fb::Member* m : *members) {
        auto mi = member(m);
        if (!mi) return std::move(mi).error();
        out.members.push_back(std::move(*mi));
      }
    }
    if (const auto* digests = g.digests()) {
      if (digests->size() > limits_.max_members) return error(errc::limit_exceeded, "digests");
      for (const fb::StreamDigest* d : *digests) {
        out.digests.push_back(stream_digest{member_key{d->node(), d->incarnation()}, d->version(), d->resyncing()});
      }
    }
    if (const auto* batches = g.batches()) {
      if (batches->size() > limits_.max_members) return error(errc::limit_exceeded, "batches");
      for (const fb::StreamBatch* s : *batches) out.batches.push_back(batch(*s));
    }
    return cluster_message{std::move(out)};
  }

  result<cluster_message> probe(const fb::Probe& p) const {
    const auto kind = static_cast<std::uint8_t>(p.kind());
    if (kind > static_cast<std::uint8_t>(probe_kind::ack)) return error(errc::decode_failed, "probe kind");
    auto sender = member(p.sender());
    if (!sender) return std::move(sender).error();
    return cluster_message{
        probe_msg{static_cast<probe_kind>(kind), std::move(*sender), p.origin(), p.subject(), p.nonce()}};
  }

 private:
  bool string(const flatbuffers::String* s, std::string& out) const {
    if (s == nullptr) return true;
    if (s->size() > limits_.max_string_bytes) return false;
    out.assign(s->data(), s->size());
    return true;
  }

  const codec_limits& limits_;
};

}  // namespace

std::vector<std::byte> encode(const cluster_message& msg) {
  flatbuffers::FlatBufferBuilder b(1024);
  auto [type, body] = std::visit(encoder{b}, msg);
  b.Finish(fb::CreateClusterMessage(b, type, body));
  const auto* p = reinterpret_cast<const std::byte*>(b.GetBufferPointer());
  return std::vector<std::byte>(p, p + b.GetSize());
}

result<cluster_message> decode(std::span<const std::byte> bytes, const codec_limits& limits) {
  if (bytes.size() > limits.max_message_bytes) {
    return error(errc::frame_too_large, std::to_string(bytes.size()) + " bytes of control message");
  }
  auto verified = wire::verify_root<fb::ClusterMessage>(
      bytes, wire::verify_limits{static_cast<std::uint32_t>(limits.max_depth),
                                 static_cast<std::uint32_t>(limits.max_tables)});
  if (!verified) return std::move(verified).error();
  const fb::ClusterMessage* root = *verified;
  reader r(limits);
  switch (root->body_type()) {
    case fb::ClusterBody::Gossip:
      if (root->body_as_Gossip() == nullptr) break;
      return r.gossip(*root->body_as_Gossip());
    case fb::ClusterBody::Heartbeat: {
      if (root->body_as_Heartbeat() == nullptr) break;
      auto sender = r.member(root->body_as_Heartbeat()->sender());
      if (!sender) return std::move(sender).error();
      return cluster_message{heartbeat_msg{std::move(*sender)}};
    }
    case fb::ClusterBody::Probe:
      if (root->body_as_Probe() == nullptr) break;
      return r.probe(*root->body_as_Probe());
    default: break;
  }
  return error(errc::decode_failed, "control message without a known body");
}

}  // namespace herald::registry
