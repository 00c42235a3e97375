#include "herald/wire/type_registry.hpp"

#include <gtest/gtest.h>

namespace reg_test {
struct alpha {
  static constexpr std::string_view wire_name = "test.alpha";
};
struct beta {};
struct alpha_twin {
  static constexpr std::string_view wire_name = "test.alpha";
};
}  // namespace reg_test

namespace herald::wire {
namespace {

TEST(TypeRegistry, FindsRegisteredTypesAndReportsUnknownIds) {
  type_registry r;
  ASSERT_TRUE(r.add<reg_test::alpha>());
  ASSERT_TRUE(r.add<reg_test::beta>());
  EXPECT_TRUE(r.add<reg_test::alpha>()) << "adding the same type twice is harmless";
  EXPECT_EQ(r.size(), 2u);
  const type_entry* e = r.find(type_id_of<reg_test::alpha>());
  ASSERT_NE(e, nullptr);
  EXPECT_EQ(e->name, "test.alpha");
  auto miss = r.lookup(12345);
  ASSERT_FALSE(miss);
  EXPECT_EQ(miss.error().code(), errc::unknown_type);
}

TEST(TypeRegistry, ACollidingIdNamesBothTypes) {
  type_registry r;
  ASSERT_TRUE(r.add("first.type", 77));
  auto dup = r.add("second.type", 77);
  ASSERT_FALSE(dup);
  EXPECT_EQ(dup.error().code(), errc::duplicate_type_id);
  EXPECT_NE(dup.error().context().find("first.type"), std::string::npos) << dup.error().message();
  EXPECT_NE(dup.error().context().find("second.type"), std::string::npos) << dup.error().message();
}

TEST(TypeRegistry, TwoCppTypesWithOneWireNameCollide) {
  type_registry r;
  ASSERT_TRUE(r.add<reg_test::alpha>());
  auto dup = r.add<reg_test::alpha_twin>();
  ASSERT_FALSE(dup);
  EXPECT_EQ(dup.error().code(), errc::duplicate_type_id);
  EXPECT_NE(dup.error().context().find("test.alpha"), std::string::npos) << dup.error().message();
}

TEST(TypeRegistry, SchemaHashDependsOnTheSetNotTheOrder) {
  type_registry a, b, c;
  const auto empty = a.schema_hash();
  ASSERT_TRUE(a.add<reg_test::alpha>());
  EXPECT_NE(a.schema_hash(), empty) << "adding a type changes the hash";
  ASSERT_TRUE(a.add<reg_test::beta>());
  ASSERT_TRUE(b.add<reg_test::beta>());
  ASSERT_TRUE(b.add<reg_test::alpha>());
  EXPECT_EQ(a.schema_hash(), b.schema_hash()) << "registration order does not matter";
  ASSERT_TRUE(c.add<reg_test::beta>());
  EXPECT_NE(a.schema_hash(), c.schema_hash());
  ASSERT_TRUE(c.add("test.alphb", type_id_of<reg_test::alpha>()));
  EXPECT_NE(a.schema_hash(), c.schema_hash()) << "a different name under the same id differs";
}

}  // namespace
}  // namespace herald::wire
