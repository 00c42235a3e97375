#pragma once

#include <cstddef>

namespace herald::runtime {

// Something a worker thread can run: in herald, an actor with mail. The
// scheduler calls run() on one worker at a time for a given object; the object
// decides itself whether to be scheduled again (see scheduler::schedule).
class schedulable {
 public:
  virtual ~schedulable() = default;

  // Does at most `budget` units of work (messages) on the calling worker.
  virtual void run(std::size_t budget) noexcept = 0;
  // Keeps the object alive while it sits in the ready queue.
  virtual void retain() noexcept = 0;
  virtual void release() noexcept = 0;
};

}  // namespace herald::runtime
