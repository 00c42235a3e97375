// A quorum ask: write to five replicas and go on as soon as three have
// acknowledged; one replica is slow, one refuses. The quorum decides at the
// third acknowledgement without waiting for the slow one, whose late answer
// is dropped and counted. Built with -Wall -Wextra -Werror, like every
// example.
//
// Run: build/bin/example_quorum   (prints the three replicas that answered)
#include <herald/herald.hpp>

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

struct put {
  std::string key;
  std::uint64_t value = 0;
};

class replica : public herald::actor<replica> {
 public:
  replica(int id, std::chrono::milliseconds delay, bool refuses) : id_(id), delay_(delay), refuses_(refuses) {}
  int on(const put&) {
    if (refuses_) throw std::runtime_error("replica " + std::to_string(id_) + " is read-only");
    std::this_thread::sleep_for(delay_);
    return id_;
  }

 private:
  int id_;
  std::chrono::milliseconds delay_;
  bool refuses_;
};

int main() {
  using namespace std::chrono_literals;
  herald::actor_system sys{herald::actor_system_config{.worker_threads = 4}};
  std::vector<herald::actor_ref<replica>> replicas;
  for (int i = 0; i < 5; ++i) {
    const auto delay = i == 1 ? 500ms : 1ms;
    replicas.push_back(sys.spawn<replica>({}, i, delay, i == 4).value());
  }
  const auto began = std::chrono::steady_clock::now();
  auto r = herald::quorum(replicas, put{"colour", 7}).need(3).within(2s).get();
  const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - began);
  if (!r) {
    std::printf("no quorum: %s\n", r.error().message().c_str());
    return 1;
  }
  for (const auto& v : r->votes) std::printf("replica %d acknowledged (ref %zu)\n", v.value, v.from);
  std::printf("decided in %lld ms with %zu failed\n", static_cast<long long>(ms.count()), r->failed);
  std::this_thread::sleep_for(600ms);  // the slow replica answers now
  std::printf("late replies dropped: %llu\n", static_cast<unsigned long long>(sys.metrics().quorum_late_replies));
}
