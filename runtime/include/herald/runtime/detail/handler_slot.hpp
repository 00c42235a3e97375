#pragma once

#include <atomic>
#include <cstddef>
#include <new>
#include <utility>

namespace herald::runtime::detail {

// Memory for one Asio handler at a time, kept in the object that posts it.
//
// A handler posted to an io_context from a thread that is not running it
// (a worker waking a connection's writer) gets its operation from the heap:
// Asio's per-thread recycling cache exists only on threads inside run().
// Worse, the operation is freed on the io thread, into that thread's small
// cache, where it evicts the blocks the io thread's own reads and writes
// reuse; on an ask round trip that is two allocations per wake-up. A handler
// bound to a slot (with_slot) takes its operation from the slot and gives it
// back there, touching neither the heap nor any thread's cache; while the
// slot is taken (a second post before the first ran) it falls back to the
// heap.
//
// Thread safety: any thread may allocate, any thread may deallocate. The
// slot must outlive every handler bound to it: bind only handlers that hold
// the slot's owner alive (Asio frees the operation while the handler, moved
// out of it, is still alive).
class handler_slot {
 public:
  static constexpr std::size_t capacity = 256;

  handler_slot() = default;
  handler_slot(const handler_slot&) = delete;
  handler_slot& operator=(const handler_slot&) = delete;

  void* allocate(std::size_t n) {
    if (n <= capacity && !in_use_.load(std::memory_order_relaxed) &&
        !in_use_.exchange(true, std::memory_order_acquire))
      return storage_;
    return ::operator new(n);
  }
  void deallocate(void* p) noexcept {
    if (p == storage_) in_use_.store(false, std::memory_order_release);
    else ::operator delete(p);
  }
  bool in_use() const noexcept { return in_use_.load(std::memory_order_acquire); }

 private:
  alignas(std::max_align_t) std::byte storage_[capacity];
  std::atomic<bool> in_use_{false};
};

template <class T>
class slot_allocator {
 public:
  using value_type = T;
  explicit slot_allocator(handler_slot& s) noexcept : slot_(&s) {}
  template <class U>
  slot_allocator(const slot_allocator<U>& o) noexcept : slot_(o.slot()) {}

  T* allocate(std::size_t n) { return static_cast<T*>(slot_->allocate(n * sizeof(T))); }
  void deallocate(T* p, std::size_t) noexcept { slot_->deallocate(p); }
  handler_slot* slot() const noexcept { return slot_; }

  template <class U>
  bool operator==(const slot_allocator<U>& o) const noexcept {
    return slot_ == o.slot();
  }

 private:
  handler_slot* slot_;
};

// A handler whose associated allocator (Asio finds allocator_type and
// get_allocator()) is `slot`'s.
template <class Handler>
class slot_handler {
 public:
  using allocator_type = slot_allocator<void>;
  slot_handler(handler_slot& slot, Handler h) : slot_(&slot), h_(std::move(h)) {}
  allocator_type get_allocator() const noexcept { return allocator_type(*slot_); }
  template <class... Args>
  void operator()(Args&&... args) {
    h_(std::forward<Args>(args)...);
  }

 private:
  handler_slot* slot_;
  Handler h_;
};

template <class Handler>
slot_handler<Handler> with_slot(handler_slot& slot, Handler h) {
  return slot_handler<Handler>(slot, std::move(h));
}

}  // namespace herald::runtime::detail
