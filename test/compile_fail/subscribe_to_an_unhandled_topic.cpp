// expect: subscribe: the subscriber has no handler `on\(const M&\)` for the topic's message type
#include <herald/herald.hpp>

struct ping {};
struct unrelated {};

class pinger : public herald::actor<pinger> {
 public:
  using messages = herald::messages<ping>;
  void on(const ping&) {}
};

int main() {
  herald::actor_system sys;
  auto p = sys.spawn<pinger>({}).value();
  (void)sys.subscribe(herald::topic<unrelated>("unrelated"), p);
}
