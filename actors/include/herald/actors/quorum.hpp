#pragma once

#include <chrono>
#include <cstddef>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "herald/actors/actor_ref.hpp"
#include "herald/actors/ask_future.hpp"

namespace herald {

// One successful reply of a quorum ask: the index of the ref it came from
// (in the list given to quorum()) and the reply.
template <class R>
struct vote {
  std::size_t from = 0;
  R value{};
};
template <>
struct vote<void> {
  std::size_t from = 0;
};

// A quorum's outcome: exactly need() successful replies, in the order they
// came, and how many asks had failed by then.
template <class R>
struct quorum_result {
  std::vector<vote<R>> votes;
  std::size_t failed = 0;
};

namespace detail {

// Counts a reply that came after its quorum had decided (system_core.cpp).
void count_quorum_late_reply(system_core& core) noexcept;

template <class T>
system_core* core_of_ref(const actor_ref<T>& r) noexcept {
  if (r.cell()) return &r.cell()->core();
  if (r.remote() && r.remote()->peer && r.remote()->peer->net) return &core_of(*r.remote()->peer->net);
  return nullptr;
}

// The shared state of one quorum: every ask's continuation reports here; the
// one that decides completes `out`. Safe for concurrent use (one mutex,
// taken once per reply).
template <class R>
struct quorum_state {
  std::mutex mutex;
  std::size_t asked = 0;
  std::size_t need = 0;
  std::size_t failed = 0;
  bool decided = false;
  std::vector<vote<R>> votes;
  errc first_failure = errc::ok;
  std::string reasons;  // the first few failures, for the error
  system_core* core = nullptr;
  ask_state_ptr<quorum_result<R>> out;

  void on_reply(std::size_t from, result<R> r) {
    std::optional<result<quorum_result<R>>> decision;
    {
      std::lock_guard lock(mutex);
      if (decided) {
        if (r && core != nullptr) count_quorum_late_reply(*core);
        return;
      }
      if (r) {
        if constexpr (std::is_void_v<R>) {
          votes.push_back(vote<R>{from});
        } else {
          votes.push_back(vote<R>{from, std::move(*r)});
        }
        if (votes.size() == need) decision.emplace(quorum_result<R>{std::move(votes), failed});
      } else {
        if (failed++ == 0) first_failure = r.error().code();
        if (failed <= 3) reasons += (failed > 1 ? "; " : "") + r.error().message();
        if (failed > asked - need) {
          decision.emplace(error(first_failure, "quorum of " + std::to_string(need) + " of " + std::to_string(asked) +
                                                    " is out of reach: " + std::to_string(failed) + " failed (" +
                                                    reasons + (failed > 3 ? "; ..." : "") + ")"));
        }
      }
      if (decision) decided = true;
    }
    if (decision) (void)out->complete(std::move(*decision));
  }
};

}  // namespace detail

// An ask to several actors that decides as soon as the answer is known:
//
//   auto r = herald::quorum(replicas, write{key, value}).need(2).within(200ms).get();
//   co_await herald::quorum(replicas, write{key, value}).need(2).within(200ms);
//
// It sends one ask to each ref (local or remote, in one pass: asks to the
// same link share its writes) and completes as soon as need() of them have
// succeeded, with their replies; or fails as soon as success is out of
// reach (more than n - need() have failed: errc::node_down, timeout,
// handler_failed, mailbox_full, ...), without waiting for the others, with
// the code of the first failure and a message that counts them and names the
// first few. The asks still out when it decides are abandoned: their replies
// are dropped and counted (system_metrics::quorum_late_replies). within()
// is each ask's deadline; without it asks wait for their reply (or their
// link's loss). need() defaults to all of them (all_of); first_of() is
// need(1). need(0) or more than there are refs fails with
// errc::invalid_argument.
template <class T, class M>
class [[nodiscard]] quorum_call {
 public:
  using reply_type = detail::reply_t<T, M>;
  using result_type = quorum_result<reply_type>;

  quorum_call(std::vector<actor_ref<T>> refs, M message)
      : refs_(std::move(refs)), message_(std::move(message)), need_(refs_.size()) {}

  quorum_call& need(std::size_t k) & {
    need_ = k;
    return *this;
  }
  quorum_call&& need(std::size_t k) && { return std::move(need(k)); }
  template <class Rep, class Period>
  quorum_call& within(std::chrono::duration<Rep, Period> d) & {
    timeout_ = std::chrono::duration_cast<std::chrono::nanoseconds>(d);
    return *this;
  }
  template <class Rep, class Period>
  quorum_call&& within(std::chrono::duration<Rep, Period> d) && {
    return std::move(within(d));
  }

  // Sends the asks; the future completes at the decision.
  ask_future<result_type> send() {
    if (refs_.empty() || need_ == 0 || need_ > refs_.size()) {
      return ask_future<result_type>::ready(error(errc::invalid_argument,
                                                  "quorum of " + std::to_string(need_) + " of " +
                                                      std::to_string(refs_.size()) + " refs"));
    }
    auto st = std::make_shared<detail::quorum_state<reply_type>>();
    st->asked = refs_.size();
    st->need = need_;
    st->votes.reserve(need_);
    for (const auto& r : refs_) {
      if ((st->core = detail::core_of_ref(r)) != nullptr) break;
    }
    st->out = detail::ask_state_ptr<result_type>::adopt(new detail::ask_state<result_type>());
    ask_future<result_type> f(st->out);
    for (std::size_t i = 0; i < refs_.size(); ++i) {
      auto reply = timeout_ ? refs_[i].ask(message_, *timeout_) : refs_[i].ask(message_);
      std::move(reply).then([st, i](result<reply_type> r) { st->on_reply(i, std::move(r)); });
    }
    return f;
  }
  // Sends and blocks until the decision (outside a handler).
  result<result_type> get() { return send().get(); }
  // In a coroutine handler: `co_await quorum(...)`.
  auto operator co_await() && { return send().operator co_await(); }

 private:
  std::vector<actor_ref<T>> refs_;
  M message_;
  std::size_t need_;
  std::optional<std::chrono::nanoseconds> timeout_;
};

template <class T, class M>
quorum_call<T, std::decay_t<M>> quorum(std::vector<actor_ref<T>> refs, M&& message) {
  return quorum_call<T, std::decay_t<M>>(std::move(refs), std::forward<M>(message));
}
// The first successful reply of any of them.
template <class T, class M>
quorum_call<T, std::decay_t<M>> first_of(std::vector<actor_ref<T>> refs, M&& message) {
  return quorum(std::move(refs), std::forward<M>(message)).need(1);
}
// Every one of them succeeds, or the first failure ends it.
template <class T, class M>
quorum_call<T, std::decay_t<M>> all_of(std::vector<actor_ref<T>> refs, M&& message) {
  return quorum(std::move(refs), std::forward<M>(message));
}

}  // namespace herald
