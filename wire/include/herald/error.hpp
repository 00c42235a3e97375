#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>

namespace herald {

// Every way an operation of herald can fail. The numeric values travel on the
// wire inside error replies, so they are stable: append, never renumber.
enum class errc : std::uint16_t {
  ok = 0,
  // Actors and asks.
  timeout = 1,
  actor_stopped = 2,
  system_shutdown = 3,
  handler_failed = 4,
  restart_limit = 5,
  not_found = 6,
  type_mismatch = 7,
  invalid_argument = 8,
  broken_promise = 9,
  mailbox_full = 10,
  // Transport and cluster.
  node_down = 20,
  backpressure = 21,
  too_many_inflight = 22,
  io_error = 23,
  handshake_failed = 24,
  auth_failed = 25,
  version_mismatch = 26,
  schema_mismatch = 27,
  limit_exceeded = 28,
  duplicate_link = 29,
  // Untrusted input.
  frame_too_large = 40,
  frame_too_small = 41,
  unknown_frame_kind = 42,
  truncated = 43,
  verification_failed = 44,
  unknown_type = 45,
  duplicate_type_id = 46,
  decode_failed = 47,
  bad_flags = 48,
  bad_header = 49,
  message_too_large = 50,
};

// A stable, human-readable name for a code ("node_down").
std::string_view to_string(errc code) noexcept;

// A failure: a code plus free-form context ("ask to bank/alice: no reply within 200ms").
// A value type: distinct objects are safe to use from different threads.
class [[nodiscard]] error {
 public:
  error() = default;
  explicit error(errc code, std::string context = {}) : code_(code), context_(std::move(context)) {}

  errc code() const noexcept { return code_; }
  const std::string& context() const noexcept { return context_; }
  // "node_down: connection to 127.0.0.1:7000 lost"
  std::string message() const;

  friend bool operator==(const error& e, errc c) noexcept { return e.code_ == c; }
  friend bool operator==(const error& a, const error& b) noexcept {
    return a.code_ == b.code_ && a.context_ == b.context_;
  }

 private:
  errc code_ = errc::ok;
  std::string context_;
};

inline std::string_view to_string(errc code) noexcept {
  switch (code) {
    case errc::ok: return "ok";
    case errc::timeout: return "timeout";
    case errc::actor_stopped: return "actor_stopped";
    case errc::system_shutdown: return "system_shutdown";
    case errc::handler_failed: return "handler_failed";
    case errc::restart_limit: return "restart_limit";
    case errc::not_found: return "not_found";
    case errc::type_mismatch: return "type_mismatch";
    case errc::invalid_argument: return "invalid_argument";
    case errc::broken_promise: return "broken_promise";
    case errc::mailbox_full: return "mailbox_full";
    case errc::node_down: return "node_down";
    case errc::backpressure: return "backpressure";
    case errc::too_many_inflight: return "too_many_inflight";
    case errc::io_error: return "io_error";
    case errc::handshake_failed: return "handshake_failed";
    case errc::auth_failed: return "auth_failed";
    case errc::version_mismatch: return "version_mismatch";
    case errc::schema_mismatch: return "schema_mismatch";
    case errc::limit_exceeded: return "limit_exceeded";
    case errc::duplicate_link: return "duplicate_link";
    case errc::frame_too_large: return "frame_too_large";
    case errc::frame_too_small: return "frame_too_small";
    case errc::unknown_frame_kind: return "unknown_frame_kind";
    case errc::truncated: return "truncated";
    case errc::verification_failed: return "verification_failed";
    case errc::unknown_type: return "unknown_type";
    case errc::duplicate_type_id: return "duplicate_type_id";
    case errc::decode_failed: return "decode_failed";
    case errc::bad_flags: return "bad_flags";
    case errc::bad_header: return "bad_header";
    case errc::message_too_large: return "message_too_large";
  }
  return "unknown_error";
}

inline std::string error::message() const {
  std::string out(to_string(code_));
  if (!context_.empty()) {
    out += ": ";
    out += context_;
  }
  return out;
}

}  // namespace herald
