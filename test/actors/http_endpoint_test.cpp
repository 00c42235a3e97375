// The metrics and dashboard listener (actors/src/http_endpoint.hpp), through
// its public face: node_config::metrics_listen and actor_system::http_address.
#include "herald/actors/actor_system.hpp"

#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>
#include <arpa/inet.h>

#include <atomic>
#include <chrono>
#include <stdexcept>
#include <map>
#include <regex>
#include <set>
#include <sstream>
#include <string>
#include <thread>

#include "herald/herald.hpp"
#include "support/test_support.hpp"

namespace herald {
namespace {

using namespace std::chrono_literals;

struct ping {
  static constexpr std::string_view wire_name = "test.http.ping";
  std::uint64_t n = 0;
};
struct pings {
  static constexpr std::string_view wire_name = "test.http.pings";
  std::uint8_t unused = 0;
};

class sink : public actor<sink> {
 public:
  using messages = herald::messages<ping, pings>;
  void on(const ping&) { ++n_; }
  std::uint64_t on(const pings&) const { return n_; }

 private:
  std::uint64_t n_ = 0;
};

// GET http://address/path with a plain socket; the body, or "" on failure.
std::string http_get(const std::string& address, const std::string& path) {
  const auto colon = address.rfind(':');
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_port = htons(static_cast<std::uint16_t>(std::stoi(address.substr(colon + 1))));
  inet_pton(AF_INET, address.substr(0, colon).c_str(), &sa.sin_addr);
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return {};
  if (::connect(fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa) != 0) {
    ::close(fd);
    return {};
  }
  const std::string req = "GET " + path + " HTTP/1.1\r\nHost: " + address + "\r\nConnection: close\r\n\r\n";
  (void)!::write(fd, req.data(), req.size());
  std::string all;
  char buf[65536];
  for (ssize_t n; (n = ::read(fd, buf, sizeof buf)) > 0;) all.append(buf, static_cast<std::size_t>(n));
  ::close(fd);
  const auto body = all.find("\r\n\r\n");
  if (all.rfind("HTTP/1.1 200", 0) != 0 || body == std::string::npos) return {};
  return all.substr(body + 4);
}

// The text exposition format, checked line by line: HELP and TYPE before a
// family's samples, names and labels well formed, counters named *_total,
// histograms cumulative with +Inf equal to _count, no series twice.
struct exposition {
  std::map<std::string, std::string> types;           // family -> type
  std::map<std::string, double> series;               // name{labels} -> value
  std::vector<std::string> errors;

  explicit exposition(const std::string& text) {
    static const std::regex name_re("[a-zA-Z_:][a-zA-Z0-9_:]*");
    static const std::regex sample_re(R"(([a-zA-Z_:][a-zA-Z0-9_:]*)\{((?:[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\]|\\.)*",?)*)\} (\S+))");
    std::istringstream in(text);
    std::string line;
    std::set<std::string> helped;
    std::map<std::string, double> last_bucket;
    while (std::getline(in, line)) {
      if (line.empty()) continue;
      if (line.rfind("# HELP ", 0) == 0) {
        helped.insert(line.substr(7, line.find(' ', 7) - 7));
        continue;
      }
      if (line.rfind("# TYPE ", 0) == 0) {
        std::istringstream f(line.substr(7));
        std::string fam, type;
        f >> fam >> type;
        if (!std::regex_match(fam, name_re)) errors.push_back("bad family name: " + line);
        if (types.count(fam)) errors.push_back("family declared twice: " + fam);
        if (!helped.count(fam)) errors.push_back("TYPE without HELP: " + fam);
        if (type != "counter" && type != "gauge" && type != "histogram") errors.push_back("bad type: " + line);
        if (type == "counter" && !fam.ends_with("_total")) errors.push_back("counter not named *_total: " + fam);
        types[fam] = type;
        continue;
      }
      std::smatch m;
      if (!std::regex_match(line, m, sample_re)) {
        errors.push_back("unparsable line: " + line);
        continue;
      }
      const std::string name = m[1], labels = m[2];
      std::string fam = name;
      for (const char* suffix : {"_bucket", "_sum", "_count"}) {
        if (name.ends_with(suffix) && types.count(name.substr(0, name.size() - std::strlen(suffix))) &&
            types[name.substr(0, name.size() - std::strlen(suffix))] == "histogram")
          fam = name.substr(0, name.size() - std::strlen(suffix));
      }
      if (!types.count(fam)) errors.push_back("sample before its TYPE: " + line);
      double v = 0;
      try {
        v = std::stod(m[3]);
      } catch (...) {
        errors.push_back("bad value: " + line);
      }
      const std::string key = name + "{" + labels + "}";
      if (series.count(key)) errors.push_back("series twice: " + key);
      series[key] = v;
      if (name.ends_with("_bucket")) {
        const auto le = labels.find("le=\"");
        const std::string base = labels.substr(0, le);
        if (last_bucket.count(fam + base) && v < last_bucket[fam + base])
          errors.push_back("buckets not cumulative: " + line);
        last_bucket[fam + base] = v;
        if (labels.find("le=\"+Inf\"") != std::string::npos) last_bucket.erase(fam + base);
      }
    }
  }
  // The value of the one series of `name` whose labels contain `has`.
  double value(const std::string& name, const std::string& has = "") const {
    for (const auto& [k, v] : series)
      if (k.rfind(name + "{", 0) == 0 && k.find(has) != std::string::npos) return v;
    return -1;
  }
};

struct two_nodes {
  two_nodes() {
    for (auto* s : {&a, &b}) {
      runtime::node_config c;
      c.secret.value = "http-test-secret";
      c.node_name = s == &a ? "a" : "b";
      c.listen = {"tcp://127.0.0.1:0"};
      if (s == &a) c.metrics_listen = "127.0.0.1:0";
      *s = std::make_unique<actor_system>(actor_system_config{.worker_threads = 2});
      auto ok = (*s)->start_node<sink>(c);
      EXPECT_TRUE(ok) << ok.error().message();
    }
  }
  std::unique_ptr<actor_system> a, b;
};

TEST(HttpEndpoint, ServesMetricsThatParseAndNameEveryArea) {
  two_nodes n;
  ASSERT_FALSE(n.a->http_address().empty()) << "metrics_listen starts a listener";
  EXPECT_TRUE(n.b->http_address().empty()) << "no metrics_listen, no listener";
  auto local = n.a->spawn<sink>(herald::name("target")).value();
  auto far = n.b->remote_lookup<sink>(n.a->listen_addresses().at(0), "target");
  ASSERT_TRUE(far) << far.error().message();
  ASSERT_TRUE(far->ask(pings{}).get());
  const std::string text = http_get(n.a->http_address(), "/metrics");
  ASSERT_FALSE(text.empty());
  exposition e(text);
  EXPECT_TRUE(e.errors.empty()) << e.errors.front() << "\n" << text;
  for (const char* fam : {"herald_frames_sent_total", "herald_connections_rejected_total", "herald_link_frames_sent_total",
                          "herald_link_received_bytes_total", "herald_link_writev_calls_total",
                          "herald_link_backpressure_events_total", "herald_link_ring_used_bytes",
                          "herald_link_credit_stalls_total", "herald_link_send_window_bytes",
                          "herald_link_ask_duration_seconds", "herald_asks_in_flight", "herald_ask_duration_seconds",
                          "herald_asks_timed_out_total", "herald_actor_messages_handled_total",
                          "herald_actor_mailbox_depth", "herald_actor_handler_duration_seconds",
                          "herald_actor_restarts_total", "herald_actor_dead_letters_total", "herald_members",
                          "herald_membership_events_total", "herald_registry_entries",
                          "herald_registry_deltas_applied_total"}) {
    EXPECT_TRUE(e.types.count(fam)) << fam << " is exported";
  }
  EXPECT_GE(e.value("herald_link_frames_received_total", "peer=\"b\""), 1) << "a per-link series names its peer";
  EXPECT_GE(e.value("herald_members", "status=\"up\""), 1) << "a node counts itself among the members up";
  EXPECT_GE(e.value("herald_actors", "sink"), 1) << "per actor type, by its C++ name";
}

TEST(HttpEndpoint, CountersMoveWhenTrafficFlows) {
  two_nodes n;
  auto local = n.a->spawn<sink>(herald::name("target")).value();
  auto far = n.b->remote_lookup<sink>(n.a->listen_addresses().at(0), "target");
  ASSERT_TRUE(far) << far.error().message();
  ASSERT_TRUE(far->ask(pings{}).get());
  const exposition before(http_get(n.a->http_address(), "/metrics"));
  constexpr std::uint64_t tells = 1000;
  for (std::uint64_t i = 0; i < tells; ++i) ASSERT_TRUE(far->tell(ping{i}));
  auto got = far->ask(pings{}).get();  // ordered after the tells
  ASSERT_TRUE(got);
  ASSERT_EQ(*got, tells);
  const exposition after(http_get(n.a->http_address(), "/metrics"));
  const double link = after.value("herald_link_frames_received_total", "peer=\"b\"") -
                      before.value("herald_link_frames_received_total", "peer=\"b\"");
  EXPECT_GE(link, tells + 1) << "1000 tells and an ask arrived on the link from b";
  EXPECT_LE(link, tells + 50) << "besides them, only a little gossip";
  const double handled = after.value("herald_actor_messages_handled_total", "sink") -
                         before.value("herald_actor_messages_handled_total", "sink");
  EXPECT_EQ(handled, tells + 1) << "the sink type handled the 1000 tells and the ask";
  EXPECT_GT(after.value("herald_actor_handler_duration_seconds_count", "sink"),
            before.value("herald_actor_handler_duration_seconds_count", "sink"));
  EXPECT_TRUE(after.errors.empty()) << after.errors.front();
}

// An actor type whose handler throws on `fail` (its supervisor restarts it)
// and whose mailbox holds one message.
struct fail {};
struct park {
  std::atomic<bool>* released;
};
class brittle : public actor<brittle> {
 public:
  void on(const fail&) { throw std::runtime_error("on purpose"); }
  void on(const park& p) {
    while (!p.released->load()) std::this_thread::sleep_for(1ms);
  }
  void on(const ping&) {}
};

TEST(HttpEndpoint, PerActorTypeRestartsDeadLettersAndRefusalsMove) {
  two_nodes n;
  auto b = n.a->spawn<brittle>(spawn_options{.name = "", .policy = {.max_restarts = 100}, .mailbox = mailbox_limit{.capacity = 1}})
               .value();
  const exposition before(http_get(n.a->http_address(), "/metrics"));
  // One place: each send waits for the one before it to be taken.
  auto send = [&](auto m) { ASSERT_TRUE(test::eventually([&] { return b.tell(m).has_value(); })); };
  send(fail{});
  send(fail{});
  std::atomic<bool> released{false};
  send(park{&released});
  ASSERT_TRUE(test::eventually([&] { return b.tell(ping{0}).has_value() == false; }));  // parked, one queued: full
  released = true;
  n.a->stop(b);
  ASSERT_TRUE(test::eventually([&] { return b.stopped(); }));
  (void)b.tell(ping{0});  // a dead letter
  const exposition after(http_get(n.a->http_address(), "/metrics"));
  EXPECT_TRUE(after.errors.empty()) << after.errors.front();
  EXPECT_EQ(after.value("herald_actor_restarts_total", "brittle") - std::max(0.0, before.value("herald_actor_restarts_total", "brittle")), 2);
  EXPECT_GE(after.value("herald_actor_dead_letters_total", "brittle"), 1);
  EXPECT_GE(after.value("herald_actor_mailbox_full_total", "brittle"), 1);
  EXPECT_GE(after.value("herald_mailbox_full_total"), 1);
}

TEST(HttpEndpoint, AnswersAskLatencyOnTheAskingSide) {
  runtime::node_config c;
  two_nodes n;
  auto local = n.b->spawn<sink>(herald::name("far")).value();
  auto far = n.a->remote_lookup<sink>(n.b->listen_addresses().at(0), "far");
  ASSERT_TRUE(far) << far.error().message();
  for (int i = 0; i < 20; ++i) ASSERT_TRUE(far->ask(pings{}).get());
  const exposition e(http_get(n.a->http_address(), "/metrics"));
  EXPECT_GE(e.value("herald_link_ask_duration_seconds_count", "peer=\"b\""), 20)
      << "every answered ask is in the histogram of its link";
  EXPECT_GE(e.value("herald_ask_duration_seconds_count"), 20);
}

TEST(HttpEndpoint, ServesTheDashboardAndItsState) {
  two_nodes n;
  const std::string page = http_get(n.a->http_address(), "/");
  EXPECT_NE(page.find("/api/state"), std::string::npos) << "the page polls its JSON";
  EXPECT_EQ(page.find("http://"), std::string::npos) << "no external asset";
  const std::string state = http_get(n.a->http_address(), "/api/state");
  EXPECT_NE(state.find("\"members\""), std::string::npos) << state;
  EXPECT_NE(state.find("\"status\":\"up\""), std::string::npos) << state;
}

TEST(HttpEndpoint, RefusesABadListenAddress) {
  runtime::node_config c;
  c.secret.value = "http-test-secret";
  c.listen = {"tcp://127.0.0.1:0"};
  c.metrics_listen = "no-port";
  actor_system s{actor_system_config{.worker_threads = 1}};
  auto ok = s.start_node<sink>(c);
  ASSERT_FALSE(ok);
  EXPECT_EQ(ok.error().code(), errc::invalid_argument);
}

}  // namespace
}  // namespace herald
