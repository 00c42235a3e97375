#pragma once

#include <asio/executor_work_guard.hpp>
#include <asio/io_context.hpp>

#include <atomic>
#include <memory>
#include <optional>
#include <thread>
#include <vector>

namespace herald::runtime {

// A small pool of Asio io_contexts, each run by one thread. A connection
// lives on one context, so its reader, writer and timers never race.
// start/stop from the owning thread; next() is safe for concurrent use.
class io_threads {
 public:
  explicit io_threads(std::size_t count);
  ~io_threads();

  // Round-robin choice of a context for a new connection.
  asio::io_context& next() noexcept;
  std::size_t size() const noexcept { return contexts_.size(); }
  asio::io_context& at(std::size_t i) noexcept { return *contexts_[i]; }

  // Makes every thread return from run() and joins them; then runs what is
  // left in the queues on the calling thread until nothing is, so that every
  // handler (and what it keeps alive) is released.
  void stop();

 private:
  using guard = asio::executor_work_guard<asio::io_context::executor_type>;
  std::vector<std::unique_ptr<asio::io_context>> contexts_;
  std::vector<std::optional<guard>> guards_;
  std::vector<std::thread> threads_;
  std::atomic<std::size_t> next_{0};
};

}  // namespace herald::runtime
