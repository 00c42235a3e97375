// The release path is the one under test: value() must check without assert().
#ifndef NDEBUG
#define NDEBUG
#endif
#include "herald/result.hpp"

#include <gtest/gtest.h>

#include <stdexcept>
#include <string>
#include <utility>

namespace herald {
namespace {

TEST(Result, ValueOnAnErrorThrowsBadResultAccessInRelease) {
  result<int> bad = error(errc::invalid_argument, "name 'alice' is taken");
  try {
    (void)bad.value();
    FAIL() << "value() on an error must throw";
  } catch (const bad_result_access& e) {
    EXPECT_EQ(e.code(), errc::invalid_argument);
    EXPECT_EQ(e.context(), "name 'alice' is taken");
    EXPECT_TRUE(e.error() == errc::invalid_argument);
    EXPECT_NE(std::string(e.what()).find("invalid_argument: name 'alice' is taken"), std::string::npos) << e.what();
  }
}

TEST(Result, EveryWayToReachTheValueOfAnErrorThrows) {
  result<std::string> bad = error(errc::timeout, "no reply");
  const result<std::string>& cref = bad;
  EXPECT_THROW((void)*bad, bad_result_access);
  EXPECT_THROW((void)bad->size(), bad_result_access);
  EXPECT_THROW((void)cref.value(), bad_result_access);
  EXPECT_THROW((void)std::move(bad).value(), bad_result_access);
  result<void> v = error(errc::node_down, "lost");
  EXPECT_THROW(v.value(), bad_result_access);
  result<void> fine;
  EXPECT_NO_THROW(fine.value());
}

TEST(Result, ErrorOnAValueThrowsLogicError) {
  result<int> ok = 7;
  EXPECT_THROW((void)ok.error(), std::logic_error);
  result<void> fine;
  EXPECT_THROW((void)fine.error(), std::logic_error);
  EXPECT_EQ(ok.value(), 7);
}

}  // namespace
}  // namespace herald
