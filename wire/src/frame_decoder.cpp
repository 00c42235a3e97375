#include "herald/wire/frame_decoder.hpp"

#include <cstdio>
#include <string>

namespace herald::wire {

namespace {

// Unauthenticated peers send only handshakes: they get a small budget.
constexpr std::uint32_t max_handshake_payload = 4096;

bool carries_flatbuffer(frame_kind k) noexcept {
  switch (k) {
    case frame_kind::handshake:
    case frame_kind::handshake_ack:
    case frame_kind::error_reply:
    case frame_kind::heartbeat:
    case frame_kind::gossip:
    case frame_kind::membership:
    case frame_kind::close:
    case frame_kind::credit: return true;
    case frame_kind::tell:
    case frame_kind::ask:
    case frame_kind::reply:
    case frame_kind::fragment: return false;
  }
  return false;
}

std::string describe(const char* what, const frame_header& h) {
  char buf[160];
  std::snprintf(buf, sizeof buf, "%s (kind %u, flags 0x%02x, payload_length %u)", what,
                static_cast<unsigned>(h.kind), static_cast<unsigned>(h.flags),
                static_cast<unsigned>(h.payload_length));
  return buf;
}

}  // namespace

bool is_known_kind(std::uint8_t kind) noexcept {
  return kind >= static_cast<std::uint8_t>(frame_kind::handshake) &&
         kind <= static_cast<std::uint8_t>(frame_kind::fragment);
}

bool frame_view::known_kind() const noexcept { return is_known_kind(static_cast<std::uint8_t>(header.kind)); }

frame_decoder::frame_decoder(decode_limits limits) noexcept : limits_(limits) {
  if (limits_.max_frame_size > max_frame_size_cap) limits_.max_frame_size = max_frame_size_cap;
}

herald::error frame_decoder::fail(errc code, const char* what, const frame_header& h) {
  return record(herald::error(code, describe(what, h)));
}

herald::error frame_decoder::record(herald::error e) noexcept {
  switch (e.code()) {
    case errc::frame_too_large: ++counters_.frame_too_large; break;
    case errc::frame_too_small: ++counters_.frame_too_small; break;
    case errc::unknown_frame_kind: ++counters_.unknown_frame_kind; break;
    case errc::bad_flags: ++counters_.bad_flags; break;
    case errc::bad_header: ++counters_.bad_header; break;
    case errc::truncated: ++counters_.truncated; break;
    case errc::verification_failed: ++counters_.verification_failed; break;
    case errc::unknown_type: ++counters_.unknown_type; break;
    case errc::decode_failed: ++counters_.decode_failed; break;
    default: ++counters_.other; break;
  }
  return e;
}

result<void> frame_decoder::check(const frame_header& h) {
  if (h.payload_length > limits_.max_frame_size) return fail(errc::frame_too_large, "payload exceeds max_frame_size", h);
  const auto raw_kind = static_cast<std::uint8_t>(h.kind);
  if (!is_known_kind(raw_kind)) {
    if (raw_kind >= first_optional_kind) return {};  // skippable; the flags of unknown kinds are theirs
    return fail(errc::unknown_frame_kind, "unknown frame kind", h);
  }
  if ((h.flags & ~(frame_flags::known | frame_flags::ignorable)) != 0)
    return fail(errc::bad_flags, "reserved flag bit set", h);
  if ((h.flags & frame_flags::fragmented) != 0) {
    if (h.kind != frame_kind::tell && h.kind != frame_kind::ask && h.kind != frame_kind::reply)
      return fail(errc::bad_flags, "fragmented flag on a kind other than tell, ask or reply", h);
    if (h.payload_length <= fragment_prefix_size)
      return fail(errc::frame_too_small, "first fragment without message_length, message_id and a byte", h);
  }
  if ((h.kind == frame_kind::handshake || h.kind == frame_kind::handshake_ack) &&
      h.payload_length > max_handshake_payload)
    return fail(errc::frame_too_large, "handshake payload exceeds 4096 bytes", h);
  if (carries_flatbuffer(h.kind) && h.payload_length < min_flatbuffer_size)
    return fail(errc::frame_too_small, "payload shorter than the smallest FlatBuffers buffer (12 bytes)", h);
  switch (h.kind) {
    case frame_kind::tell:
      if (h.type_id == 0) return fail(errc::bad_header, "tell without a type id", h);
      break;
    case frame_kind::ask:
      if (h.type_id == 0) return fail(errc::bad_header, "ask without a type id", h);
      if (h.request_id == 0) return fail(errc::bad_header, "ask without a request id", h);
      break;
    case frame_kind::reply:
    case frame_kind::error_reply:
      if (h.request_id == 0) return fail(errc::bad_header, "reply without a request id", h);
      break;
    case frame_kind::fragment:
      if (h.request_id == 0) return fail(errc::bad_header, "fragment without a message id", h);
      if (h.payload_length == 0) return fail(errc::frame_too_small, "empty fragment", h);
      break;
    default: break;
  }
  return {};
}

result<std::optional<frame_view>> frame_decoder::next(std::span<const std::byte> in) {
  if (in.size() < frame_header::size) {
    needed_ = frame_header::size;
    return std::optional<frame_view>{};
  }
  const frame_header h = peek_header(in.data());
  if (auto ok = check(h); !ok) {
    needed_ = frame_header::size;
    return std::move(ok).error();
  }
  const std::size_t total = frame_size(h.payload_length);
  needed_ = total;
  if (in.size() < total) return std::optional<frame_view>{};
  ++counters_.frames;
  counters_.bytes += total;
  if (!is_known_kind(static_cast<std::uint8_t>(h.kind))) ++counters_.skipped_optional;
  return std::optional<frame_view>{frame_view{h, in.subspan(frame_header::size, h.payload_length), total}};
}

result<void> frame_decoder::finish(std::size_t buffered) {
  if (buffered == 0) return {};
  char buf[96];
  std::snprintf(buf, sizeof buf, "stream ended %zu bytes into a frame", buffered);
  return record(herald::error(errc::truncated, buf));
}

}  // namespace herald::wire
