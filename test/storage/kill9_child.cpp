// The child process of the kill -9 test: a 3-member cluster of pure servers on real
// durable storage (one shared WAL with fdatasync, segments, meta store), driven in real
// time by a single-threaded loop, with one client submitting increasing values one at a
// time. It prints, unbuffered, on stdout:
//   STATE v1 v2 ...   the leader's applied state once recovered (all committed values)
//   SUBMIT n          before submitting value n
//   ACK n             when value n was acknowledged (committed and applied)
// and runs until killed (or --max-commands is reached).

#include <chrono>
#include <cstdio>
#include <deque>
#include <map>
#include <queue>
#include <string>
#include <unistd.h>

#include "test/storage/durable_node.hpp"
#include "libra/server.hpp"
#include "ra/typed_machine.hpp"
#include "wal/meta_store.hpp"

using namespace ra;
using namespace ra::storage;
using clock_type = std::chrono::steady_clock;

namespace {

struct list_machine {
  using command_type = int64_t;
  using state_type = std::vector<int64_t>;
  using reply_type = int64_t;
  state_type init() const { return {}; }
  apply_result<state_type, reply_type> apply(const command_meta&, const command_type& c, state_type s) const {
    s.push_back(c);
    return {std::move(s), c};
  }
};

int64_t now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(clock_type::now().time_since_epoch()).count();
}

void say(const std::string& line) {
  auto s = line + "\n";
  [[maybe_unused]] auto n = ::write(1, s.data(), s.size());  // unbuffered: survives kill -9
}

struct member_state {
  std::unique_ptr<server> srv;
  std::map<timer_kind, int64_t> timers;  // deadline ms
};

}  // namespace

int main(int argc, char** argv) {
  if (argc < 3) {
    std::fprintf(stderr, "usage: %s DATA_DIR FIRST_VALUE [MAX_COMMANDS]\n", argv[0]);
    return 2;
  }
  std::string dir = argv[1];
  int64_t next_value = std::stoll(argv[2]);
  int64_t max_commands = argc > 3 ? std::stoll(argv[3]) : -1;
  std::vector<std::string> names{"s1", "s2", "s3"};

  auto& fs = file_system::posix();
  wal_config wcfg;
  wcfg.wal_max_size_bytes = 256 * 1024;  // roll over often: segments get exercised
  segment_config scfg;
  scfg.segment_max_entries = 64;
  test::durable_node node{fs, dir, wcfg, scfg};
  if (auto err = node.open(names); !err.empty()) {
    std::fprintf(stderr, "recovery failed: %s\n", err.c_str());
    return 3;
  }
  auto meta = meta_store::open(fs, dir + "/meta");
  if (!meta) {
    std::fprintf(stderr, "meta store: %s\n", meta.error().message().c_str());
    return 3;
  }

  std::vector<member> members;
  for (auto& n : names) members.push_back(member{server_id{n, "local"}});
  std::map<std::string, member_state> servers;
  for (auto& n : names) {
    server_config cfg;
    cfg.id = server_id{n, "local"};
    cfg.cluster_name = "kill9";
    cfg.initial_members = members;
    cfg.broadcast_time_ms = 10;
    cfg.detector_poll_ms = 100;
    cfg.tick_timeout_ms = 50;
    cfg.min_snapshot_interval = 1 << 30;
    cfg.rng_seed = static_cast<uint64_t>(now_ms()) ^ std::hash<std::string>{}(n);
    auto m = (*meta)->get(n);
    servers[n].srv = std::make_unique<server>(cfg, node.log(n), make_machine<list_machine>(),
                                              durable_meta{m.current_term, m.voted_for});
  }
  // A brand-new cluster needs an election trigger; a recovered one elects by itself.
  if (servers["s1"].srv->current_term() == term_t{0}) servers["s1"].srv->handle_trigger_election();

  std::deque<std::tuple<server_id, std::string, peer_message>> net;
  std::optional<client_ref> outstanding;
  int64_t outstanding_value = 0;
  uint64_t client_seq = 0;
  bool state_printed = false;

  auto run_actions = [&](const std::string& name) {
    auto& ms = servers[name];
    for (auto& a : ms.srv->take_actions()) {
      if (auto s = std::get_if<send_action>(&a)) {
        net.emplace_back(ms.srv->id(), s->to.name, std::move(s->msg));
      } else if (auto p = std::get_if<persist_meta_action>(&a)) {
        if (auto st = (*meta)->put_term_vote(name, p->term, p->voted_for); !st) {
          std::fprintf(stderr, "meta store: %s\n", st.error().message().c_str());
          std::exit(4);  // never act on a vote that is not durable
        }
      } else if (auto t = std::get_if<set_timer_action>(&a)) {
        ms.timers[t->kind] = now_ms() + static_cast<int64_t>(t->ms);
      } else if (auto c = std::get_if<cancel_timer_action>(&a)) {
        ms.timers.erase(c->kind);
      } else if (auto r = std::get_if<reply_action>(&a)) {
        if (outstanding && r->to == *outstanding) {
          if (!r->error) say("ACK " + std::to_string(outstanding_value));
          outstanding.reset();
        }
      }
    }
  };

  int64_t submitted = 0;
  int64_t last_flush = 0;
  while (max_commands < 0 || submitted < max_commands || outstanding) {
    auto now = now_ms();
    for (auto& n : names) {
      auto& ms = servers[n];
      ms.srv->set_time(now);
      for (auto it = ms.timers.begin(); it != ms.timers.end();) {
        if (it->second <= now) {
          auto k = it->first;
          it = ms.timers.erase(it);
          ms.srv->handle_timeout(k);
        } else {
          ++it;
        }
      }
      run_actions(n);
    }
    for (size_t budget = net.size(); budget > 0 && !net.empty(); --budget) {
      auto [from, to, msg] = std::move(net.front());
      net.pop_front();
      servers[to].srv->handle(from, msg);
      run_actions(to);
    }
    // The WAL syncs in batches every few ms (as a busy WAL thread does): entries wait in
    // its queue meanwhile, which is the window where an early acknowledgement would be lost.
    if (node.wal().pending_entries() > 0 && now - last_flush >= 3) {
      last_flush = now;
      node.flush();
      for (auto& n : names) {
        servers[n].srv->handle_log_written();
        run_actions(n);
      }
    }
    // Find the leader that has applied everything in its log (its noop included).
    server* leader = nullptr;
    for (auto& n : names) {
      auto& s = *servers[n].srv;
      if (s.current_role() == role::leader && s.last_applied() == s.log().last_index()) leader = &s;
    }
    if (leader && !state_printed) {
      std::string line = "STATE";
      for (auto v : machine_state<std::vector<int64_t>>(leader->state_machine())) line += " " + std::to_string(v);
      say(line);
      state_printed = true;
    }
    if (leader && state_printed && !outstanding && (max_commands < 0 || submitted < max_commands)) {
      outstanding = client_ref{++client_seq};
      outstanding_value = next_value++;
      say("SUBMIT " + std::to_string(outstanding_value));
      leader->handle_command(command_request{*outstanding, encode<int64_t>(outstanding_value)});
      ++submitted;
      run_actions(leader->id().name);
    }
    if (net.empty() && node.wal().pending_entries() == 0) ::usleep(200);
  }
  return 0;
}
