#pragma once

#include <flatbuffers/flatbuffers.h>

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>
#include <span>
#include <string_view>
#include <type_traits>
#include <utility>

#include "herald/result.hpp"
#include "herald/wire/codec.hpp"
#include "herald/wire/fb_verify.hpp"
#include "herald/wire/serializer_pool.hpp"

namespace herald::wire {

// The Verifier limits for a FlatBuffers table message received from a peer.
// The default fits a table with a few levels of nested tables; specialize it
// for a table whose schema is deeper or wider.
template <class Table>
inline constexpr verify_limits fb_limits = verify_limits{.max_depth = 16, .max_tables = 1024};

// A message that is a FlatBuffers table. On the sending side it owns a
// finished buffer in a builder leased from a serializer_pool; on the
// receiving side it is a verified view into the receive buffer (zero copy),
// valid only while that buffer is, unless its owner is handed to the view
// (keep_alive), which then keeps it as long as the message lives. herald
// does so for the reply of a remote ask; a coroutine handler's message views
// a frame that the coroutine frame keeps. Its wire name is the
// table's fully qualified schema name ("bank.Deposit"). Nested in another
// message (a struct member, a vector element) its bytes follow a 4-byte
// length and need not be 8-byte aligned: decoding then copies them into an
// aligned buffer the message owns (one allocation) instead of viewing them.
// Move-only; distinct objects are safe to use from different threads.
template <class Table>
class fb_message {
 public:
  static constexpr std::string_view wire_name = Table::GetFullyQualifiedName();

  fb_message() = default;
  // A moved-from message is empty: it no longer points into the buffer.
  fb_message(fb_message&& o) noexcept
      : lease_(std::move(o.lease_)),
        keep_(std::move(o.keep_)),
        copy_(std::move(o.copy_)),
        data_(std::exchange(o.data_, nullptr)),
        size_(std::exchange(o.size_, 0)) {}
  fb_message& operator=(fb_message&& o) noexcept {
    if (this != &o) {
      lease_ = std::move(o.lease_);
      keep_ = std::move(o.keep_);
      copy_ = std::move(o.copy_);
      data_ = std::exchange(o.data_, nullptr);
      size_ = std::exchange(o.size_, 0);
    }
    return *this;
  }

  // Builds the message: fill(builder) creates the table and returns its
  // offset, e.g. [&](auto& b) { return bank::CreateDeposit(b, 500); }.
  template <class Fill>
    requires std::is_invocable_r_v<flatbuffers::Offset<Table>, Fill, flatbuffers::FlatBufferBuilder&>
  static fb_message build(serializer_pool& pool, Fill&& fill) {
    fb_message m;
    m.lease_ = pool.builder();
    m.lease_->Finish(std::forward<Fill>(fill)(*m.lease_));
    m.data_ = reinterpret_cast<const std::byte*>(m.lease_->GetBufferPointer());
    m.size_ = m.lease_->GetSize();
    return m;
  }

  // Verifies `in` (8-byte aligned, as frame payloads are) and views it in
  // place. Errors: verification_failed.
  static result<fb_message> view(std::span<const std::byte> in, verify_limits limits = fb_limits<Table>) {
    auto root = verify_root<Table>(in, limits);
    if (!root) return std::move(root).error();
    fb_message m;
    m.data_ = in.data();
    m.size_ = in.size();
    return m;
  }

  // Verifies `in`, which may have any alignment, and views an aligned copy
  // of it that the message owns. Errors: verification_failed.
  static result<fb_message> copy_of(std::span<const std::byte> in, verify_limits limits = fb_limits<Table>) {
    fb_message m;
    m.copy_ = std::make_unique_for_overwrite<std::uint64_t[]>((in.size() + 7) / 8);
    auto* dst = reinterpret_cast<std::byte*>(m.copy_.get());
    if (!in.empty()) std::memcpy(dst, in.data(), in.size());
    auto root = verify_root<Table>(std::span<const std::byte>(dst, in.size()), limits);
    if (!root) return std::move(root).error();
    m.data_ = dst;
    m.size_ = in.size();
    return m;
  }

  // Keeps `owner` (what holds the viewed bytes) alive with this message.
  void keep_alive(std::shared_ptr<const void> owner) noexcept { keep_ = std::move(owner); }

  const Table* get() const noexcept {
    return data_ ? flatbuffers::GetRoot<Table>(reinterpret_cast<const std::uint8_t*>(data_)) : nullptr;
  }
  const Table* operator->() const noexcept { return get(); }
  const Table& operator*() const noexcept { return *get(); }
  explicit operator bool() const noexcept { return data_ != nullptr; }

  // The finished buffer: the payload of the message's frame.
  std::span<const std::byte> bytes() const noexcept { return {data_, size_}; }
  // True when this object owns its buffer (built here, or an aligned copy of
  // what it was decoded from), false for a view.
  bool owns_buffer() const noexcept { return static_cast<bool>(lease_) || static_cast<bool>(copy_); }

 private:
  serializer_pool::builder_lease lease_;
  std::shared_ptr<const void> keep_;
  std::unique_ptr<std::uint64_t[]> copy_;
  const std::byte* data_ = nullptr;
  std::size_t size_ = 0;
};

// FlatBuffers table messages travel as their finished buffer; decode verifies
// and returns a view into `in` (keep_alive() makes it own them), or, where
// `in` is not 8-byte aligned (nested in another message), an aligned copy.
template <class Table>
struct codec<fb_message<Table>> {
  static std::size_t encoded_size(const fb_message<Table>& m) noexcept { return m.bytes().size(); }
  static void encode(const fb_message<Table>& m, std::span<std::byte> out) noexcept {
    if (!m.bytes().empty()) std::memcpy(out.data(), m.bytes().data(), m.bytes().size());
  }
  static result<fb_message<Table>> decode(std::span<const std::byte> in) {
    if (reinterpret_cast<std::uintptr_t>(in.data()) % 8 == 0) return fb_message<Table>::view(in);
    return fb_message<Table>::copy_of(in);
  }
};

}  // namespace herald::wire
