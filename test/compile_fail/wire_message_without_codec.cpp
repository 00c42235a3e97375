// expect: cannot cross the wire
// A message type with no codec (a std::map member, no fields(), no codec
// specialization) must not compile when framed for the wire.
#include <herald/wire/frame_writer.hpp>

#include <map>
#include <vector>

struct ledger {
  std::map<int, long> entries;
};

int main() {
  ledger l;
  std::vector<std::byte> out(herald::wire::message_frame_size(l));
  herald::wire::write_message_frame({}, l, out);
}
