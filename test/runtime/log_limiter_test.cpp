#include "herald/runtime/log_limiter.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <string>
#include <thread>
#include <vector>

namespace herald::runtime {
namespace {

using namespace std::chrono_literals;

TEST(LogLimiter, WritesAtMostTheBudgetPerCausePerSecondAndSaysWhatItSuppressed) {
  log_limiter l(3);
  const auto t0 = log_limiter::clock::time_point{} + 100s;
  int written = 0;
  for (int i = 0; i < 100; ++i) written += l.admit("dial to 10.0.0.1:" + std::to_string(7000 + i) + " failed", t0).has_value();
  EXPECT_EQ(written, 3) << "one cause: the port numbers differ only in digits";
  EXPECT_EQ(l.suppressed(), 97u);
  auto next = l.admit("dial to 10.0.0.1:7001 failed", t0 + 1s);
  ASSERT_TRUE(next) << "a new second, a new budget";
  EXPECT_NE(next->find("(97 similar lines suppressed)"), std::string::npos) << *next;
  EXPECT_TRUE(l.admit("another cause", t0 + 1s)) << "causes have budgets of their own";
}

TEST(LogLimiter, ZeroMeansNoLimit) {
  log_limiter l(0);
  for (int i = 0; i < 1000; ++i) ASSERT_TRUE(l.admit("same"));
  EXPECT_EQ(l.suppressed(), 0u);
}

TEST(LogLimiter, TooManyCausesShareOneBudget) {
  log_limiter l(1);
  const auto t0 = log_limiter::clock::time_point{} + 100s;
  int written = 0;
  for (std::size_t i = 0; i < log_limiter::max_causes + 100; ++i) {
    std::string cause(1, static_cast<char>('a' + i % 26));
    cause += std::string(i / 26 + 1, 'x');  // distinct without digits
    written += l.admit(cause, t0).has_value();
  }
  EXPECT_LE(written, static_cast<int>(log_limiter::max_causes) + 1) << "memory and lines stay bounded";
}

TEST(LogLimiter, ManyThreadsTogetherStayWithinTheBudget) {
  log_limiter l(5);
  std::atomic<int> written{0};
  const auto t0 = log_limiter::clock::time_point{} + 100s;
  std::vector<std::thread> ts;
  for (int t = 0; t < 8; ++t)
    ts.emplace_back([&] {
      for (int i = 0; i < 2000; ++i) written += l.admit("connection lost", t0 + std::chrono::milliseconds(i % 500)).has_value();
    });
  for (auto& t : ts) t.join();
  EXPECT_EQ(written.load(), 5) << "one window (all within 500 ms): five lines in all";
  EXPECT_EQ(l.suppressed(), 8u * 2000 - 5);
}

}  // namespace
}  // namespace herald::runtime
