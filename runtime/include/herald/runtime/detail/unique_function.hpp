#pragma once

#include <cstddef>
#include <new>
#include <type_traits>
#include <utility>

namespace herald::runtime::detail {

template <class Signature>
class unique_function;

// A move-only std::function with room for a small callable inline (two
// shared_ptrs fit), so that registering a completion does not allocate.
// Distinct objects safe, shared unsafe.
template <class R, class... Args>
class unique_function<R(Args...)> {
 public:
  static constexpr std::size_t inline_size = 48;

  unique_function() noexcept = default;
  unique_function(std::nullptr_t) noexcept {}

  template <class F>
    requires(!std::is_same_v<std::remove_cvref_t<F>, unique_function> && std::is_invocable_r_v<R, F&, Args...>)
  unique_function(F&& f) {
    using T = std::remove_cvref_t<F>;
    if constexpr (sizeof(T) <= inline_size && alignof(T) <= alignof(std::max_align_t) &&
                  std::is_nothrow_move_constructible_v<T>) {
      ::new (static_cast<void*>(storage_)) T(std::forward<F>(f));
      ops_ = &inline_ops<T>;
    } else {
      *reinterpret_cast<T**>(storage_) = new T(std::forward<F>(f));
      ops_ = &heap_ops<T>;
    }
  }

  unique_function(unique_function&& o) noexcept : ops_(o.ops_) {
    if (ops_) ops_->move(o.storage_, storage_);
    o.ops_ = nullptr;
  }
  unique_function& operator=(unique_function&& o) noexcept {
    if (this != &o) {
      reset();
      ops_ = o.ops_;
      if (ops_) ops_->move(o.storage_, storage_);
      o.ops_ = nullptr;
    }
    return *this;
  }
  unique_function(const unique_function&) = delete;
  unique_function& operator=(const unique_function&) = delete;
  ~unique_function() { reset(); }

  explicit operator bool() const noexcept { return ops_ != nullptr; }
  R operator()(Args... args) { return ops_->call(storage_, std::forward<Args>(args)...); }

  void reset() noexcept {
    if (ops_) ops_->destroy(storage_);
    ops_ = nullptr;
  }

 private:
  struct ops {
    R (*call)(void*, Args&&...);
    void (*move)(void* from, void* to) noexcept;
    void (*destroy)(void*) noexcept;
  };

  template <class T>
  static constexpr ops inline_ops{
      [](void* p, Args&&... a) -> R { return (*static_cast<T*>(p))(std::forward<Args>(a)...); },
      [](void* from, void* to) noexcept {
        ::new (to) T(std::move(*static_cast<T*>(from)));
        static_cast<T*>(from)->~T();
      },
      [](void* p) noexcept { static_cast<T*>(p)->~T(); }};

  template <class T>
  static constexpr ops heap_ops{
      [](void* p, Args&&... a) -> R { return (**static_cast<T**>(p))(std::forward<Args>(a)...); },
      [](void* from, void* to) noexcept { *static_cast<T**>(to) = *static_cast<T**>(from); },
      [](void* p) noexcept { delete *static_cast<T**>(p); }};

  alignas(std::max_align_t) unsigned char storage_[inline_size];
  const ops* ops_ = nullptr;
};

}  // namespace herald::runtime::detail
