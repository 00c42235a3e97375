// expect: this actor has no public handler `on\(const M&\)` for the message type M sent with ask\(\) \(handlers must be public
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
