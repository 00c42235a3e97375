// Fuzz target: the handshake parser (Hello and Proof). The input is the
// payload of a handshake frame. Whatever decodes must encode and decode back
// to the same value.

#include <cstdint>

#include "fuzz_support.hpp"
#include "herald/wire/handshake.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace herald::wire;
  herald::fuzz::aligned_input in(data, size);
  if (auto h = decode_hello(in.bytes())) {
    herald::fuzz::require(h->node_name.size() <= max_node_name && h->listen_address.size() <= max_listen_address);
    auto again = encode(*h);
    herald::fuzz::aligned_input re(again);
    auto back = decode_hello(re.bytes());
    herald::fuzz::require(back && *back == *h);
  }
  // The same bytes unaligned: decode_hello must cope with any caller buffer.
  if (size > 1) (void)decode_hello(std::span<const std::byte>(reinterpret_cast<const std::byte*>(data) + 1, size - 1));
  if (auto p = decode_proof(in.bytes())) {
    auto again = encode(*p);
    herald::fuzz::aligned_input re(again);
    auto back = decode_proof(re.bytes());
    herald::fuzz::require(back && *back == *p);
  }
  return 0;
}
