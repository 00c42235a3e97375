#include "herald/wire/control.hpp"

#include <algorithm>

#include "herald/wire/control_generated.h"
#include "herald/wire/fb_verify.hpp"

namespace herald::wire {

namespace {

// Each control message is one table with at most one string.
constexpr verify_limits control_limits{.max_depth = 2, .max_tables = 1};

flatbuffers::Offset<flatbuffers::String> text(flatbuffers::FlatBufferBuilder& b, std::string_view s) {
  return b.CreateString(s.substr(0, std::min(s.size(), max_control_text)));
}

result<std::string> read_text(const flatbuffers::String* s, const char* field) {
  if (s == nullptr) return std::string();
  if (s->size() > max_control_text)
    return herald::error(errc::decode_failed, std::string(field) + " longer than 1024 bytes");
  return std::string(s->data(), s->size());
}

}  // namespace

void build_error_reply(flatbuffers::FlatBufferBuilder& b, const herald::error& e) {
  b.Clear();
  auto ctx = text(b, e.context());
  b.Finish(fb::CreateErrorReply(b, static_cast<std::uint16_t>(e.code()), ctx));
}

void build_close(flatbuffers::FlatBufferBuilder& b, const close_notice& c) {
  b.Clear();
  auto reason = text(b, c.reason);
  b.Finish(fb::CreateClose(b, static_cast<std::uint16_t>(c.code), reason));
}

void build_heartbeat(flatbuffers::FlatBufferBuilder& b, const heartbeat& h) {
  b.Clear();
  b.Finish(fb::CreateHeartbeat(b, h.sequence, h.sent_at_ns, h.reply));
}

void build_credit(flatbuffers::FlatBufferBuilder& b, const credit_grant& c) {
  b.Clear();
  b.ForceDefaults(true);  // a credit of 0 still has its fields (and the 12-byte minimum)
  b.Finish(fb::CreateCredit(b, c.max_bytes, c.max_asks, c.max_large_bytes, c.max_fragment_bytes));
}

result<error_reply> decode_error_reply(std::span<const std::byte> in) {
  auto root = verify_root<fb::ErrorReply>(in, control_limits);
  if (!root) return std::move(root).error();
  auto ctx = read_text((*root)->context(), "error_reply.context");
  if (!ctx) return std::move(ctx).error();
  return error_reply{static_cast<errc>((*root)->code()), std::move(*ctx)};
}

result<close_notice> decode_close(std::span<const std::byte> in) {
  auto root = verify_root<fb::Close>(in, control_limits);
  if (!root) return std::move(root).error();
  auto reason = read_text((*root)->reason(), "close.reason");
  if (!reason) return std::move(reason).error();
  return close_notice{static_cast<errc>((*root)->code()), std::move(*reason)};
}

result<heartbeat> decode_heartbeat(std::span<const std::byte> in) {
  auto root = verify_root<fb::Heartbeat>(in, control_limits);
  if (!root) return std::move(root).error();
  return heartbeat{(*root)->sequence(), (*root)->sent_at_ns(), (*root)->reply()};
}

result<credit_grant> decode_credit(std::span<const std::byte> in) {
  auto root = verify_root<fb::Credit>(in, control_limits);
  if (!root) return std::move(root).error();
  return credit_grant{(*root)->max_bytes(), (*root)->max_asks(), (*root)->max_large_bytes(),
                      (*root)->max_fragment_bytes()};
}

}  // namespace herald::wire
