#include "herald/wire/bytes.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include "herald/herald.hpp"
#include "support/transports.hpp"
#include "support/two_nodes.hpp"

// wire::bytes in messages between actors: read in place where it arrived,
// moved without a copy between local actors, and a reply holding views owns
// its frame.
namespace herald {
namespace {

using namespace std::chrono_literals;
using test::transport;

std::byte filler_of(std::uint32_t code) { return static_cast<std::byte>('a' + code % 26); }

wire::bytes filled(std::size_t size, std::uint32_t code) {
  return wire::bytes(std::vector<std::byte>(size, filler_of(code)));
}

bool all_of(const wire::bytes& b, std::size_t size, std::uint32_t code) {
  if (b.size() != size) return false;
  for (std::byte x : b)
    if (x != filler_of(code)) return false;
  return true;
}

// What a handler saw of a bytes message.
struct inspection {
  bool owned;             // the handler's bytes owned their storage
  std::uint64_t address;  // where the bytes were
  bool intact;            // size and content as sent
};
struct inspect {
  std::uint32_t code;
  std::uint32_t size;
  wire::bytes data;
  auto fields() { return std::tie(code, size, data); }
};

// A reply that views its frame twice: a bytes member and bytes in a vector.
struct parts_reply {
  std::uint32_t code;
  wire::bytes head;
  std::vector<wire::bytes> rest;
  auto fields() { return std::tie(code, head, rest); }
};
struct parts_request {
  std::uint32_t code;
  std::uint32_t size;
};

class store : public actor<store> {
 public:
  using messages = herald::messages<inspect, parts_request>;

  inspection on(const inspect& m) {
    return {m.data.owns(), reinterpret_cast<std::uintptr_t>(m.data.data()), all_of(m.data, m.size, m.code)};
  }
  parts_reply on(const parts_request& r) {
    parts_reply out{r.code, filled(r.size, r.code), {}};
    out.rest.push_back(filled(r.size / 2, r.code + 1));
    out.rest.push_back(filled(r.size / 3, r.code + 2));
    return out;
  }
};

bool intact(const parts_reply& p, std::uint32_t code, std::uint32_t size) {
  if (p.code != code || !all_of(p.head, size, code) || p.rest.size() != 2) return false;
  return all_of(p.rest[0], size / 2, code + 1) && all_of(p.rest[1], size / 3, code + 2);
}

class BytesMessages : public ::testing::TestWithParam<transport> {};

INSTANTIATE_TEST_SUITE_P(Transports, BytesMessages,
                         ::testing::Values(transport::tcp, transport::unix_socket, transport::inproc),
                         test::transport_name{});

// Sizes inline in a mailbox node, in a pooled receive buffer, and above the
// large-payload threshold (64 KiB).
constexpr std::uint32_t sizes[] = {8, 1000, 100 << 10};

TEST_P(BytesMessages, ARemoteHandlerReadsTheBytesWhereTheyArrived) {
  test::two_nodes<store> n(GetParam(), "bytes-message-test");
  ASSERT_TRUE(n.b->spawn<store>(herald::name("store")));
  auto far = n.a->remote_lookup<store>(n.b_address, "store", 10s);
  ASSERT_TRUE(far) << far.error().message();
  for (std::uint32_t size : sizes) {
    for (std::uint32_t code = 1; code <= 3; ++code) {
      auto r = far->ask(inspect{code, size, filled(size, code)}, 10s).get();
      ASSERT_TRUE(r) << r.error().message();
      EXPECT_TRUE(r->intact) << size << " bytes";
      EXPECT_FALSE(r->owned) << size << " bytes: the handler got a copy, not the received bytes";
    }
  }
}

TEST(BytesMessagesLocal, ALocalHandlerGetsTheSendersBytesWithoutACopy) {
  actor_system sys{actor_system_config{.worker_threads = 2}};
  auto s = sys.spawn<store>().value();
  for (std::uint32_t size : sizes) {
    auto m = inspect{7, size, filled(size, 7)};
    const auto sent_at = reinterpret_cast<std::uintptr_t>(m.data.data());
    auto r = s.ask(std::move(m), 5s).get();
    ASSERT_TRUE(r) << r.error().message();
    EXPECT_TRUE(r->intact);
    EXPECT_TRUE(r->owned);
    EXPECT_EQ(r->address, sent_at) << size << " bytes: a local message moved must not be copied";
  }
}

// Each reply views its frame (or, above 64 KiB, its pooled receive buffer,
// which a later frame would reuse); it is read only after later replies came.
TEST_P(BytesMessages, AReplyHoldingViewsOwnsItsFrame) {
  test::two_nodes<store> n(GetParam(), "bytes-reply-test");
  ASSERT_TRUE(n.b->spawn<store>(herald::name("store")));
  auto far = n.a->remote_lookup<store>(n.b_address, "store", 10s);
  ASSERT_TRUE(far) << far.error().message();
  for (std::uint32_t size : sizes) {
    std::vector<parts_reply> replies;
    for (std::uint32_t code = 1; code <= 4; ++code) {
      auto r = far->ask(parts_request{code, size}, 10s).get();
      ASSERT_TRUE(r) << r.error().message();
      EXPECT_FALSE(r->head.owns()) << "the reply's bytes are read in place";
      replies.push_back(std::move(*r));
    }
    for (std::uint32_t code = 1; code <= 4; ++code) {
      EXPECT_TRUE(intact(replies[code - 1], code, size)) << size << "-byte reply " << code;
    }
    // A copy of a reply shares its frame; it stays intact after the original goes.
    parts_reply kept{replies[0].code, replies[0].head, replies[0].rest};
    replies.clear();
    EXPECT_TRUE(all_of(kept.head, size, 1));
    EXPECT_TRUE(all_of(kept.rest[1], size / 3, 3));
  }
}

}  // namespace
}  // namespace herald
