// expect: an actor that calls monitor\(\) needs a handler `on\(const herald::down&\)`
#include <herald/herald.hpp>

struct watch {};

class blind : public herald::actor<blind> {
 public:
  void on(const watch&) { monitor(self()); }
};

int main() {
  herald::actor_system sys;
  (void)sys.spawn<blind>().value().tell(watch{});
}
