#include "herald/runtime/timer_queue.hpp"

namespace herald::runtime {

timer_queue::timer_queue() : thread_([this] { loop(); }) {}

timer_queue::~timer_queue() { stop(); }

void timer_queue::at(clock::time_point deadline, std::function<void()> fn) {
  {
    std::lock_guard lock(mutex_);
    if (!stopping_) {
      bool earliest = heap_.empty() || deadline < heap_.top().deadline;
      heap_.push(entry{deadline, next_seq_++, std::move(fn)});
      if (!earliest) return;
    } else {
      fn = nullptr;
    }
  }
  wake_.notify_one();
}

void timer_queue::stop() {
  {
    std::lock_guard lock(mutex_);
    if (stopping_) return;
    stopping_ = true;
  }
  wake_.notify_one();
  if (thread_.joinable()) thread_.join();
}

std::size_t timer_queue::pending() const {
  std::lock_guard lock(mutex_);
  return heap_.size();
}

void timer_queue::loop() {
  std::unique_lock lock(mutex_);
  for (;;) {
    if (stopping_) break;
    if (heap_.empty()) {
      wake_.wait(lock);
      continue;
    }
    auto deadline = heap_.top().deadline;
    if (clock::now() < deadline) {
      wake_.wait_until(lock, deadline);
      continue;
    }
    // priority_queue::top() is const; the entry is popped right after.
    auto fn = std::move(const_cast<entry&>(heap_.top()).fn);
    heap_.pop();
    lock.unlock();
    fn();
    lock.lock();
  }
  // On stop every remaining callback runs once, so nothing waits forever.
  while (!heap_.empty()) {
    auto fn = std::move(const_cast<entry&>(heap_.top()).fn);
    heap_.pop();
    lock.unlock();
    fn();
    lock.lock();
  }
}

}  // namespace herald::runtime
