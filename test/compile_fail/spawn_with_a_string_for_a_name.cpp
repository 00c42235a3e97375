// expect: name an actor with herald::name\(
#include <herald/herald.hpp>

#include <string>

class counter : public herald::actor<counter> {
 public:
  counter() = default;
};

int main() {
  herald::actor_system sys;
  // Used to spawn a default-constructed counter named "x".
  auto c = sys.spawn<counter>(std::string("x"));
  (void)c;
}
