// Fuzz target: the verifier and decoder of the cluster's control messages
// (gossip, membership heartbeats, probes: wire/schemas/gossip.fbs, decoded by
// registry/src/cluster_codec.cpp). The input is the payload of a gossip or
// membership frame, 8-aligned as the frame decoder delivers it. Whatever
// decodes must encode to a buffer that decodes to the same message.

#include <cstdint>
#include <cstring>

#include "fuzz_support.hpp"
#include "herald/registry/cluster_messages.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace herald::registry;
  herald::fuzz::aligned_input in(data, size);
  const codec_limits limits;
  auto m = decode(in.bytes(), limits);
  if (!m) return 0;
  const auto once = encode(*m);
  herald::fuzz::aligned_input re(once);
  auto back = decode(re.bytes(), limits);
  herald::fuzz::require(back.has_value());
  const auto twice = encode(*back);
  herald::fuzz::require(once.size() == twice.size() && std::memcmp(once.data(), twice.data(), once.size()) == 0);
  return 0;
}
