// The reply pattern: a tell has no sender, so a message that wants an answer
// carries the ref to answer to. A client hands the server `self()`; the
// server tells its answer to that ref. main waits with await_all_stopped().
// Built with -Wall -Wextra -Werror, like every example.
//
// Run: build/bin/example_reply   (prints three answers, then "done")
#include <herald/herald.hpp>

#include <cstdio>
#include <string>

class client;

struct question {
  std::string text;
  herald::actor_ref<client> reply_to;  // the answer goes here
};
struct answer {
  std::string text;
};
struct bye {};
class server;
struct start {
  herald::actor_ref<server> to;
};

class server : public herald::actor<server> {
 public:
  void on(const question& q);  // defined below, once client is complete
  void on(const bye&) { stop(); }
};

class client : public herald::actor<client> {
 public:
  void on(const start& s) {
    server_ = s.to;
    for (const char* text : {"one", "two", "three"}) {
      // self(): a ref to this actor, to hand to others.
      if (!server_.tell(question{text, self()})) return stop();
    }
  }
  void on(const answer& a) {
    std::printf("%s\n", a.text.c_str());
    if (++answers_ == 3) {  // the last answer: both are done
      (void)server_.tell(bye{});
      stop();
    }
  }

 private:
  herald::actor_ref<server> server_;
  int answers_ = 0;
};

void server::on(const question& q) {
  if (!q.reply_to.tell(answer{"you asked: " + q.text})) std::puts("the client is gone");
}

int main() {
  herald::actor_system_config cfg{.worker_threads = 2};
  herald::actor_system sys{cfg};
  auto srv = sys.spawn<server>(herald::name("server")).value();
  auto cli = sys.spawn<client>().value();
  if (!cli.tell(start{srv})) return 1;
  // Answers arrive in the order the questions were sent: one sender, one receiver.
  if (!sys.await_all_stopped(std::chrono::seconds(10))) {
    std::puts("timed out");
    return 1;
  }
  std::puts("done");
}
