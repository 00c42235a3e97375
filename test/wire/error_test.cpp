#include "herald/error.hpp"

#include <gtest/gtest.h>

#include "herald/result.hpp"

namespace herald {
namespace {

TEST(Error, MessageNamesTheCodeAndTheContext) {
  error e(errc::node_down, "connection to 127.0.0.1:7000 lost");
  EXPECT_EQ(e.message(), "node_down: connection to 127.0.0.1:7000 lost");
  EXPECT_TRUE(e == errc::node_down);
}

TEST(Result, HoldsEitherAValueOrAnError) {
  result<int> ok = 42;
  ASSERT_TRUE(ok.has_value());
  EXPECT_EQ(*ok, 42);
  result<int> bad = error(errc::timeout, "no reply");
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().code(), errc::timeout);
  EXPECT_EQ(bad.value_or(7), 7);
}

TEST(Result, VoidResultIsAnErrorOnlyWhenGivenOne) {
  result<void> ok;
  EXPECT_TRUE(ok);
  result<void> bad = error(errc::actor_stopped);
  EXPECT_FALSE(bad);
  EXPECT_EQ(bad.error().code(), errc::actor_stopped);
}

}  // namespace
}  // namespace herald
