// The README quick start (Ra's, in C++): a 3-member cluster on this node with a simple
// adding machine (initial state 0); process_command 5 then 7 replies 12 and names the
// leader. Then the leader is stopped, a new one is elected and the state is intact.
//
//   ra-quick-start [DATA_DIR]      (default: a fresh temporary directory, removed after)

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>

#include "ra/api.hpp"

int main(int argc, char** argv) {
  std::string dir;
  bool temporary = argc < 2;
  if (temporary) {
    std::string pattern = (std::filesystem::temp_directory_path() / "ra-quick-start-XXXXXX").string();
    if (!::mkdtemp(pattern.data())) return std::perror("mkdtemp"), 1;
    dir = pattern;
  } else {
    dir = argv[1];
  }
  int rc = 0;
  {
    // 1. One ra::system per node: the WAL, segment writer, directory and machines.
    ra::system_config cfg;
    cfg.name = "node1";
    cfg.data_dir = dir;
    // Ra's {simple, fun erlang:'+'/2, 0}: the command is added to the state; the reply is the new state.
    cfg.machines["adder"] = [](const std::string&) {
      return ra::make_simple_machine<int64_t, int64_t>([](const int64_t& n, int64_t state) { return state + n; }, 0);
    };
    auto sys = ra::system::start(cfg);
    if (!sys) return std::fprintf(stderr, "system: %s\n", sys.error().to_string().c_str()), 1;

    // 2. A 3-member cluster (all members on this node here; ids name {server, node}).
    std::vector<ra::server_id> members{{"a", "node1"}, {"b", "node1"}, {"c", "node1"}};
    auto started = ra::start_cluster(**sys, "quick_start", "adder", members);
    if (!started) return std::fprintf(stderr, "start_cluster: %s\n", started.error().to_string().c_str()), 1;
    std::printf("cluster started, leader %s\n", started->leader.to_string().c_str());

    // 3. Commands go to any member; they are redirected to the leader.
    auto r1 = ra::process_command<int64_t>(**sys, members[0], int64_t{5});
    auto r2 = ra::process_command<int64_t>(**sys, members[1], int64_t{7});
    if (!r1 || !r2) return std::fprintf(stderr, "process_command failed\n"), 1;
    std::printf("process_command 5 -> %lld, then 7 -> %lld (leader %s)\n", static_cast<long long>(r1->reply),
                static_cast<long long>(r2->reply), r2->leader.to_string().c_str());
    if (r2->reply != 12) rc = 1;

    // 4. Lose the leader: the others elect a new one; nothing acknowledged is lost.
    if (auto st = ra::stop_server(**sys, r2->leader); !st)
      return std::fprintf(stderr, "stop_server: %s\n", st.error().to_string().c_str()), 1;
    auto survivor = r2->leader == members[0] ? members[1] : members[0];
    auto r3 = ra::process_command<int64_t>(**sys, survivor, int64_t{30});
    if (!r3) return std::fprintf(stderr, "after leader stop: %s\n", r3.error().to_string().c_str()), 1;
    std::printf("leader %s stopped; new leader %s; 30 more -> %lld\n", r2->leader.to_string().c_str(),
                r3->leader.to_string().c_str(), static_cast<long long>(r3->reply));
    if (r3->reply != 42) rc = 1;
    auto q = ra::consistent_query<int64_t>(**sys, survivor, [](const int64_t& s) { return s; });
    if (!q || q->value != 42) rc = 1;
    std::printf("consistent_query -> %lld\n", q ? static_cast<long long>(q->value) : -1LL);
  }
  if (temporary) std::filesystem::remove_all(dir);
  std::printf(rc == 0 ? "quick start OK\n" : "quick start FAILED\n");
  return rc;
}
