#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <limits>
#include <memory>
#include <span>
#include <utility>
#include <vector>

#include "herald/wire/codec.hpp"

namespace herald::wire {

// A byte payload that is read where it arrived. Built by a sender it owns
// its bytes (a std::vector<std::byte>, adopted without a copy); decoded from
// a frame it views the frame's bytes (zero copy, no allocation), like
// wire::fb_message: valid while that frame is, unless the frame's owner is
// handed to it (keep_alive), which herald does for the reply of a remote ask.
// As a handler's message it is valid until the handler returns, across every
// co_await of a coroutine handler.
//
// On the wire it is what std::vector<std::byte> is (u32 count, the bytes), so
// the two are interchangeable between nodes. A copy never dangles: copying a
// view that holds its owner shares the owner; copying anything else copies
// the bytes into storage the copy owns. Moves keep what they move (a view
// stays a view). Distinct objects are safe to use from different threads.
class bytes {
 public:
  bytes() noexcept = default;
  // Owns `v` (no copy).
  explicit bytes(std::vector<std::byte> v) noexcept : own_(std::move(v)), data_(own_.data()), size_(own_.size()) {}
  // Owns a copy of `s`.
  static bytes copy_of(std::span<const std::byte> s) { return bytes(std::vector<std::byte>(s.begin(), s.end())); }
  // Views `s`, which must outlive the view (or its owner be kept with it).
  static bytes view_of(std::span<const std::byte> s) noexcept {
    bytes b;
    b.data_ = s.data();
    b.size_ = s.size();
    return b;
  }

  bytes(const bytes& o) : keep_(o.keep_) {
    if (keep_) {
      data_ = o.data_;
      size_ = o.size_;
    } else {
      own_.assign(o.begin(), o.end());
      data_ = own_.data();
      size_ = own_.size();
    }
  }
  bytes& operator=(const bytes& o) {
    if (this != &o) *this = bytes(o);
    return *this;
  }
  bytes(bytes&& o) noexcept
      : own_(std::move(o.own_)),
        keep_(std::move(o.keep_)),
        data_(std::exchange(o.data_, nullptr)),
        size_(std::exchange(o.size_, 0)) {}
  bytes& operator=(bytes&& o) noexcept {
    if (this != &o) {
      own_ = std::move(o.own_);
      keep_ = std::move(o.keep_);
      data_ = std::exchange(o.data_, nullptr);
      size_ = std::exchange(o.size_, 0);
      o.own_.clear();
    }
    return *this;
  }

  const std::byte* data() const noexcept { return data_; }
  std::size_t size() const noexcept { return size_; }
  bool empty() const noexcept { return size_ == 0; }
  std::span<const std::byte> view() const noexcept { return {data_, size_}; }
  const std::byte* begin() const noexcept { return data_; }
  const std::byte* end() const noexcept { return data_ + size_; }
  const std::byte& operator[](std::size_t i) const noexcept { return data_[i]; }

  // True when this object holds its bytes itself (built, copied, or empty);
  // false for a view into a frame.
  bool owns() const noexcept { return size_ == 0 || data_ == own_.data(); }
  // The bytes, writable: a view first becomes a copy this object owns.
  std::span<std::byte> writable() {
    if (!owns()) *this = bytes(std::vector<std::byte>(begin(), end()));
    return {own_.data(), own_.size()};
  }
  // The bytes as a vector (moved out when owned, copied from a view); this
  // object is empty afterwards.
  std::vector<std::byte> release() {
    std::vector<std::byte> out = owns() ? std::move(own_) : std::vector<std::byte>(begin(), end());
    *this = bytes();
    return out;
  }

  // Keeps `owner` (what holds the viewed bytes) alive with this view. A copy
  // of this object shares it. Nothing to do for bytes this object owns.
  void keep_alive(std::shared_ptr<const void> owner) noexcept {
    if (!owns()) keep_ = std::move(owner);
  }

  friend bool operator==(const bytes& a, const bytes& b) noexcept {
    return a.size_ == b.size_ && (a.size_ == 0 || std::memcmp(a.data_, b.data_, a.size_) == 0);
  }

 private:
  std::vector<std::byte> own_;
  std::shared_ptr<const void> keep_;
  const std::byte* data_ = nullptr;
  std::size_t size_ = 0;
};

// u32 byte count, then the bytes (std::vector<std::byte>'s encoding). Decode
// views the input.
template <>
struct codec<bytes> : detail::streaming_codec<bytes, codec<bytes>> {
  static constexpr std::size_t min_size = 4;
  static std::size_t encoded_size(const bytes& b) noexcept {
    return b.size() > std::numeric_limits<std::uint32_t>::max() ? unencodable : 4 + b.size();
  }
  static void write(const bytes& b, detail::writer& w) noexcept {
    w.put_u32(static_cast<std::uint32_t>(b.size()));
    w.put(b.data(), b.size());
  }
  static bool read(detail::reader& r, bytes& out) noexcept {
    std::uint32_t n = 0;
    if (!r.take_u32(n)) return false;
    const std::byte* p = r.take_span(n);
    if (p == nullptr) return false;
    out = bytes::view_of({p, n});
    return true;
  }
};

}  // namespace herald::wire
