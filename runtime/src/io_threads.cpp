#include "io_threads.hpp"

#include <asio/post.hpp>

#include "herald/runtime/connection.hpp"
#include "herald/runtime/io_defer.hpp"

namespace herald::runtime {

namespace {
// The context this io thread runs; null on every other thread.
thread_local asio::io_context* context_of_thread = nullptr;
}  // namespace

bool detail::defer_on_io_thread(void (*fn)(void*), void* arg) noexcept {
  asio::io_context* ctx = context_of_thread;
  if (ctx == nullptr) return false;
  try {
    asio::post(*ctx, [fn, arg] { fn(arg); });
  } catch (...) {
    return false;
  }
  return true;
}

io_threads::io_threads(std::size_t count) {
  if (count == 0) count = 1;
  for (std::size_t i = 0; i < count; ++i) {
    contexts_.push_back(std::make_unique<asio::io_context>(1));
    guards_.emplace_back(asio::make_work_guard(*contexts_.back()));
  }
  for (std::size_t i = 0; i < count; ++i) threads_.emplace_back([ctx = contexts_[i].get()] {
      detail::on_io_thread() = true;
      context_of_thread = ctx;
      ctx->run();
      context_of_thread = nullptr;
    });
}

io_threads::~io_threads() { stop(); }

asio::io_context& io_threads::next() noexcept {
  return *contexts_[next_.fetch_add(1, std::memory_order_relaxed) % contexts_.size()];
}

void io_threads::stop() {
  if (threads_.empty()) return;
  for (auto& g : guards_) g.reset();
  for (auto& c : contexts_) c->stop();
  for (auto& t : threads_) t.join();
  threads_.clear();
  for (bool more = true; more;) {
    more = false;
    for (auto& c : contexts_) {
      c->restart();
      if (c->poll() != 0) more = true;
    }
  }
}

}  // namespace herald::runtime
