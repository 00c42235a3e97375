#pragma once
// The actors of the three-node bank example, shared by herald-node (which
// hosts them) and example_cluster_client (which drives them from a fourth
// node). Every node of the cluster lists the same types in start_node, so
// that their schema hashes match.
//
// On a node named N: an account "acct-N", a teller "teller-N" that moves
// money between accounts anywhere in the cluster with co_await ask, and an
// auditor "auditor-N" that monitors accounts (also on other nodes) and
// remembers how each one went down.
#include <cstdint>
#include <cstdio>
#include <herald/herald.hpp>
#include <string>
#include <vector>

namespace bank {

struct deposit {
  static constexpr std::string_view wire_name = "bank.deposit";
  std::int64_t cents = 0;
};
struct withdraw {
  static constexpr std::string_view wire_name = "bank.withdraw";
  std::int64_t cents = 0;
};
struct balance {
  static constexpr std::string_view wire_name = "bank.balance";
  std::uint8_t unused = 0;
};

class account : public herald::actor<account> {
 public:
  using messages = herald::messages<deposit, withdraw, balance>;
  void on(const deposit& d) { cents_ += d.cents; }
  bool on(const withdraw& w) {
    if (w.cents > cents_) return false;
    cents_ -= w.cents;
    return true;
  }
  std::int64_t on(const balance&) const { return cents_; }

 private:
  std::int64_t cents_ = 0;
};

// Moves cents from one named account to another, wherever they live.
struct transfer {
  static constexpr std::string_view wire_name = "bank.transfer";
  std::string from;
  std::string to;
  std::int64_t cents = 0;
  auto fields() { return std::tie(from, to, cents); }
};

class teller : public herald::actor<teller> {
 public:
  using messages = herald::messages<transfer>;

  // Both asks suspend this handler without blocking the worker: the teller
  // keeps serving other transfers meanwhile. The message is taken by value:
  // a coroutine keeps its parameters in its frame, while the message a
  // reference would point to is gone once the handler first suspends.
  herald::task<std::string> on(transfer t) {
    auto from = system().lookup<account>(t.from);
    auto to = system().lookup<account>(t.to);
    if (!from) co_return "failed: " + from.error().message();
    if (!to) co_return "failed: " + to.error().message();
    auto ok = co_await from->ask(withdraw{t.cents}, std::chrono::seconds(2));
    if (!ok) co_return "failed: " + ok.error().message();
    if (!*ok) co_return "refused: " + t.from + " lacks " + std::to_string(t.cents) + " cents";
    auto put = co_await to->ask(deposit{t.cents}, std::chrono::seconds(2));
    if (!put) {
      (void)from->tell(deposit{t.cents});  // give it back
      co_return "failed: " + put.error().message();
    }
    co_return "moved " + std::to_string(t.cents) + " cents from " + t.from + " to " + t.to;
  }
};

// Asks an auditor to monitor the named account; the reply says where it is.
struct watch {
  static constexpr std::string_view wire_name = "bank.watch";
  std::string name;
  auto fields() { return std::tie(name); }
};
// What the auditor saw go down, one line per account.
struct audit_report {
  static constexpr std::string_view wire_name = "bank.audit_report";
  std::uint8_t unused = 0;
};

class auditor : public herald::actor<auditor> {
 public:
  using messages = herald::messages<watch, audit_report>;
  explicit auditor(std::string node) : node_(std::move(node)) {}

  std::string on(const watch& w) {
    auto a = system().lookup<account>(w.name);
    if (!a) return "cannot watch " + w.name + ": " + a.error().message();
    monitor(*a);
    watched_.push_back({a->id(), a->node_id(), w.name});
    return "auditor-" + node_ + " watches " + w.name +
           (a->is_remote() ? " on node " + std::to_string(a->node_id()) : " here");
  }
  void on(const herald::down& d) {
    std::string name = "actor " + std::to_string(d.who);
    for (const auto& w : watched_) {
      if (w.id == d.who && w.node == d.node) name = w.name;
    }
    seen_.push_back(name + " down: " + std::string(herald::to_string(d.reason.code())) + " (" +
                    d.reason.message() + ")");
    std::printf("[%s] auditor: %s\n", node_.c_str(), seen_.back().c_str());
    std::fflush(stdout);
  }
  std::vector<std::string> on(const audit_report&) const { return seen_; }

 private:
  struct watched {
    herald::actor_id id;
    std::uint64_t node;
    std::string name;
  };
  std::string node_;
  std::vector<watched> watched_;
  std::vector<std::string> seen_;
};

// Spawns the actors of node `node` under their cluster-wide names.
inline herald::result<void> spawn_branch(herald::actor_system& sys, const std::string& node) {
  if (auto a = sys.spawn<account>(herald::name("acct-" + node)); !a) return std::move(a).error();
  if (auto t = sys.spawn<teller>(herald::name("teller-" + node)); !t) return std::move(t).error();
  if (auto a = sys.spawn<auditor>(herald::name("auditor-" + node), node); !a) return std::move(a).error();
  return {};
}

}  // namespace bank
