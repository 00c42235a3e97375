// expect: this actor has no public handler `on\(const M&\)` for the message type M sent with tell\(\) \(handlers must be public
#include <herald/herald.hpp>

struct ping {};
struct unrelated {};

class pinger : public herald::actor<pinger> {
 public:
  void on(const ping&) {}
};

int main() {
  herald::actor_system sys;
  auto p = sys.spawn<pinger>().value();
  (void)p.tell(unrelated{});
}
