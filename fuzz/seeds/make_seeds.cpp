// Writes the seed corpus of every fuzz target into fuzz/corpus/<target>/.
// Run after a change to the wire format (docs/fuzzing.md):
//   cmake --build build --target herald_fuzz_seeds && build/bin/herald_fuzz_seeds fuzz/corpus

#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <optional>
#include <string>
#include <vector>

#include "herald/registry/cluster_messages.hpp"
#include "herald/wire/codec.hpp"
#include "herald/wire/control.hpp"
#include "herald/wire/frame_writer.hpp"
#include "herald/wire/handshake.hpp"

namespace {

using namespace herald::wire;
using bytes = std::vector<std::byte>;

struct pod64 {
  std::int64_t a;
  double b;
  std::uint32_t c[12];
};
struct member {
  std::string name;
  std::vector<std::int32_t> scores;
  std::optional<std::string> nickname;
  bool admin = false;  // a plain aggregate: reflected, no user code
};
struct team {
  std::string title;
  std::vector<member> members;
  std::optional<pod64> stats;
  auto fields() { return std::tie(title, members, stats); }
};

std::filesystem::path root;

void write(const std::string& target, const std::string& name, const bytes& b) {
  auto dir = root / target;
  std::filesystem::create_directories(dir);
  std::ofstream out(dir / name, std::ios::binary | std::ios::trunc);
  out.write(reinterpret_cast<const char*>(b.data()), static_cast<std::streamsize>(b.size()));
}

template <class T>
bytes encoded(const T& v) {
  bytes out(codec<T>::encoded_size(v));
  codec<T>::encode(v, out);
  return out;
}

bytes finished(const flatbuffers::FlatBufferBuilder& b) {
  auto* p = reinterpret_cast<const std::byte*>(b.GetBufferPointer());
  return {p, p + b.GetSize()};
}

bytes with_selector(std::uint8_t sel, const bytes& b) {
  bytes out{std::byte{sel}};
  out.insert(out.end(), b.begin(), b.end());
  return out;
}

void append_frame(bytes& stream, frame_header h, const bytes& payload) {
  bytes f(frame_size(payload.size()));
  write_frame(h, payload, f);
  stream.insert(stream.end(), f.begin(), f.end());
}

hello sample_hello() {
  hello h;
  h.node_id = 0x1122334455667788ull;
  h.incarnation = 2;
  h.schema_hash = 0xabcdef;
  for (std::size_t i = 0; i < 32; ++i) h.nonce[i] = static_cast<std::uint8_t>(i);
  h.node_name = "node-a";
  h.listen_address = "127.0.0.1:7000";
  return h;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: herald_fuzz_seeds CORPUS_ROOT\n");
    return 2;
  }
  root = argv[1];
  flatbuffers::FlatBufferBuilder fb;

  // handshake
  const bytes hello_bytes = encode(sample_hello());
  proof p;
  for (std::size_t i = 0; i < 32; ++i) p.mac[i] = static_cast<std::uint8_t>(0xA0 + i);
  const bytes proof_bytes = encode(p);
  write("handshake", "hello", hello_bytes);
  write("handshake", "proof", proof_bytes);
  hello minimal;
  write("handshake", "hello_minimal", encode(minimal));

  // control
  build_error_reply(fb, herald::error(herald::errc::timeout, "no reply within 200ms"));
  const bytes err = finished(fb);
  build_close(fb, close_notice{herald::errc::schema_mismatch, "schema hash differs"});
  const bytes cls = finished(fb);
  build_heartbeat(fb, heartbeat{41, 123456789, true});
  const bytes hb = finished(fb);
  write("control", "error_reply", with_selector(0, err));
  write("control", "close", with_selector(1, cls));
  write("control", "heartbeat", with_selector(2, hb));
  write("control", "table_view", with_selector(3, err));

  // codec
  pod64 pod{};
  pod.a = -1;
  pod.b = 0.5;
  pod.c[3] = 77;
  write("codec", "pod64", with_selector(0, encoded(pod)));
  write("codec", "int64", with_selector(1, encoded(std::int64_t{1} << 40)));
  write("codec", "bool", with_selector(2, encoded(true)));
  write("codec", "string", with_selector(3, encoded(std::string("hello, wire"))));
  write("codec", "vector_u64", with_selector(4, encoded(std::vector<std::uint64_t>{1, 2, 3})));
  write("codec", "vector_string", with_selector(5, encoded(std::vector<std::string>{"a", "", "ccc"})));
  write("codec", "optional_string", with_selector(6, encoded(std::optional<std::string>{"x"})));
  write("codec", "vector_optional", with_selector(7, encoded(std::vector<std::optional<std::int8_t>>{1, {}, 3})));
  team t{"core", {member{"ann", {1, 2}, "annie", true}, member{"bob", {}, {}, false}}, pod};
  write("codec", "team", with_selector(8, encoded(t)));
  write("codec", "vector_vector_bool",
        with_selector(9, encoded(std::vector<std::vector<bool>>{{true, false}, {}, {true}})));

  // frame_decoder: 8 split bytes, then a stream.
  const bytes splits{std::byte{3}, std::byte{40}, std::byte{5}, std::byte{90},
                     std::byte{1}, std::byte{200}, std::byte{17}, std::byte{64}};
  bytes stream = splits;
  frame_header h;
  h.kind = frame_kind::handshake;
  append_frame(stream, h, hello_bytes);
  h.kind = frame_kind::handshake_ack;
  append_frame(stream, h, proof_bytes);
  h = frame_header{};
  h.kind = frame_kind::tell;
  h.target = 9;
  h.type_id = 0x1234;
  append_frame(stream, h, encoded(pod));
  h.kind = frame_kind::ask;
  h.request_id = 1;
  append_frame(stream, h, encoded(std::string("balance?")));
  h = frame_header{};
  h.kind = frame_kind::reply;
  h.request_id = 1;
  append_frame(stream, h, encoded(std::int64_t{500}));
  h.kind = frame_kind::error_reply;
  append_frame(stream, h, err);
  h = frame_header{};
  h.kind = frame_kind::heartbeat;
  h.flags = 0x01;
  append_frame(stream, h, hb);
  h.kind = static_cast<frame_kind>(0x90);
  h.flags = 0;
  append_frame(stream, h, bytes(5, std::byte{0x5A}));
  h.kind = frame_kind::close;
  append_frame(stream, h, cls);
  write("frame_decoder", "conversation", stream);

  // A large message in three fragments around a whole tell (PROTOCOL.md §6.3).
  bytes fragments = splits;
  const bytes message(40, std::byte{0x6B});
  bytes first(16);
  const std::uint64_t length = message.size(), message_id = 3;
  std::memcpy(first.data(), &length, 8);
  std::memcpy(first.data() + 8, &message_id, 8);
  first.insert(first.end(), message.begin(), message.begin() + 10);
  h = frame_header{};
  h.kind = frame_kind::tell;
  h.flags = frame_flags::fragmented;
  h.target = 9;
  h.type_id = 0x1234;
  append_frame(fragments, h, first);
  h.flags = 0;
  append_frame(fragments, h, encoded(pod));
  h = frame_header{};
  h.kind = frame_kind::fragment;
  h.request_id = message_id;
  append_frame(fragments, h, bytes(message.begin() + 10, message.begin() + 25));
  append_frame(fragments, h, bytes(message.begin() + 25, message.end()));
  write("frame_decoder", "fragments", fragments);

  bytes oversized = splits;
  h = frame_header{};
  h.kind = frame_kind::tell;
  h.type_id = 1;
  h.payload_length = 0xFFFFFFFFu;
  bytes hdr(frame_header::size);
  encode_header(h, hdr.data());
  oversized.insert(oversized.end(), hdr.begin(), hdr.end());
  write("frame_decoder", "oversized", oversized);

  bytes truncated = splits;
  h.payload_length = 100;
  encode_header(h, hdr.data());
  truncated.insert(truncated.end(), hdr.begin(), hdr.end());
  truncated.insert(truncated.end(), 40, std::byte{1});
  write("frame_decoder", "truncated", truncated);
  // cluster_messages: one of each kind.
  {
    namespace reg = herald::registry;
    reg::member_info me{{7, 1}, 3, reg::member_status::up, "node-a", "10.0.0.1:7000"};
    reg::member_info other{{9, 2}, 5, reg::member_status::suspect, "node-b", "10.0.0.2:7000"};
    reg::gossip_msg g;
    g.phase = reg::gossip_phase::ack;
    g.sender = me;
    g.members = {me, other};
    g.digests.push_back(reg::stream_digest{{9, 2}, 12, false});
    reg::stream_batch batch;
    batch.owner = {9, 2};
    batch.floor = 10;
    batch.deltas.push_back(reg::name_delta{"bank/alice", 11, false, 42, 0x1234});
    batch.deltas.push_back(reg::name_delta{"bank/bob", 12, true, 0, 0});
    g.batches.push_back(batch);
    write("cluster_messages", "gossip", reg::encode(g));
    write("cluster_messages", "heartbeat", reg::encode(reg::heartbeat_msg{me}));
    write("cluster_messages", "probe",
          reg::encode(reg::probe_msg{reg::probe_kind::ping_req, me, 7, 9, 77}));
  }
  std::printf("seeds written under %s\n", root.c_str());
  return 0;
}
