#include "herald/registry/runtime_cluster.hpp"

#include <gtest/gtest.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <iostream>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "registry/runtime_harness.hpp"
#include "support/test_support.hpp"

// Cluster nodes as separate processes on loopback TCP: the test forks one
// child per node, each reporting its membership events as lines on a pipe,
// and kills, stops and continues them with real signals.

namespace herald::registry {
namespace {

using namespace std::chrono_literals;
using steady = std::chrono::steady_clock;

// Reports "<event> <node>" per member event, "link <node>" per lost link,
// "names <count>" per registry change.
[[noreturn]] void run_child(std::uint64_t id, const std::string& seed, int report_fd, int address_fd,
                            std::uint64_t incarnation = 0) {
  auto report = [report_fd](const member_event& e) {
    const std::string line = std::string(to_string(e.kind)) + " " + std::to_string(e.member.key.node) + " " +
                             std::to_string(e.member.key.incarnation) + "\n";
    (void)!::write(report_fd, line.data(), line.size());
  };
  auto link_down = [report_fd](const runtime::peer_info& p) {
    const std::string line = "link " + std::to_string(p.node_id) + "\n";
    (void)!::write(report_fd, line.data(), line.size());
  };
  std::vector<std::string> seeds;
  if (!seed.empty()) seeds.push_back(seed);
  auto n = test::loopback_node::start(id, seeds, report, link_down, incarnation);
  if (!n) ::_exit(2);
  name_registry& reg = n->cluster->registry();
  reg.subscribe([report_fd, &reg](const registry_event& e) {
    std::string line = "names " + std::to_string(reg.size()) + "\n";
    // Who holds the visible claim of a name now: "name <node> <incarnation>".
    if (e.kind == registry_event_kind::added || e.kind == registry_event_kind::moved) {
      line += "name " + std::to_string(e.entry.owner.node) + " " + std::to_string(e.entry.owner.incarnation) + "\n";
    }
    (void)!::write(report_fd, line.data(), line.size());
  });
  (void)reg.register_local("proc-" + std::to_string(id), id, 1);
  if (address_fd >= 0) {
    const std::string a = n->address() + "\n";
    (void)!::write(address_fd, a.data(), a.size());
    ::close(address_fd);
  }
  for (;;) ::pause();  // until the parent's SIGKILL
}

struct event {
  std::string kind;
  std::uint64_t node;
  std::uint64_t incarnation = 0;
  steady::time_point at;
};

struct child {
  std::uint64_t id = 0;
  pid_t pid = -1;
  int fd = -1;
  std::string pending;
  std::vector<event> events;

  bool saw(const std::string& kind, std::uint64_t node, steady::time_point after = {}) const {
    for (const event& e : events) {
      if (e.kind == kind && e.node == node && e.at >= after) return true;
    }
    return false;
  }
  bool saw(const std::string& kind, std::uint64_t node, std::uint64_t incarnation, steady::time_point after) const {
    for (const event& e : events) {
      if (e.kind == kind && e.node == node && e.incarnation == incarnation && e.at >= after) return true;
    }
    return false;
  }
  // The last "names" report: how many names this node's registry holds.
  std::uint64_t names() const {
    for (auto it = events.rbegin(); it != events.rend(); ++it) {
      if (it->kind == "names") return it->node;
    }
    return 0;
  }
  steady::time_point when(const std::string& kind, std::uint64_t node, steady::time_point after) const {
    for (const event& e : events) {
      if (e.kind == kind && e.node == node && e.at >= after) return e.at;
    }
    return steady::time_point::max();
  }
};

class ClusterProcess : public ::testing::Test {
 protected:
  void TearDown() override {
    for (child& c : children_) {
      if (c.pid > 0) {
        ::kill(c.pid, SIGCONT);
        ::kill(c.pid, SIGKILL);
        ::waitpid(c.pid, nullptr, 0);
      }
      if (c.fd >= 0) ::close(c.fd);
    }
  }

  // Forks node `id`; returns its listen address when want_address.
  std::string spawn(std::uint64_t id, const std::string& seed, bool want_address, std::uint64_t incarnation = 0) {
    int report[2];
    int address[2] = {-1, -1};
    if (::pipe(report) != 0 || (want_address && ::pipe(address) != 0)) return {};
    const pid_t pid = ::fork();
    if (pid == 0) {
      ::close(report[0]);
      if (want_address) ::close(address[0]);
      run_child(id, seed, report[1], address[1], incarnation);
    }
    ::close(report[1]);
    children_.push_back(child{id, pid, report[0], {}, {}});
    if (!want_address) return {};
    ::close(address[1]);
    std::string out;
    char ch;
    pollfd p{address[0], POLLIN, 0};
    while (::poll(&p, 1, 5000) > 0 && ::read(address[0], &ch, 1) == 1 && ch != '\n') out.push_back(ch);
    ::close(address[0]);
    return out;
  }

  // Reads whatever the children reported, for up to 10 ms.
  void pump() {
    std::vector<pollfd> fds;
    for (const child& c : children_) fds.push_back(pollfd{c.fd, POLLIN, 0});
    if (::poll(fds.data(), fds.size(), 10) <= 0) return;
    const auto now = steady::now();
    for (std::size_t i = 0; i < fds.size(); ++i) {
      if ((fds[i].revents & POLLIN) == 0) continue;
      char buf[4096];
      const ssize_t n = ::read(fds[i].fd, buf, sizeof buf);
      if (n <= 0) continue;
      child& c = children_[i];
      c.pending.append(buf, static_cast<std::size_t>(n));
      for (std::size_t nl; (nl = c.pending.find('\n')) != std::string::npos;) {
        std::istringstream line(c.pending.substr(0, nl));
        c.pending.erase(0, nl + 1);
        event e;
        line >> e.kind >> e.node >> e.incarnation;
        e.at = now;
        c.events.push_back(e);
      }
    }
  }

  template <class Pred>
  bool until(Pred pred, std::chrono::milliseconds limit) {
    const auto end = steady::now() + limit;
    while (steady::now() < end) {
      pump();
      if (pred()) return true;
    }
    return pred();
  }

  child& node(std::uint64_t id) { return children_.at(id - 1); }

  std::vector<child> children_;
};

double ms(steady::duration d) { return std::chrono::duration<double, std::milli>(d).count(); }

class ClusterProcessJoin : public ClusterProcess, public ::testing::WithParamInterface<std::uint64_t> {};

TEST_P(ClusterProcessJoin, SeparateProcessesAgreeOnMembersAndNames) {
  if (herald::test::sanitized()) GTEST_SKIP() << "timing bounds do not hold under a sanitizer";
  const std::uint64_t n = GetParam();
  const auto t0 = steady::now();
  const std::string seed = spawn(1, "", true);
  ASSERT_FALSE(seed.empty());
  for (std::uint64_t id = 2; id <= n; ++id) spawn(id, seed, false);
  const bool ok = until(
      [&] {
        for (const child& c : children_) {
          if (c.names() != n) return false;
          for (std::uint64_t other = 1; other <= n; ++other) {
            if (other != c.id && !c.saw("joined", other)) return false;
          }
        }
        return true;
      },
      10s);
  const double took = ms(steady::now() - t0);
  ASSERT_TRUE(ok) << n << " processes did not converge";
  // Each process starts gossiping as soon as it runs; the time is counted
  // from the fork of the first, so process start-up is included.
  std::cout << "[ figures ] separate processes, N=" << n << ": every process has all members and names after "
            << took << " ms (~" << took / 200.0 << " gossip intervals of 200 ms, start-up included)\n";
  EXPECT_LT(took, 10 * 200.0 + 1000.0) << "within 10 gossip rounds (plus 1 s for starting the processes)";
}

INSTANTIATE_TEST_SUITE_P(Sizes, ClusterProcessJoin, ::testing::Values(3, 5, 10, 16));

TEST_F(ClusterProcess, KilledStoppedAndContinuedProcessesAreDetectedInTime) {
  if (herald::test::sanitized()) GTEST_SKIP() << "timing bounds do not hold under a sanitizer";
  constexpr std::uint64_t n = 4;
  const std::string seed = spawn(1, "", true);
  ASSERT_FALSE(seed.empty()) << "the seed process did not announce its address";
  for (std::uint64_t id = 2; id <= n; ++id) spawn(id, seed, false);
  ASSERT_TRUE(until(
      [&] {
        for (const child& c : children_) {
          for (std::uint64_t other = 1; other <= n; ++other) {
            if (other != c.id && !c.saw("joined", other)) return false;
          }
        }
        return true;
      },
      10s))
      << "the four processes did not all see each other join";

  // SIGKILL: the kernel resets the dead process's connections.
  const auto killed_at = steady::now();
  ::kill(node(4).pid, SIGKILL);
  ASSERT_TRUE(until([&] { return node(1).saw("down", 4) && node(2).saw("down", 4) && node(3).saw("down", 4); }, 5s));
  steady::duration worst{};
  for (std::uint64_t id = 1; id <= 3; ++id) worst = std::max(worst, node(id).when("down", 4, killed_at) - killed_at);
  std::cout << "[ figures ] SIGKILL: down on every other process after " << ms(worst) << " ms\n";
  EXPECT_LT(worst, 2s) << "a killed node is probed and confirmed down by all others in under 2 s";

  // SIGSTOP: connections stay open, heartbeats stop.
  const auto stopped_at = steady::now();
  ::kill(node(3).pid, SIGSTOP);
  ASSERT_TRUE(until([&] { return node(1).saw("down", 3) && node(2).saw("down", 3); }, 12s));
  worst = std::max(node(1).when("down", 3, stopped_at), node(2).when("down", 3, stopped_at)) - stopped_at;
  std::cout << "[ figures ] SIGSTOP: down on every other process after " << ms(worst) << " ms\n";
  EXPECT_LT(worst, 8s) << "a stopped node is marked down by all others in under 8 s";
  EXPECT_TRUE(node(1).saw("suspect", 3, stopped_at)) << "suspected before declared down";

  // SIGCONT: the node hears it was declared down and refutes.
  const auto continued_at = steady::now();
  ::kill(node(3).pid, SIGCONT);
  ASSERT_TRUE(until([&] { return node(1).saw("alive", 3, continued_at) && node(2).saw("alive", 3, continued_at); }, 5s));
  worst = std::max(node(1).when("alive", 3, continued_at), node(2).when("alive", 3, continued_at)) - continued_at;
  std::cout << "[ figures ] SIGCONT: up again on every other process after " << ms(worst) << " ms\n";
  EXPECT_LT(worst, 1s) << "a continued node refutes or rejoins within 1 s";
  EXPECT_TRUE(node(3).saw("refuted", 3, continued_at));
}

// The reproduction of a resume that made healthy nodes declare each other
// down: 5 processes, one stopped for 6 s and continued. The default suite runs
// it once; `ctest -L chaos` three times.
class ClusterProcessChaos : public ClusterProcess {
 protected:
  // Starts node id again in its slot (a restart), joining through seed.
  // The old process must have been reaped and its pipe closed.
  void respawn(std::uint64_t id, const std::string& seed, std::uint64_t incarnation) {
    children_.erase(children_.begin() + static_cast<std::ptrdiff_t>(id - 1));
    spawn(id, seed, false, incarnation);
    child fresh = children_.back();
    children_.pop_back();
    children_.insert(children_.begin() + static_cast<std::ptrdiff_t>(id - 1), fresh);
  }

  std::string seed_address_;

  void start_all(std::uint64_t n) {
    const std::string seed = spawn(1, "", true);
    seed_address_ = seed;
    ASSERT_FALSE(seed.empty()) << "the seed process did not announce its address";
    for (std::uint64_t id = 2; id <= n; ++id) spawn(id, seed, false);
    ASSERT_TRUE(until(
        [&] {
          for (const child& c : children_) {
            if (c.names() != n) return false;
            for (std::uint64_t other = 1; other <= n; ++other) {
              if (other != c.id && !c.saw("joined", other)) return false;
            }
          }
          return true;
        },
        10s))
        << n << " processes did not all see each other join";
  }

  // Events of kind about a node other than spared, reported after t by a node other than spared.
  std::vector<std::string> false_events(const std::string& kind, std::uint64_t spared, steady::time_point t) const {
    std::vector<std::string> out;
    for (const child& c : children_) {
      if (c.id == spared) continue;
      for (const event& e : c.events) {
        if (e.kind == kind && e.node != spared && e.at >= t) {
          out.push_back("node " + std::to_string(c.id) + ": " + kind + " " + std::to_string(e.node));
        }
      }
    }
    return out;
  }
};

TEST_F(ClusterProcessChaos, AStoppedAndContinuedProcessMakesNoHealthyNodeGoDown) {
  if (herald::test::sanitized()) GTEST_SKIP() << "timing bounds do not hold under a sanitizer";
  constexpr std::uint64_t n = 5;
  constexpr std::uint64_t paused = 3;
  const int repetitions = herald::test::chaos_enabled() ? 3 : 1;
  start_all(n);
  const auto t0 = steady::now();
  for (int rep = 0; rep < repetitions; ++rep) {
    const auto stopped_at = steady::now();
    ::kill(node(paused).pid, SIGSTOP);
    until([] { return false; }, 6s);
    const auto continued_at = steady::now();
    ::kill(node(paused).pid, SIGCONT);
    ASSERT_TRUE(until(
        [&] {
          for (const child& c : children_) {
            if (c.id != paused && !c.saw("alive", paused, continued_at) && !c.saw("joined", paused, continued_at))
              return false;
          }
          return true;
        },
        5s))
        << "repetition " << rep << ": the continued node is up again everywhere";
    // Long enough for any accusation the resume caused to run its course.
    until([] { return false; }, 4s);
    EXPECT_TRUE(node(1).saw("down", paused, stopped_at)) << "repetition " << rep << ": the stopped node went down";
    std::cout << "[ figures ] SIGSTOP 6 s, SIGCONT (repetition " << rep << "): stopped node down after "
              << ms(node(1).when("down", paused, stopped_at) - stopped_at) << " ms, up again after "
              << ms(node(1).when("alive", paused, continued_at) - continued_at) << " ms\n";
  }
  for (const char* kind : {"down", "suspect"}) {
    const auto bad = false_events(kind, paused, t0);
    EXPECT_TRUE(bad.empty()) << bad.size() << " " << kind << " events about healthy nodes, first: "
                             << (bad.empty() ? "" : bad.front());
  }
  // A link between two healthy nodes that closes fails asks and fires
  // monitors of actors on them: not one may close.
  std::vector<std::string> links;
  for (const std::string& l : false_events("link", paused, t0)) links.push_back(l);
  EXPECT_TRUE(links.empty()) << links.size() << " links between healthy nodes closed, first: "
                             << (links.empty() ? "" : links.front());
}

TEST_F(ClusterProcessChaos, ARestartWithTheSameNodeIdReplacesTheOldIncarnationAtOnce) {
  if (herald::test::sanitized()) GTEST_SKIP() << "timing bounds do not hold under a sanitizer";
  constexpr std::uint64_t n = 4;
  constexpr std::uint64_t restarted = 3;
  start_all(n);
  const std::string seed = seed_address_;
  const int repetitions = herald::test::chaos_enabled() ? 3 : 1;
  std::uint64_t incarnation = 0;
  for (int rep = 0; rep < repetitions; ++rep) {
    ::kill(node(restarted).pid, SIGKILL);
    ::waitpid(node(restarted).pid, nullptr, 0);
    ::close(node(restarted).fd);
    const std::uint64_t next = static_cast<std::uint64_t>(std::chrono::system_clock::now().time_since_epoch().count());
    ASSERT_GT(next, incarnation);
    incarnation = next;
    const auto restarted_at = steady::now();
    respawn(restarted, seed, incarnation);
    ASSERT_TRUE(until(
        [&] {
          for (const child& c : children_) {
            if (c.id == restarted) continue;
            if (!c.saw("joined", restarted, incarnation, restarted_at)) return false;
            if (!c.saw("name", restarted, incarnation, restarted_at)) return false;
          }
          return true;
        },
        5s))
        << "repetition " << rep << ": every node holds the new incarnation and its names";
    steady::duration worst{};
    for (const child& c : children_) {
      if (c.id == restarted) continue;
      for (const event& e : c.events) {
        if (e.kind == "name" && e.node == restarted && e.incarnation == incarnation && e.at >= restarted_at) {
          worst = std::max(worst, e.at - restarted_at);
          break;
        }
      }
    }
    std::cout << "[ figures ] restart with the same node id (repetition " << rep
              << "): new incarnation's names everywhere after " << ms(worst) << " ms (process start included)\n";
    EXPECT_LT(worst, 1s) << "names replaced within 1 s of the restart";
  }
  // One record per node: nothing but the restarted node ever went down.
  for (const child& c : children_) {
    for (const event& e : c.events) {
      EXPECT_FALSE(e.kind == "down" && e.node != restarted) << "node " << c.id << ": down " << e.node;
    }
  }
}

}  // namespace
}  // namespace herald::registry
