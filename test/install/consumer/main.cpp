#include <herald/herald.hpp>

#include <cstdio>

struct question {};

class oracle : public herald::actor<oracle> {
 public:
  int on(const question&) { return 42; }
};

int main() {
  herald::actor_system sys{herald::actor_system_config{.worker_threads = 1}};
  auto o = sys.spawn<oracle>().value();
  std::printf("%d\n", o.ask(question{}).get().value());
}
