// The README's second example: the built-in key-value machine used from inside a CAF
// actor with the non-blocking API (ra/async_api.hpp). The actor puts a key, makes a
// compare-and-set that succeeds and one that fails, reads the key back with a consistent
// query, prints what it saw and quits.
//
//   ra-kv-actor [DATA_DIR]      (default: a fresh temporary directory, removed after)

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>

#include <caf/all.hpp>

#include "ra/api.hpp"
#include "ra/async_api.hpp"
#include "ra/machines/kv.hpp"

using namespace std::chrono_literals;
using namespace ra::machines;

namespace {

/// Submits a kv command from `self` and hands its typed reply to `then`.
template <class Cmd, class F>
void kv_call(caf::event_based_actor* self, ra::system& sys, const ra::server_id& id, const Cmd& cmd, F then) {
  ra::async::process_command_raw(self, sys, id, ra::encode_command<kv_protocol>(cmd), 5s,
                                 [then](ra::result<ra::raw_reply> r) {
                                   if (!r) {
                                     std::printf("command failed: %s\n", r.error().to_string().c_str());
                                     return then(std::optional<typename Cmd::reply_type>{});
                                   }
                                   then(ra::decode_reply<Cmd>(r->reply));
                                 });
}

std::string show(const std::optional<std::string>& v) { return v ? '"' + *v + '"' : std::string("none"); }

caf::behavior kv_client(caf::event_based_actor* self, ra::system* sys, ra::server_id id, bool* ok) {
  kv_call(self, *sys, id, kv_put{"colour", "blue"}, [=](std::optional<kv_lookup> put) {
    std::printf("put colour=blue (previous: %s)\n", put ? show(put->value).c_str() : "?");
    kv_call(self, *sys, id, kv_cas{"colour", std::string("blue"), "green"}, [=](std::optional<kv_cas_result> cas1) {
      std::printf("cas blue->green: %s\n", cas1 && cas1->swapped ? "swapped" : "not swapped");
      kv_call(self, *sys, id, kv_cas{"colour", std::string("blue"), "red"}, [=](std::optional<kv_cas_result> cas2) {
        std::printf("cas blue->red: %s (current %s)\n", cas2 && cas2->swapped ? "swapped" : "not swapped",
                    cas2 ? show(cas2->current).c_str() : "?");
        ra::async::consistent_query<kv_state>(
          self, *sys, id, [](const kv_state& s) { return s.entries.count("colour") ? s.entries.at("colour") : std::string(); }, 5s,
          [=](auto q) {
            std::printf("consistent_query colour -> %s\n", q ? q->value.c_str() : "failed");
            *ok = cas1 && cas1->swapped && cas2 && !cas2->swapped && q && q->value == "green";
            self->quit();
          });
      });
    });
  });
  return {[](caf::unit_t) {}};
}

}  // namespace

int main(int argc, char** argv) {
  std::string dir;
  bool temporary = argc < 2;
  if (temporary) {
    std::string pattern = (std::filesystem::temp_directory_path() / "ra-kv-actor-XXXXXX").string();
    if (!::mkdtemp(pattern.data())) return std::perror("mkdtemp"), 1;
    dir = pattern;
  } else {
    dir = argv[1];
  }
  bool ok = false;
  {
    ra::system_config cfg;
    cfg.name = "node1";
    cfg.data_dir = dir;
    cfg.machines["kv"] = [](const std::string&) { return make_kv_machine(); };
    auto sys = ra::system::start(cfg);
    if (!sys) return std::fprintf(stderr, "system: %s\n", sys.error().to_string().c_str()), 1;
    std::vector<ra::server_id> members{{"kv1", "node1"}, {"kv2", "node1"}, {"kv3", "node1"}};
    auto started = ra::start_cluster(**sys, "kv", "kv", members);
    if (!started) return std::fprintf(stderr, "start_cluster: %s\n", started.error().to_string().c_str()), 1;
    auto client = (*sys)->actor_system().spawn(kv_client, sys->get(), members[1], &ok);
    caf::scoped_actor waiter{(*sys)->actor_system()};
    waiter->wait_for(client);
  }
  if (temporary) std::filesystem::remove_all(dir);
  std::printf(ok ? "kv example OK\n" : "kv example FAILED\n");
  return ok ? 0 : 1;
}
