// expect: this actor has no handler `on\(const M&\)` for the message type M sent with ask\(\)
#include <herald/herald.hpp>

struct ping {};
struct unrelated {};

class pinger : public herald::actor<pinger> {
 public:
  int on(const ping&) { return 1; }
};

int main() {
  herald::actor_system sys;
  auto p = sys.spawn<pinger>().value();
  (void)p.ask(unrelated{}).get();
}
