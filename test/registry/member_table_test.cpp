#include "herald/registry/member_table.hpp"

#include <gtest/gtest.h>

namespace herald::registry {
namespace {

member_info m(node_id n, incarnation_t inc, std::uint64_t seq, member_status s) {
  return member_info{member_key{n, inc}, seq, s, "m" + std::to_string(n), "addr-" + std::to_string(n)};
}

TEST(MemberTable, ANewMemberJoins) {
  member_table t(m(1, 1, 0, member_status::up), 16);
  std::vector<member_event> ev;
  t.merge(m(2, 1, 0, member_status::up), ev);
  ASSERT_EQ(ev.size(), 1u);
  EXPECT_EQ(ev[0].kind, member_event_kind::joined);
  EXPECT_EQ(t.find_by_address("addr-2")->key.node, 2u);
}

TEST(MemberTable, GravierStatusWinsAtTheSameSeqAndOnlyAHigherSeqLiftsIt) {
  member_table t(m(1, 1, 0, member_status::up), 16);
  std::vector<member_event> ev;
  t.merge(m(2, 1, 4, member_status::up), ev);
  t.merge(m(2, 1, 4, member_status::suspect), ev);
  t.merge(m(2, 1, 4, member_status::up), ev);
  EXPECT_EQ(t.find(2)->status, member_status::suspect) << "up at the same seq does not lift a suspicion";
  t.merge(m(2, 1, 4, member_status::down), ev);
  t.merge(m(2, 1, 4, member_status::suspect), ev);
  EXPECT_EQ(t.find(2)->status, member_status::down);
  t.merge(m(2, 1, 5, member_status::up), ev);
  EXPECT_EQ(t.find(2)->status, member_status::up) << "the member's own higher seq refutes";
  std::vector<member_event_kind> kinds;
  for (const auto& e : ev) kinds.push_back(e.kind);
  EXPECT_EQ(kinds, (std::vector<member_event_kind>{member_event_kind::joined, member_event_kind::suspect,
                                                   member_event_kind::down, member_event_kind::alive}));
}

TEST(MemberTable, LeftIsFinalForARun) {
  member_table t(m(1, 1, 0, member_status::up), 16);
  std::vector<member_event> ev;
  t.merge(m(2, 1, 0, member_status::up), ev);
  t.merge(m(2, 1, 1, member_status::left), ev);
  t.merge(m(2, 1, 9, member_status::up), ev);
  EXPECT_EQ(t.find(2)->status, member_status::left);
  EXPECT_EQ(ev.back().kind, member_event_kind::left);
}

TEST(MemberTable, AHigherIncarnationReplacesTheOldRunWhichGoesDown) {
  member_table t(m(1, 1, 0, member_status::up), 16);
  std::vector<member_event> ev;
  t.merge(m(2, 1, 8, member_status::up), ev);
  ev.clear();
  t.merge(m(2, 2, 0, member_status::up), ev);
  ASSERT_EQ(ev.size(), 2u);
  EXPECT_EQ(ev[0].kind, member_event_kind::down);
  EXPECT_EQ(ev[0].member.key.incarnation, 1u);
  EXPECT_EQ(ev[1].kind, member_event_kind::joined);
  ev.clear();
  t.merge(m(2, 1, 99, member_status::up), ev);
  EXPECT_TRUE(ev.empty()) << "claims about the old run are ignored";
  EXPECT_EQ(t.find(2)->key.incarnation, 2u);
}

TEST(MemberTable, ThisNodeRefutesASuspicionByOutbiddingItsSeq) {
  member_table t(m(1, 1, 3, member_status::up), 16);
  std::vector<member_event> ev;
  t.merge(m(1, 1, 5, member_status::down), ev);
  EXPECT_EQ(t.self().seq, 6u);
  EXPECT_EQ(t.self().status, member_status::up);
  ASSERT_EQ(ev.size(), 1u);
  EXPECT_EQ(ev[0].kind, member_event_kind::refuted);
  ev.clear();
  t.merge(m(1, 1, 2, member_status::suspect), ev);
  EXPECT_TRUE(ev.empty()) << "an old suspicion needs no refutation";
}

TEST(MemberTable, AFullTableRefusesNewMembers) {
  member_table t(m(1, 1, 0, member_status::up), 3);
  std::vector<member_event> ev;
  EXPECT_TRUE(t.merge(m(2, 1, 0, member_status::up), ev));
  EXPECT_TRUE(t.merge(m(3, 1, 0, member_status::up), ev));
  EXPECT_FALSE(t.merge(m(4, 1, 0, member_status::up), ev));
  EXPECT_EQ(t.size(), 3u);
}

TEST(MemberTable, ClaimsOfOneSuspicionMergeTheirAccusersEachOnce) {
  member_table t(m(1, 1, 0, member_status::up), 16);
  std::vector<member_event> ev;
  t.merge(m(2, 1, 3, member_status::up), ev);
  member_info a = m(2, 1, 3, member_status::suspect);
  a.accusers = {4};
  t.merge(a, ev);
  a.accusers = {3, 4};
  t.merge(a, ev);
  t.set_status(2, member_status::suspect, ev, "own probe failed");
  EXPECT_EQ(t.find(2)->accusers, (std::vector<node_id>{1, 3, 4})) << "sorted, each accuser once, this node included";
  std::size_t suspects = 0;
  for (const auto& e : ev) suspects += e.kind == member_event_kind::suspect ? 1 : 0;
  EXPECT_EQ(suspects, 1u) << "more accusers of the same suspicion raise no new event";
}

TEST(MemberTable, ARefutationOutbidsDownAndAStaleDownStaysBeaten) {
  member_table t(m(1, 1, 0, member_status::up), 16);
  std::vector<member_event> ev;
  t.merge(m(2, 1, 3, member_status::up), ev);
  t.merge(m(2, 1, 3, member_status::down), ev);
  ASSERT_EQ(t.find(2)->status, member_status::down);
  ev.clear();
  t.merge(m(2, 1, 4, member_status::up), ev);
  ASSERT_EQ(ev.size(), 1u);
  EXPECT_EQ(ev[0].kind, member_event_kind::alive);
  t.merge(m(2, 1, 3, member_status::down), ev);
  t.merge(m(2, 1, 3, member_status::suspect), ev);
  EXPECT_EQ(t.find(2)->status, member_status::up) << "an accusation of an older seq is beaten everywhere";
  EXPECT_TRUE(t.find(2)->accusers.empty());
}

TEST(MemberTable, AGoneRunThatWasNeverKnownIsNotAdopted) {
  member_table t(m(1, 1, 0, member_status::up), 16);
  std::vector<member_event> ev;
  t.merge(m(7, 1, 2, member_status::down), ev);
  t.merge(m(8, 1, 2, member_status::left), ev);
  EXPECT_EQ(t.find(7), nullptr) << "a forgotten down record does not come back through gossip";
  EXPECT_EQ(t.find(8), nullptr);
  EXPECT_TRUE(ev.empty());
}

}  // namespace
}  // namespace herald::registry
