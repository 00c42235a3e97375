#include "herald/actors/detail/mailbox.hpp"

#include <atomic>

#include "herald/runtime/detail/thread_cache.hpp"

namespace herald::detail {
namespace {

struct node_policy {
  static constexpr std::size_t batch = node_pool::batch;
  static constexpr std::size_t thread_cap = node_pool::thread_cap;
  static constexpr std::size_t exchange_cap = node_pool::exchange_cap;
  static constexpr std::size_t block_bytes = sizeof(mailbox_node);
  static void destroy(void* p) noexcept { delete static_cast<mailbox_node*>(p); }
};
using node_cache = runtime::detail::thread_cache<node_policy>;

std::atomic<std::uint64_t> allocations{0};

}  // namespace

mailbox_node* node_pool::acquire() {
  if (void* p = node_cache::take()) {
    auto* n = static_cast<mailbox_node*>(p);
    n->admitted = false;
    return n;
  }
  auto* n = new mailbox_node;
  allocations.fetch_add(1, std::memory_order_relaxed);
  return n;
}

void node_pool::release(mailbox_node* n) noexcept { node_cache::give(n); }

std::uint64_t node_pool::allocated() noexcept { return allocations.load(std::memory_order_relaxed); }

}  // namespace herald::detail
