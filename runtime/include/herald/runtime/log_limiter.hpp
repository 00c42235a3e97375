#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>

namespace herald::runtime {

// Bounds the log lines a node writes per cause: at most `per_second` lines of
// one cause in each one-second window; later lines of that cause in the
// window are counted, not written, and the next line of it that is written
// says how many were suppressed. The cause of a line is its text with every
// run of digits folded into one '#' (so "dial to 10.0.0.1:7001 failed" and
// "...:7002 failed" are one cause), cut at 96 bytes. At most max_causes
// causes are tracked; lines of causes beyond them share one budget. Safe for
// concurrent use (one mutex per line; logging is never on the message path).
class log_limiter {
 public:
  using clock = std::chrono::steady_clock;
  static constexpr std::size_t max_causes = 512;

  // per_second 0: no limit.
  explicit log_limiter(std::size_t per_second = 5) : per_second_(per_second) {}

  // The line to write (with " (N similar lines suppressed)" appended when
  // some were), or nothing when the cause is over its budget.
  std::optional<std::string> admit(std::string_view line, clock::time_point now = clock::now()) {
    if (per_second_ == 0) return std::string(line);
    std::string cause = cause_of(line);
    std::lock_guard lock(mutex_);
    auto it = causes_.find(cause);
    if (it == causes_.end()) {
      if (causes_.size() >= max_causes) {
        cause = "(other)";
        it = causes_.find(cause);
      }
      if (it == causes_.end()) it = causes_.emplace(std::move(cause), budget{}).first;
    }
    budget& b = it->second;
    if (now - b.window >= std::chrono::seconds(1)) {
      b.window = now;
      b.written = 0;
    }
    if (b.written >= per_second_) {
      ++b.suppressed;
      ++suppressed_total_;
      return std::nullopt;
    }
    ++b.written;
    std::string out(line);
    if (b.suppressed != 0) {
      out += " (" + std::to_string(b.suppressed) + " similar lines suppressed)";
      b.suppressed = 0;
    }
    return out;
  }

  // Lines suppressed since the limiter was made.
  std::uint64_t suppressed() const {
    std::lock_guard lock(mutex_);
    return suppressed_total_;
  }

  static std::string cause_of(std::string_view line) {
    std::string c;
    c.reserve(96);
    bool in_digits = false;
    for (char ch : line) {
      if (c.size() >= 96) break;
      const bool digit = ch >= '0' && ch <= '9';
      if (digit && in_digits) continue;
      c += digit ? '#' : ch;
      in_digits = digit;
    }
    return c;
  }

 private:
  struct budget {
    clock::time_point window{};
    std::size_t written = 0;
    std::uint64_t suppressed = 0;
  };
  const std::size_t per_second_;
  mutable std::mutex mutex_;
  std::unordered_map<std::string, budget> causes_;  // at most max_causes + 1 entries
  std::uint64_t suppressed_total_ = 0;
};

}  // namespace herald::runtime
