#pragma once

#include <cstddef>
#include <cstdint>
#include <new>
#include <type_traits>
#include <typeinfo>
#include <utility>

#include "herald/error.hpp"

namespace herald::detail {

class cell_base;
class envelope;

// What can be done with the message inside an envelope. One static table per
// (actor type, message type, tell/ask) instantiation.
struct envelope_ops {
  // Runs the handler on the actor's worker. May throw (the supervisor decides).
  void (*invoke)(cell_base& cell, envelope& e);
  // The actor will never run it (stopped): fail the ask, or count a dead letter.
  void (*reject)(cell_base& cell, envelope& e, const error& why) noexcept;
  // The handler threw while running it: fail the ask, if it is one.
  void (*fail_reply)(envelope& e, const error& why) noexcept;
  // Move-constructs the payload of `src` into `dst` and destroys it in `src`.
  void (*relocate)(envelope& dst, envelope& src) noexcept;
  void (*destroy)(envelope& e) noexcept;
  const std::type_info* message_type;
};

// A message on its way into a mailbox: an ops table, two words of routing
// (the ask's reply state, a coroutine frame), and the message itself, inline
// when it fits (no allocation per message), on the heap otherwise.
// Move-only; confined to one thread at a time (it travels through the mailbox).
class envelope {
 public:
  // Room for a remote frame with a small payload inline (detail::remote_call),
  // so that neither local nor remote messages allocate per send.
  static constexpr std::size_t inline_size = 176;
  static constexpr std::size_t inline_align = alignof(std::max_align_t) > 8 ? 8 : alignof(std::max_align_t);

  template <class M>
  static constexpr bool fits_inline =
      sizeof(M) <= inline_size && alignof(M) <= inline_align && std::is_nothrow_move_constructible_v<M>;

  envelope() noexcept = default;
  envelope(envelope&& o) noexcept { take(o); }
  envelope& operator=(envelope&& o) noexcept {
    if (this != &o) {
      reset();
      take(o);
    }
    return *this;
  }
  ~envelope() { reset(); }

  explicit operator bool() const noexcept { return ops != nullptr; }
  void reset() noexcept {
    if (ops) ops->destroy(*this);
    ops = nullptr;
  }

  // Stores M (inline or on the heap); `ops` must then be set by the caller.
  template <class M, class... Args>
  void emplace_message(Args&&... args) {
    if constexpr (fits_inline<M>) {
      ::new (static_cast<void*>(storage)) M(std::forward<Args>(args)...);
    } else {
      M* p = new M(std::forward<Args>(args)...);
      ::new (static_cast<void*>(storage)) M*(p);
    }
  }
  template <class M>
  M& message() noexcept {
    if constexpr (fits_inline<M>) {
      return *std::launder(reinterpret_cast<M*>(storage));
    } else {
      return **std::launder(reinterpret_cast<M**>(storage));
    }
  }
  template <class M>
  void relocate_message(envelope& src) noexcept {
    if constexpr (fits_inline<M>) {
      ::new (static_cast<void*>(storage)) M(std::move(src.message<M>()));
      src.message<M>().~M();
    } else {
      ::new (static_cast<void*>(storage)) M*(*std::launder(reinterpret_cast<M**>(src.storage)));
    }
  }
  template <class M>
  void destroy_message() noexcept {
    if constexpr (fits_inline<M>) {
      message<M>().~M();
    } else {
      delete &message<M>();
    }
  }

  const envelope_ops* ops = nullptr;
  void* aux = nullptr;          // ask reply state or coroutine frame, owned per ops
  std::uint64_t aux2 = 0;       // e.g. the state generation a coroutine belongs to
  alignas(inline_align) std::byte storage[inline_size];

 private:
  void take(envelope& o) noexcept {
    ops = o.ops;
    aux = std::exchange(o.aux, nullptr);
    aux2 = o.aux2;
    if (ops) ops->relocate(*this, o);
    o.ops = nullptr;
  }
};

static_assert(sizeof(envelope) == 200, "an envelope is 24 bytes of routing plus the inline message");

}  // namespace herald::detail
