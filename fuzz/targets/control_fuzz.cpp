// Fuzz target: the verifiers of the control messages (error reply, close,
// heartbeat) and of FlatBuffers table messages (fb_message views). The
// first byte picks the verifier; the rest is the frame payload, 8-aligned as
// the frame decoder delivers it. Whatever decodes must round-trip.

#include <cstdint>

#include "fuzz_support.hpp"
#include "herald/wire/control.hpp"
#include "herald/wire/fb_message.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace herald::wire;
  if (size < 1) return 0;
  herald::fuzz::aligned_input in(data + 1, size - 1);
  flatbuffers::FlatBufferBuilder b;
  switch (data[0] % 4) {
    case 0:
      if (auto e = decode_error_reply(in.bytes())) {
        herald::fuzz::require(e->context.size() <= max_control_text);
        build_error_reply(b, e->to_error());
        herald::fuzz::aligned_input re(b.GetBufferPointer(), b.GetSize());
        auto back = decode_error_reply(re.bytes());
        herald::fuzz::require(back && *back == *e);
      }
      break;
    case 1:
      if (auto c = decode_close(in.bytes())) {
        build_close(b, *c);
        herald::fuzz::aligned_input re(b.GetBufferPointer(), b.GetSize());
        auto back = decode_close(re.bytes());
        herald::fuzz::require(back && *back == *c);
      }
      break;
    case 2:
      if (auto h = decode_heartbeat(in.bytes())) {
        build_heartbeat(b, *h);
        herald::fuzz::aligned_input re(b.GetBufferPointer(), b.GetSize());
        auto back = decode_heartbeat(re.bytes());
        herald::fuzz::require(back && *back == *h);
      }
      break;
    case 3:
      // A table message viewed in place: every accessor must stay in bounds.
      if (auto m = codec<fb_message<fb::ErrorReply>>::decode(in.bytes())) {
        volatile std::uint16_t code = (*m)->code();
        (void)code;
        if (const auto* s = (*m)->context()) {
          std::size_t sum = 0;
          for (char c : s->string_view()) sum += static_cast<unsigned char>(c);
          volatile std::size_t sink = sum;
          (void)sink;
        }
      }
      break;
  }
  return 0;
}
