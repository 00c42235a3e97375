#include "io_threads.hpp"

#include "herald/runtime/connection.hpp"

namespace herald::runtime {

io_threads::io_threads(std::size_t count) {
  if (count == 0) count = 1;
  for (std::size_t i = 0; i < count; ++i) {
    contexts_.push_back(std::make_unique<asio::io_context>(1));
    guards_.emplace_back(asio::make_work_guard(*contexts_.back()));
  }
  for (std::size_t i = 0; i < count; ++i) threads_.emplace_back([ctx = contexts_[i].get()] {
      detail::on_io_thread() = true;
      ctx->run();
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
