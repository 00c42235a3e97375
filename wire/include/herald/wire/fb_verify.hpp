#pragma once

#include <flatbuffers/flatbuffers.h>

#include <cstddef>
#include <cstdint>
#include <span>

#include "herald/result.hpp"

namespace herald::wire {

// How deep and how wide a verified FlatBuffers buffer may be. The defaults
// of FlatBuffers (depth 64, a million tables) are far looser than any herald
// schema; each schema states its own.
struct verify_limits {
  std::uint32_t max_depth = 8;
  std::uint32_t max_tables = 64;
};

// Runs the FlatBuffers Verifier over `in` as a buffer whose root is a Table,
// and only then returns the root. The buffer must start 8-byte aligned (frame
// payloads are, PROTOCOL.md "Padding"), so that fields are read at their
// natural alignment. Errors: verification_failed, with what failed.
template <class Table>
result<const Table*> verify_root(std::span<const std::byte> in, verify_limits limits = {}) {
  if (reinterpret_cast<std::uintptr_t>(in.data()) % 8 != 0)
    return herald::error(errc::verification_failed, "FlatBuffers payload is not 8-byte aligned in the receive buffer");
  if (in.size() < 12 || in.size() >= FLATBUFFERS_MAX_BUFFER_SIZE)
    return herald::error(errc::verification_failed, "FlatBuffers payload size out of range");
  flatbuffers::Verifier::Options opts;
  opts.max_depth = limits.max_depth;
  opts.max_tables = limits.max_tables;
  opts.check_alignment = true;
  opts.check_nested_flatbuffers = true;
  const auto* data = reinterpret_cast<const std::uint8_t*>(in.data());
  flatbuffers::Verifier v(data, in.size(), opts);
  if (!v.VerifyBuffer<Table>(nullptr))
    return herald::error(errc::verification_failed, "buffer is not a well-formed FlatBuffers table");
  return flatbuffers::GetRoot<Table>(data);
}

}  // namespace herald::wire
