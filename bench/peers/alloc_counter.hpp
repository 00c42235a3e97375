// Counts heap allocations made through the global operator new, so that a
// benchmark can report allocations per message for the process it measures.
//
// Include this header in exactly ONE translation unit of a benchmark program
// (the one with main): it replaces the global operator new and delete, which
// the language allows only once per program.
//
// What it counts: every call of any form of operator new / new[] in any thread
// of this process. What it does not count: malloc/calloc/realloc called
// directly (C libraries such as libzmq's message bodies), and the other
// process of a two-process benchmark.
//
// Thread safety: safe for concurrent use; the counter is one relaxed atomic.
#pragma once

#include <atomic>
#include <cstdint>
#include <cstdlib>
#include <new>

namespace herald::bench {

namespace detail {
// A global by necessity: the replaced operator new has no other place to
// report to. It is the only global of the benchmark programs.
inline std::atomic<std::uint64_t> allocation_count{0};

inline void* counted_alloc(std::size_t n) {
  allocation_count.fetch_add(1, std::memory_order_relaxed);
  if (n == 0) n = 1;
  return std::malloc(n);
}

inline void* counted_aligned_alloc(std::size_t n, std::align_val_t al) {
  allocation_count.fetch_add(1, std::memory_order_relaxed);
  auto a = static_cast<std::size_t>(al);
  if (a < sizeof(void*)) a = sizeof(void*);
  std::size_t rounded = (n + a - 1) / a * a;
  if (rounded == 0) rounded = a;
  return std::aligned_alloc(a, rounded);
}
}  // namespace detail

// Allocations made so far by this process through operator new.
inline std::uint64_t allocations() noexcept {
  return detail::allocation_count.load(std::memory_order_relaxed);
}

}  // namespace herald::bench

// noinline: once inlined into callers, malloc() and free() show through and
// g++ reports every new/delete pair as -Wmismatched-new-delete.
[[gnu::noinline]] void* operator new(std::size_t n) {
  if (void* p = herald::bench::detail::counted_alloc(n)) return p;
  throw std::bad_alloc{};
}
[[gnu::noinline]] void* operator new[](std::size_t n) {
  if (void* p = herald::bench::detail::counted_alloc(n)) return p;
  throw std::bad_alloc{};
}
[[gnu::noinline]] void* operator new(std::size_t n, const std::nothrow_t&) noexcept {
  return herald::bench::detail::counted_alloc(n);
}
[[gnu::noinline]] void* operator new[](std::size_t n, const std::nothrow_t&) noexcept {
  return herald::bench::detail::counted_alloc(n);
}
[[gnu::noinline]] void* operator new(std::size_t n, std::align_val_t al) {
  if (void* p = herald::bench::detail::counted_aligned_alloc(n, al)) return p;
  throw std::bad_alloc{};
}
[[gnu::noinline]] void* operator new[](std::size_t n, std::align_val_t al) {
  if (void* p = herald::bench::detail::counted_aligned_alloc(n, al)) return p;
  throw std::bad_alloc{};
}
[[gnu::noinline]] void* operator new(std::size_t n, std::align_val_t al, const std::nothrow_t&) noexcept {
  return herald::bench::detail::counted_aligned_alloc(n, al);
}
[[gnu::noinline]] void* operator new[](std::size_t n, std::align_val_t al, const std::nothrow_t&) noexcept {
  return herald::bench::detail::counted_aligned_alloc(n, al);
}

[[gnu::noinline]] void operator delete(void* p) noexcept { std::free(p); }
[[gnu::noinline]] void operator delete[](void* p) noexcept { std::free(p); }
[[gnu::noinline]] void operator delete(void* p, std::size_t) noexcept { std::free(p); }
[[gnu::noinline]] void operator delete[](void* p, std::size_t) noexcept { std::free(p); }
[[gnu::noinline]] void operator delete(void* p, const std::nothrow_t&) noexcept { std::free(p); }
[[gnu::noinline]] void operator delete[](void* p, const std::nothrow_t&) noexcept { std::free(p); }
[[gnu::noinline]] void operator delete(void* p, std::align_val_t) noexcept { std::free(p); }
[[gnu::noinline]] void operator delete[](void* p, std::align_val_t) noexcept { std::free(p); }
[[gnu::noinline]] void operator delete(void* p, std::size_t, std::align_val_t) noexcept { std::free(p); }
[[gnu::noinline]] void operator delete[](void* p, std::size_t, std::align_val_t) noexcept { std::free(p); }
[[gnu::noinline]] void operator delete(void* p, std::align_val_t, const std::nothrow_t&) noexcept { std::free(p); }
[[gnu::noinline]] void operator delete[](void* p, std::align_val_t, const std::nothrow_t&) noexcept { std::free(p); }
