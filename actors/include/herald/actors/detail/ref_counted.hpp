#pragma once

#include <atomic>
#include <cstdint>
#include <utility>

namespace herald::detail {

// A strong reference to an object with retain()/release() (an intrusive count).
// Distinct objects are safe to use from different threads; one shared object is not.
template <class T>
class ref_ptr {
 public:
  ref_ptr() = default;
  // Adopts a reference the caller already holds.
  static ref_ptr adopt(T* p) noexcept {
    ref_ptr r;
    r.p_ = p;
    return r;
  }
  explicit ref_ptr(T* p) noexcept : p_(p) {
    if (p_) p_->retain();
  }
  ref_ptr(const ref_ptr& o) noexcept : ref_ptr(o.p_) {}
  ref_ptr(ref_ptr&& o) noexcept : p_(std::exchange(o.p_, nullptr)) {}
  template <class U>
    requires std::is_convertible_v<U*, T*>
  ref_ptr(ref_ptr<U> o) noexcept : p_(o.detach()) {}
  ref_ptr& operator=(ref_ptr o) noexcept {
    std::swap(p_, o.p_);
    return *this;
  }
  ~ref_ptr() {
    if (p_) p_->release();
  }

  T* get() const noexcept { return p_; }
  T* operator->() const noexcept { return p_; }
  T& operator*() const noexcept { return *p_; }
  explicit operator bool() const noexcept { return p_ != nullptr; }
  // Gives up ownership without releasing.
  T* detach() noexcept { return std::exchange(p_, nullptr); }
  friend bool operator==(const ref_ptr& a, const ref_ptr& b) noexcept { return a.p_ == b.p_; }

 private:
  T* p_ = nullptr;
};

// A base with an atomic reference count that deletes itself at zero.
class ref_counted {
 public:
  void retain() noexcept { refs_.fetch_add(1, std::memory_order_relaxed); }
  void release() noexcept {
    if (refs_.fetch_sub(1, std::memory_order_acq_rel) == 1) delete this;
  }

 protected:
  ref_counted() = default;
  virtual ~ref_counted() = default;

 private:
  std::atomic<std::uint32_t> refs_{1};
};

}  // namespace herald::detail
