// Workload C (recovery): write --commands small commands (16 B, --window in flight) into
// one 3-member cluster, stop the process cleanly (or kill -9 it once every command was
// acknowledged), then start a new process on the same data: the time until the servers
// are restarted, a leader is elected and all commands are recovered (the counter's
// value, read with a consistent query, equals the number of commands; then every
// member's local state too).
//
// The processes are real: ra-bench runs itself (/proc/self/exe) as a child,
//   ra-bench c --phase write   --state-dir D --commands N [--wait-kill]
//   ra-bench c --phase recover --state-dir D --commands N
// and reads one line "RESULT <json>" (or "ACKED <json>" before waiting to be killed)
// from the child's stdout. "From process start" is measured by the parent, from just
// before fork() to the child's RESULT line, so exec, dynamic loading, system start (WAL
// recovery and moving the WAL into segments), restarts, election and replay all count.

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <iostream>
#include <stdexcept>
#include <thread>

#include "tools/ra-bench/bench_common.hpp"
#include "tools/ra-bench/child_process.hpp"
#include "tools/ra-bench/bench_workloads.hpp"

namespace ra::bench {

namespace {

constexpr double recover_target_seconds = 2.0;  // 1,000,000 entries
const std::string cluster_name = "c1";
const std::string node_name = "bench";

// -- child side -------------------------------------------------------------------------------

void emit(const std::string& tag, const json& j) {
  std::printf("%s %s\n", tag.c_str(), j.dump().c_str());
  std::fflush(stdout);
}

int child_write(const run_options& o) {
  const auto t0 = clock_type::now();
  auto sys = start_system(o, o.c_state_dir, node_name);
  auto ids = cluster_ids(cluster_name, node_name);
  auto r = ra::start_cluster(*sys, cluster_name, bench_machine, ids, std::chrono::seconds(30));
  if (!r) throw std::runtime_error("start_cluster: " + r.error().to_string());
  const double started_s = seconds_since(t0);
  auto counters = std::make_shared<client_counters>();
  client_config cc;
  cc.target = r->leader;
  cc.command = make_command(16);
  cc.priority = parse_priority(o.priority);
  cc.window = o.c_window;
  cc.limit = o.c_commands;
  cc.decode_replies = true;
  const auto w0 = clock_type::now();
  auto client = spawn_client(*sys, cc, counters);
  auto tick = w0;
  while (counters->applied.load() < o.c_commands) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    if (clock_type::now() - tick > std::chrono::seconds(1)) {
      tick = clock_type::now();
      std::cerr << "\r\033[Kra-bench c [write]:   " << thousands(counters->applied.load()) << " / "
                << thousands(o.c_commands) << " applied" << std::flush;
    }
    if (seconds_since(w0) > 3600) throw std::runtime_error("write phase took over an hour");
  }
  const double write_s = seconds_since(w0);
  stop_client(client);
  json j{{"commands", o.c_commands},
         {"start_seconds", started_s},
         {"write_seconds", write_s},
         {"write_ops_per_s", o.c_commands / write_s},
         {"last_reply", counters->last_reply.load()},
         {"rejected", counters->rejected.load()}};
  if (o.c_wait_kill) {
    emit("ACKED", j);
    for (;;) ::pause();  // the parent kills us (SIGKILL)
  }
  const auto s0 = clock_type::now();
  sys->stop();
  j["stop_seconds"] = seconds_since(s0);
  emit("RESULT", j);
  return 0;
}

int child_recover(const run_options& o) {
  const auto t0 = clock_type::now();
  auto sys = start_system(o, o.c_state_dir, node_name);
  const double system_s = seconds_since(t0);
  auto names = sys->known_servers();
  std::vector<server_id> ids;
  for (auto& n : names) {
    ids.push_back(server_id{n, node_name});
    if (auto st = ra::restart_server(*sys, ids.back()); !st)
      throw std::runtime_error("restart_server " + n + ": " + st.error().to_string());
  }
  const double restarted_s = seconds_since(t0);
  // A leader: poll the members until one says it leads.
  server_id leader;
  while (leader.empty()) {
    for (auto& id : ids) {
      auto m = ra::members(*sys, id, std::chrono::seconds(5));
      if (m && !m->leader.empty()) {
        leader = m->leader;
        break;
      }
    }
    if (leader.empty()) std::this_thread::sleep_for(std::chrono::milliseconds(1));
    if (seconds_since(t0) > 600) throw std::runtime_error("no leader after 600 s");
  }
  const double leader_s = seconds_since(t0);
  const auto expected = static_cast<int64_t>(o.c_commands);
  int64_t value = -1;
  for (;;) {
    auto q = ra::consistent_query<int64_t>(*sys, leader, [](const int64_t& s) { return s; }, std::chrono::seconds(30));
    if (q) {
      value = q->value;
      if (value >= expected) break;
    }
    if (seconds_since(t0) > 600) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  const double recovered_s = seconds_since(t0);
  // Every member's own state (followers apply what the leader tells them is committed).
  std::vector<int64_t> member_values(ids.size(), -1);
  for (;;) {
    bool all = true;
    for (size_t i = 0; i < ids.size(); ++i) {
      if (member_values[i] >= expected) continue;
      auto q = ra::local_query<int64_t>(*sys, ids[i], [](const int64_t& s) { return s; });
      if (q) member_values[i] = q->value;
      all = all && member_values[i] >= expected;
    }
    if (all || seconds_since(t0) > 600) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  const double all_members_s = seconds_since(t0);
  json j{{"system_start_seconds", system_s},
         {"servers_restarted_seconds", restarted_s},
         {"leader_seconds", leader_s},
         {"recovered_seconds", recovered_s},
         {"all_members_seconds", all_members_s},
         {"value", value},
         {"member_values", member_values},
         {"expected", expected},
         {"ok", value == expected}};
  emit("RESULT", j);
  sys->stop();
  return 0;
}

// -- parent side ------------------------------------------------------------------------------

child_process spawn_child(const run_options& o, const std::string& phase, bool wait_kill) {
  std::vector<std::string> args{"c",
                                "--phase",     phase,
                                "--state-dir", o.c_state_dir,
                                "--commands",  std::to_string(o.c_commands),
                                "--window",    std::to_string(o.c_window),
                                "--log-level", o.log_level,
                                "--scheduler-threads", std::to_string(o.scheduler_threads),
                                "--priority",  o.priority};
  if (wait_kill) args.push_back("--wait-kill");
  return spawn_self(args);
}

/// Reads lines until one starts with `tag`; returns its JSON and the seconds since fork.
std::pair<json, double> read_tagged(child_process& c, const std::string& tag) {
  auto rest = read_tagged_line(c, tag);
  return {json::parse(rest), seconds_since(c.forked)};
}

json recover_phase(run_options& co, run_frame& frame, const std::string& how) {
  frame.progress("c: " + how + ": new process, restart, election, replay of " + thousands(co.c_commands) + " commands");
  auto rc = spawn_child(co, "recover", false);
  auto [res, total] = read_tagged(rc, "RESULT");
  int st = wait_child(rc);
  res["from_process_start_seconds"] = total;
  res["exit_status"] = st;
  return res;
}

}  // namespace

int run_c_child(const run_options& o) try {
  if (o.c_state_dir.empty()) throw std::runtime_error("--phase needs --state-dir");
  if (o.c_phase == "write") return child_write(o);
  if (o.c_phase == "recover") return child_recover(o);
  throw std::runtime_error("unknown phase " + o.c_phase);
} catch (const std::exception& e) {
  std::cerr << "ra-bench c [" << o.c_phase << "]: " << e.what() << '\n';
  return 1;
}

json run_c(const run_options& o, run_frame& frame) {
  json out;
  std::vector<std::string> variants{"clean_stop"};
  if (o.c_kill) variants.push_back("kill_9");
  for (auto& v : variants) {
    run_options co = o;
    co.c_state_dir = frame.subdir("c-" + v);
    const bool kill = v == "kill_9";
    frame.progress("c: " + v + ": writing " + thousands(o.c_commands) + " commands (" + std::to_string(o.c_window) +
                   " in flight) in a child process");
    auto wc = spawn_child(co, "write", kill);
    json w;
    if (kill) {
      w = read_tagged(wc, "ACKED").first;
      ::kill(wc.pid, SIGKILL);
      int st = wait_child(wc);
      w["killed"] = WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL;
    } else {
      w = read_tagged(wc, "RESULT").first;
      w["exit_status"] = wait_child(wc);
    }
    std::cerr << '\n';
    json r = recover_phase(co, frame, v);
    out[v] = {{"write", w}, {"recover", r}};
  }
  out["commands"] = o.c_commands;
  return out;
}

std::string report_c(const json& r) {
  std::string s = "C recovery: " + thousands(r["commands"].get<double>()) + " commands of 16 B into 1 cluster of 3\n";
  s += "  variant     write ops/s  system up  restarted  leader  all recovered  all members  from process start\n";
  for (const char* v : {"clean_stop", "kill_9"}) {
    if (!r.contains(v)) continue;
    auto& w = r[v]["write"];
    auto& c = r[v]["recover"];
    double total = c["from_process_start_seconds"];
    s += printf_string("  %-10s %12s %9.2fs %9.2fs %6.2fs %13.2fs %11.2fs %10.2fs  %s (value %s)\n", v,
                       thousands(w["write_ops_per_s"].get<double>()).c_str(), c["system_start_seconds"].get<double>(),
                       c["servers_restarted_seconds"].get<double>(), c["leader_seconds"].get<double>(),
                       c["recovered_seconds"].get<double>(), c["all_members_seconds"].get<double>(), total,
                       c["ok"].get<bool>() ? (total <= recover_target_seconds ? "target <= 2 s: met" : "target <= 2 s: MISSED")
                                           : "WRONG VALUE",
                       thousands(c["value"].get<double>()).c_str());
  }
  s += "  (times inside the new process are from its main(); 'from process start' is from fork() in the parent)\n";
  return s;
}

}  // namespace ra::bench
