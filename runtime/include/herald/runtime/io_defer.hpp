#pragma once

namespace herald::runtime::detail {

// On one of a node's io threads: arranges for fn(arg) to run on this same
// thread right after the handler now running returns (after the frames of one
// read, say), before the thread waits for more input. Returns false, and
// arranges nothing, on any other thread or when out of memory; the caller
// then does the work at once. Asio runs such a handler from the thread's own
// queue: no lock, no wake-up, no allocation once warm.
bool defer_on_io_thread(void (*fn)(void*), void* arg) noexcept;

}  // namespace herald::runtime::detail
