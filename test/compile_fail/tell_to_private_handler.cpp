// expect: handlers must be public overloads of `on`
#include <herald/herald.hpp>

struct ping {};

class pinger : public herald::actor<pinger> {
  void on(const ping&) {}  // private: not a handler
};

int main() {
  herald::actor_system sys;
  auto p = sys.spawn<pinger>().value();
  (void)p.tell(ping{});
}
