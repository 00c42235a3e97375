#include "herald/wire/message.hpp"

#include <gtest/gtest.h>

namespace bank {
struct deposit {};
struct named {
  static constexpr std::string_view wire_name = "bank.named";
};
template <class T>
struct boxed {};
}  // namespace bank

namespace herald::wire {
namespace {

TEST(Message, TypeIdIsFnv1aOfTheWireName) {
  static_assert(fnv1a64("") == 0xcbf29ce484222325ull);
  static_assert(fnv1a64("a") == 0xaf63dc4c8601ec8cull, "FNV-1a 64 test vector");
  static_assert(type_id_of<bank::named>() == fnv1a64("bank.named"));
  EXPECT_EQ(wire_name_of<bank::named>(), "bank.named");
}

TEST(Message, DerivedNamesAreQualifiedTypeNames) {
  static_assert(wire_name_of<bank::deposit>() == "bank::deposit");
  static_assert(type_id_of<bank::deposit>() == fnv1a64("bank::deposit"));
  static_assert(type_id_of<const bank::deposit&>() == type_id_of<bank::deposit>());
  EXPECT_EQ(wire_name_of<bank::boxed<int>>(), "bank::boxed<int>");
  EXPECT_NE(type_id_of<bank::boxed<int>>(), type_id_of<bank::boxed<long>>());
}

}  // namespace
}  // namespace herald::wire
