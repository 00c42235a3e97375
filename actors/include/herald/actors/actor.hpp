#pragma once

#include "herald/actors/actor_ref.hpp"
#include "herald/actors/detail/cell.hpp"
#include "herald/actors/messages.hpp"

namespace herald {

class actor_system;

namespace detail {
actor_system& system_of(cell_base& c) noexcept;
void monitor_remote(const remote_target& target, cell_base& watcher, cell_base::down_fn deliver);
}

// The base of every actor class (CRTP): `class account : public
// herald::actor<account>`. Handlers are overloads of `on(const M&)`; the return
// type is the reply to an ask (void for none; task<R> to co_await inside).
//
// An actor's members are touched only by its own handlers, which never run on
// two threads at once, so they need no locks. Hide on_start()/on_stop() to
// run code when the actor starts (before its first message, and after every
// restart) and when it stops.
template <class Derived>
class actor {
 public:
  void on_start() {}
  void on_stop() {}

 protected:
  actor() noexcept : cell_(detail::constructing_cell()) {}
  ~actor() = default;
  actor(const actor&) = delete;
  actor& operator=(const actor&) = delete;

  // A ref to this actor, to hand to others.
  actor_ref<Derived> self() const { return actor_ref<Derived>(detail::ref_ptr<detail::cell_base>(cell_)); }
  actor_id id() const noexcept { return cell_->id(); }
  actor_system& system() const noexcept { return detail::system_of(*cell_); }

  // Stops this actor once the current handler returns. Mail still queued is
  // not handled: tells become dead letters, asks fail with errc::actor_stopped.
  void stop() noexcept { cell_->request_stop(error(errc::actor_stopped, "stopped by itself")); }

  // True once this actor has been asked to stop (by stop(), actor_system::stop
  // or shutdown). A long-running handler may poll it to finish early: the
  // actor stops when the handler returns.
  bool stop_requested() const noexcept { return cell_->stop_requested(); }

  // Delivers a herald::down to this actor's `on(const down&)` when `target`
  // stops (at once if it already has).
  template <class T>
  void monitor(const actor_ref<T>& target) {
    static_assert(handles<Derived, down>, "herald: an actor that calls monitor() needs a handler `on(const herald::down&)`");
    if (!target) return;
    if (target.cell()) {
      target.cell()->add_monitor(detail::ref_ptr<detail::cell_base>(cell_), &detail::deliver_down<Derived>);
    } else {
      detail::monitor_remote(*target.remote(), *cell_, &detail::deliver_down<Derived>);
    }
  }

 private:
  detail::cell_base* cell_;
};

}  // namespace herald
