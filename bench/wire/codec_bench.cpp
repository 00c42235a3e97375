// Encode and decode cost of the wire layer per message, next to a memcpy of
// the same bytes (the floor any encoding pays) and, for FlatBuffers, next to
// an unpooled FlatBufferBuilder. Reports ns/message (the time column) and
// heap allocations per message (allocs/msg).
//
// Messages: a 64-byte trivially copyable struct; a struct holding a 1 KiB
// std::string; a FlatBuffers table (the handshake's Hello: four scalars, a
// 32-byte vector, two short strings). Encode writes a whole frame (header,
// payload, padding) into a preallocated slot, as a sender does into its ring
// buffer; decode frames it with frame_decoder and decodes the payload, as a
// reader does.

#include <benchmark/benchmark.h>

#include <cstring>
#include <string>
#include <vector>

#include "herald/wire/codec.hpp"
#include "herald/wire/fb_message.hpp"
#include "herald/wire/frame_decoder.hpp"
#include "herald/wire/frame_writer.hpp"
#include "herald/wire/handshake_generated.h"
#include "peers/alloc_counter.hpp"

namespace {

using namespace herald::wire;

struct pod64 {
  static constexpr std::string_view wire_name = "bench.pod64";
  std::int64_t id;
  std::int64_t amount;
  double rate;
  std::uint32_t flags[10];
};
static_assert(sizeof(pod64) == 64);

struct text1k {
  static constexpr std::string_view wire_name = "bench.text1k";
  std::string body;
  auto fields() { return std::tie(body); }
};

using hello_msg = fb_message<fb::Hello>;

// A slot of the size a sender claims in its ring buffer, 8-aligned.
struct slot {
  explicit slot(std::size_t n) : words(n / 8 + 1), bytes(reinterpret_cast<std::byte*>(words.data()), n) {}
  std::vector<std::uint64_t> words;
  std::span<std::byte> bytes;
};

void report_allocs(benchmark::State& state, std::uint64_t before) {
  state.counters["allocs/msg"] = benchmark::Counter(static_cast<double>(herald::bench::allocations() - before),
                                                    benchmark::Counter::kAvgIterations);
}

frame_header tell_to(std::uint64_t target) {
  frame_header h;
  h.kind = frame_kind::tell;
  h.target = target;
  return h;
}

flatbuffers::Offset<fb::Hello> fill_hello(flatbuffers::FlatBufferBuilder& b, std::uint64_t i) {
  static const std::uint8_t nonce[32] = {1, 2, 3};
  auto n = b.CreateVector(nonce, 32);
  auto name = b.CreateString("node-a");
  auto addr = b.CreateString("10.0.0.1:7000");
  return fb::CreateHello(b, 1, i, 2, 3, n, name, addr);
}

// ---- baselines: copying the bytes -----------------------------------------

void BM_Memcpy64(benchmark::State& state) {
  pod64 m{};
  slot s(frame_size(sizeof m));
  for (auto _ : state) {
    std::memcpy(s.bytes.data() + frame_header::size, &m, sizeof m);
    benchmark::DoNotOptimize(s.bytes.data());
    benchmark::ClobberMemory();
  }
}
BENCHMARK(BM_Memcpy64);

void BM_Memcpy1K(benchmark::State& state) {
  std::string body(1024, 'x');
  slot s(frame_size(1028));
  for (auto _ : state) {
    std::memcpy(s.bytes.data() + frame_header::size, body.data(), body.size());
    benchmark::DoNotOptimize(s.bytes.data());
    benchmark::ClobberMemory();
  }
}
BENCHMARK(BM_Memcpy1K);

// ---- frame header ------------------------------------------------------------

void BM_HeaderEncode(benchmark::State& state) {
  alignas(8) std::byte out[frame_header::size];
  frame_header h = tell_to(7);
  std::uint64_t i = 0;
  for (auto _ : state) {
    h.request_id = ++i;
    encode_header(h, out);
    benchmark::DoNotOptimize(out);
    benchmark::ClobberMemory();
  }
}
BENCHMARK(BM_HeaderEncode);

void BM_HeaderParseAndCheck(benchmark::State& state) {
  alignas(8) std::byte in[frame_header::size + 8];
  frame_header h = tell_to(7);
  h.type_id = 99;
  h.payload_length = 8;
  encode_header(h, in);
  frame_decoder d;
  for (auto _ : state) {
    auto r = d.next(in);
    benchmark::DoNotOptimize(r);
  }
}
BENCHMARK(BM_HeaderParseAndCheck);

// ---- 64-byte POD ---------------------------------------------------------------

void BM_Pod64Encode(benchmark::State& state) {
  pod64 m{};
  slot s(message_frame_size(m));
  const auto before = herald::bench::allocations();
  for (auto _ : state) {
    ++m.id;
    write_message_frame(tell_to(7), m, s.bytes);
    benchmark::DoNotOptimize(s.bytes.data());
    benchmark::ClobberMemory();
  }
  report_allocs(state, before);
}
BENCHMARK(BM_Pod64Encode);

void BM_Pod64Decode(benchmark::State& state) {
  pod64 m{};
  m.id = 5;
  slot s(message_frame_size(m));
  write_message_frame(tell_to(7), m, s.bytes);
  frame_decoder d;
  const auto before = herald::bench::allocations();
  for (auto _ : state) {
    auto f = d.next(s.bytes);
    auto v = codec<pod64>::decode((*f)->payload);
    benchmark::DoNotOptimize(v->id);
  }
  report_allocs(state, before);
}
BENCHMARK(BM_Pod64Decode);

// ---- 1 KiB string --------------------------------------------------------------

void BM_Text1KEncode(benchmark::State& state) {
  text1k m{std::string(1024, 'x')};
  slot s(message_frame_size(m));
  const auto before = herald::bench::allocations();
  for (auto _ : state) {
    write_message_frame(tell_to(7), m, s.bytes);
    benchmark::DoNotOptimize(s.bytes.data());
    benchmark::ClobberMemory();
  }
  report_allocs(state, before);
}
BENCHMARK(BM_Text1KEncode);

void BM_Text1KDecode(benchmark::State& state) {
  text1k m{std::string(1024, 'x')};
  slot s(message_frame_size(m));
  write_message_frame(tell_to(7), m, s.bytes);
  frame_decoder d;
  const auto before = herald::bench::allocations();
  for (auto _ : state) {
    auto f = d.next(s.bytes);
    auto v = codec<text1k>::decode((*f)->payload);
    benchmark::DoNotOptimize(v->body.data());
  }
  report_allocs(state, before);
}
BENCHMARK(BM_Text1KDecode);

// ---- FlatBuffers table ---------------------------------------------------------

void BM_FlatBufferEncodeFreshBuilder(benchmark::State& state) {
  slot s(256);
  std::uint64_t i = 0;
  const auto before = herald::bench::allocations();
  for (auto _ : state) {
    flatbuffers::FlatBufferBuilder b(1024);
    b.Finish(fill_hello(b, ++i));
    std::span<const std::byte> payload(reinterpret_cast<const std::byte*>(b.GetBufferPointer()), b.GetSize());
    write_frame(tell_to(7), payload, s.bytes.first(frame_size(payload.size())));
    benchmark::DoNotOptimize(s.bytes.data());
    benchmark::ClobberMemory();
  }
  report_allocs(state, before);
}
BENCHMARK(BM_FlatBufferEncodeFreshBuilder);

void BM_FlatBufferEncodePooled(benchmark::State& state) {
  serializer_pool pool;
  std::uint64_t i = 0;
  slot s(512);
  const auto before = herald::bench::allocations();
  for (auto _ : state) {
    auto m = hello_msg::build(pool, [&](auto& b) { return fill_hello(b, ++i); });
    write_message_frame(tell_to(7), m, s.bytes.first(message_frame_size(m)));
    benchmark::DoNotOptimize(s.bytes.data());
    benchmark::ClobberMemory();
  }
  report_allocs(state, before);
  state.counters["pool_misses"] = static_cast<double>(pool.stats().misses);
}
BENCHMARK(BM_FlatBufferEncodePooled);

void BM_FlatBufferDecodeVerifiedView(benchmark::State& state) {
  serializer_pool pool;
  auto m = hello_msg::build(pool, [&](auto& b) { return fill_hello(b, 42); });
  slot s(message_frame_size(m));
  write_message_frame(tell_to(7), m, s.bytes);
  frame_decoder d;
  const auto before = herald::bench::allocations();
  for (auto _ : state) {
    auto f = d.next(s.bytes);
    auto v = codec<hello_msg>::decode((*f)->payload);
    benchmark::DoNotOptimize((*v)->node_id());
  }
  report_allocs(state, before);
}
BENCHMARK(BM_FlatBufferDecodeVerifiedView);

}  // namespace

BENCHMARK_MAIN();
