// The self-check of scripts/tsan.sh: proves that the TSan setup (tests/tsan_caf_shim.c preloaded, tests/tsan.supp)
// still sees a race across CAF and no longer reports CAF's own ordering. Built by the script, not by CMake.
//   tsan_probe ordered  every access of `counter` is ordered by a message: expect no report
//   tsan_probe racy     main and the handler also write `counter` with no message between: expect a report here
#include <caf/all.hpp>

#include <cstdio>
#include <cstring>

namespace {

using go_atom = caf::atom_constant<caf::atom("go")>;

int counter = 0;

caf::behavior adder(caf::event_based_actor*) {
  return {[](go_atom, int n) -> int {
    counter += n; // the racy mode's report names this line
    return counter;
  }};
}

} // namespace

int main(int argc, char** argv) {
  const bool racy = argc > 1 && std::strcmp(argv[1], "racy") == 0;
  caf::actor_system_config cfg;
  cfg.set("scheduler.max-threads", 2);
  caf::actor_system sys{cfg};
  auto a = sys.spawn(adder);
  {
    caf::scoped_actor self{sys};
    // A payload and a write before each request, a read after each answer: ordered by the messages.
    for (int i = 0; i < 200; ++i) {
      counter += 1;
      self->request(a, caf::infinite, go_atom::value, i).receive([](int) {}, [](caf::error&) {});
    }
    if (racy) {
      caf::anon_send(a, go_atom::value, 1);
      counter += 1; // nothing orders this against the handler's write
    }
    self->send_exit(a, caf::exit_reason::user_shutdown);
  }
  std::printf("tsan_probe %s: counter %d\n", racy ? "racy" : "ordered", counter);
  return 0;
}
