// wire/PROTOCOL.md is the specification a second implementation is written
// from: its tables must say what the code does.

#include <gtest/gtest.h>

#include <fstream>
#include <map>
#include <regex>
#include <sstream>
#include <string>

#include "herald/actors/detail/node_protocol.hpp"
#include "herald/error.hpp"
#include "herald/wire/codec.hpp"
#include "herald/wire/frame.hpp"
#include "herald/wire/frame_decoder.hpp"
#include "herald/wire/handshake.hpp"
#include "herald/wire/message.hpp"

#ifndef HERALD_PROTOCOL_MD
#error "HERALD_PROTOCOL_MD (the path of wire/PROTOCOL.md) must be defined"
#endif

namespace herald::wire {
namespace {

std::string spec() {
  std::ifstream in(HERALD_PROTOCOL_MD);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// The text of the section whose heading starts with `heading`, up to the
// next heading of the same or a higher level.
std::string section(const std::string& text, const std::string& heading) {
  const auto at = text.find("\n" + heading);
  if (at == std::string::npos) return {};
  const std::size_t level = heading.find(' ');
  std::size_t end = at + 1;
  for (;;) {
    end = text.find("\n#", end + 1);
    if (end == std::string::npos) break;
    const std::size_t hashes = text.find_first_not_of('#', end + 1) - (end + 1);
    if (hashes <= level) break;
  }
  return text.substr(at, end == std::string::npos ? std::string::npos : end - at);
}

// Rows of the tables of `text` matching `row` (group 1: key, group 2: value).
std::map<std::string, std::string> rows(const std::string& text, const std::regex& row) {
  std::map<std::string, std::string> out;
  std::istringstream lines(text);
  for (std::string line; std::getline(lines, line);) {
    std::smatch m;
    if (std::regex_search(line, m, row)) out[m[1]] = m[2];
  }
  return out;
}

TEST(ProtocolSpec, TheFrameKindTableIsTheCodes) {
  const auto table = rows(section(spec(), "## 2. Kinds"), std::regex(R"(^\|\s*(\d+)\s*\|\s*`([a-z_]+)`)"));
  const std::map<std::string, std::string> code = {
      {std::to_string(static_cast<int>(frame_kind::handshake)), "handshake"},
      {std::to_string(static_cast<int>(frame_kind::handshake_ack)), "handshake_ack"},
      {std::to_string(static_cast<int>(frame_kind::tell)), "tell"},
      {std::to_string(static_cast<int>(frame_kind::ask)), "ask"},
      {std::to_string(static_cast<int>(frame_kind::reply)), "reply"},
      {std::to_string(static_cast<int>(frame_kind::error_reply)), "error_reply"},
      {std::to_string(static_cast<int>(frame_kind::heartbeat)), "heartbeat"},
      {std::to_string(static_cast<int>(frame_kind::gossip)), "gossip"},
      {std::to_string(static_cast<int>(frame_kind::membership)), "membership"},
      {std::to_string(static_cast<int>(frame_kind::close)), "close"},
      {std::to_string(static_cast<int>(frame_kind::credit)), "credit"},
      {std::to_string(static_cast<int>(frame_kind::fragment)), "fragment"},
  };
  EXPECT_EQ(table, code);
  EXPECT_NE(spec().find("| 128-255| optional"), std::string::npos);
  EXPECT_EQ(first_optional_kind, 128);
}

TEST(ProtocolSpec, TheFlagTableIsTheCodes) {
  const auto table =
      rows(section(spec(), "### 1.3 Flags"), std::regex(R"(^\|\s*[\d-]+\s*\|\s*(0x[0-9A-F]+)\s*\|\s*`?([a-z_]+)`?)"));
  const std::map<std::string, std::string> code = {
      {"0x01", "control_lane"}, {"0x02", "flatbuffer"}, {"0x04", "fragmented"}, {"0x08", "reserved"}, {"0xF0", "hints"}};
  EXPECT_EQ(table, code);
  EXPECT_EQ(frame_flags::control_lane, 0x01);
  EXPECT_EQ(frame_flags::flatbuffer, 0x02);
  EXPECT_EQ(frame_flags::fragmented, 0x04);
  EXPECT_EQ(static_cast<std::uint8_t>(~frame_flags::known & ~frame_flags::ignorable), 0x08);
  EXPECT_EQ(frame_flags::ignorable, 0xF0);
}

TEST(ProtocolSpec, TheErrorCodeTableIsEveryErrc) {
  const auto table = rows(section(spec(), "## 8. Error codes"), std::regex(R"(^\|\s*(\d+)\s*\|\s*`([a-z_]+)`)"));
  std::map<std::string, std::string> code;
  for (int n = 0; n < 256; ++n) {
    const auto name = to_string(static_cast<errc>(n));
    if (name != "unknown_error") code[std::to_string(n)] = std::string(name);
  }
  EXPECT_EQ(table, code);
}

template <class T>
void expect_node_actor_row(const std::map<std::string, std::string>& table) {
  const std::string name(T::wire_name);
  auto it = table.find(name);
  ASSERT_NE(it, table.end()) << name << " is missing from PROTOCOL.md §9";
  EXPECT_EQ(std::stoull(it->second, nullptr, 16), type_id_of<T>()) << name;
  EXPECT_EQ(std::stoull(it->second, nullptr, 16), fnv1a64(name)) << name;
}

TEST(ProtocolSpec, TheNodeActorTableIsItsMessages) {
  const auto text = section(spec(), "## 9. The node actor");
  EXPECT_NE(text.find("actor id **" + std::to_string(herald::detail::node_actor_id) + "**"), std::string::npos);
  const auto table = rows(text, std::regex(R"(^\|\s*`(herald\.[a-z_]+)`\s*\|\s*(0x[0-9a-f]{16})\s*\|)"));
  EXPECT_EQ(table.size(), 18u);
  using namespace herald::detail;
  expect_node_actor_row<resolve_request>(table);
  expect_node_actor_row<resolve_reply>(table);
  expect_node_actor_row<monitor_request>(table);
  expect_node_actor_row<remote_down_notice>(table);
  expect_node_actor_row<members_request>(table);
  expect_node_actor_row<members_reply>(table);
  expect_node_actor_row<registry_request>(table);
  expect_node_actor_row<registry_reply>(table);
  expect_node_actor_row<metrics_request>(table);
  expect_node_actor_row<metrics_reply>(table);
  expect_node_actor_row<events_request>(table);
  expect_node_actor_row<events_reply>(table);
  expect_node_actor_row<actor_types_request>(table);
  expect_node_actor_row<actor_types_reply>(table);
  expect_node_actor_row<spawn_request>(table);
  expect_node_actor_row<spawn_reply>(table);
  expect_node_actor_row<spawnable_request>(table);
  expect_node_actor_row<spawnable_reply>(table);
  // The layouts the table states.
  EXPECT_EQ(codec<members_request>::encoded_size(members_request{}), 1u) << "one u8, not an empty struct";
  EXPECT_EQ(codec<monitor_request>::encoded_size(monitor_request{}), 16u);
}

TEST(ProtocolSpec, VersionAndHandshakeConstantsAreTheCodes) {
  const auto text = spec();
  EXPECT_NE(text.find("`protocol_version` is " + std::to_string(protocol_version) + "."), std::string::npos);
  EXPECT_NE(text.find("| `protocol_version` | u16 | " + std::to_string(protocol_version) + " |"), std::string::npos);
  EXPECT_NE(text.find("salt = \"" + std::string(key_salt) + "\""), std::string::npos);
  EXPECT_NE(text.find("info = \"" + std::string(key_info) + "\""), std::string::npos);
  EXPECT_NE(text.find("\"" + std::string(proof_label(handshake_role::initiator)) + "\""), std::string::npos);
  EXPECT_NE(text.find("\"" + std::string(proof_label(handshake_role::acceptor)) + "\""), std::string::npos);
  EXPECT_NE(text.find("≤ " + std::to_string(max_handshake_size)), std::string::npos);
  EXPECT_NE(text.find("≤ " + std::to_string(max_node_name) + " bytes"), std::string::npos);
}

}  // namespace
}  // namespace herald::wire
