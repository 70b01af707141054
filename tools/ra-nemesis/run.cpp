#include "tools/ra-nemesis/run.hpp"

#include <algorithm>
#include <fstream>
#include <iostream>
#include <thread>

#include "tools/ra-nemesis/cluster.hpp"
#include "lincheck/checker.hpp"
#include "tools/ra-nemesis/nemesis.hpp"
#include "ra/api.hpp"
#include "ra/machines/kv.hpp"

namespace ra::nemesis {

namespace fs = std::filesystem;
using namespace std::chrono_literals;
using steady = std::chrono::steady_clock;

namespace {

double ms_between(wall_clock::time_point a, wall_clock::time_point b) {
  return std::chrono::duration<double, std::milli>(b - a).count();
}

/// A write through any member until one is ok; the time it took, or none after `limit`.
std::optional<double> await_service(cluster& c, std::chrono::milliseconds limit) {
  const auto start = steady::now();
  size_t next = 0;
  const auto ids = c.servers();
  while (steady::now() - start < limit) {
    auto r = process_command_raw(c.client(), ids[next++ % ids.size()],
                                 encode_command<machines::kv_protocol>(machines::kv_put{"probe", "1"}), 1s);
    if (r) return std::chrono::duration<double, std::milli>(steady::now() - start).count();
    std::this_thread::sleep_for(50ms);
  }
  return std::nullopt;
}

/// Every member's local view of the registers and the set: equal on all members, and
/// holding every acknowledged set add. Polls up to `limit`; the last difference if not.
std::optional<std::string> check_convergence(cluster& c, int keys, const std::vector<std::string>& set_keys,
                                             std::chrono::milliseconds limit) {
  const auto until = steady::now() + limit;
  std::string why;
  for (;;) {
    why.clear();
    std::vector<std::vector<std::optional<std::string>>> views;
    for (auto& id : c.servers()) {
      std::vector<std::optional<std::string>> view;
      for (int k = 0; k < keys && why.empty(); ++k) {
        auto r = named_query<machines::kv_lookup>(c.client(), id, query_kind::local, "get", "r" + std::to_string(k), 2s);
        if (!r) why = id.to_string() + ": local get failed: " + r.error().to_string();
        else view.push_back(r->value.value);
      }
      for (auto& key : set_keys) {
        if (!why.empty()) break;
        auto r = named_query<machines::kv_lookup>(c.client(), id, query_kind::local, "get", key, 2s);
        if (!r) why = id.to_string() + ": local get failed: " + r.error().to_string();
        else if (!r->value.value) why = id.to_string() + " lacks acknowledged set key " + key;
      }
      if (!why.empty()) break;
      views.push_back(std::move(view));
    }
    if (why.empty())
      for (size_t i = 1; i < views.size() && why.empty(); ++i)
        if (views[i] != views[0]) why = c.servers()[i].to_string() + " differs from " + c.servers()[0].to_string();
    if (why.empty()) return std::nullopt;
    if (steady::now() >= until) return why;
    std::this_thread::sleep_for(200ms);
  }
}

}  // namespace

run_report run_once(const run_options& o, uint64_t seed) {
  run_report rep;
  rep.seed = seed;
  const auto dir = o.work_dir / ("seed-" + std::to_string(seed));
  rep.history_dir = o.history_dir / ("seed-" + std::to_string(seed));
  std::error_code ec;
  fs::remove_all(dir, ec);
  fs::remove_all(rep.history_dir, ec);
  fs::create_directories(rep.history_dir);
  cluster c{dir, o.nodes, o.ra_node};
  for (int i = 0; i < c.size(); ++i) rep.node_logs.push_back(c.node(i).log_file());
  std::unique_ptr<workload> w;
  std::unique_ptr<nemesis> nem;
  try {
    c.start();
    auto started = start_cluster(c.client(), "jepsen", "kv", c.servers(), 20s);
    if (!started) throw std::runtime_error("start_cluster: " + started.error().to_string());
    w = std::make_unique<workload>(c.client(), c.servers(), workload_options{o.clients, o.keys, o.op_timeout, seed, o.reads});
    nem = std::make_unique<nemesis>(c, o.faults, seed);
    w->start();
    nem->run_until(steady::now() + std::chrono::milliseconds{static_cast<int64_t>(o.seconds * 1000)});
    const auto healed = wall_clock::now();
    if (auto t = await_service(c, 30s)) rep.recovery_ms = *t;
    else rep.problems.push_back("no leader served a write within 30 s of the final heal");
    std::this_thread::sleep_for(2s);  // the clients see the healed cluster too
    w->stop();
    if (!w->final_reads(30s)) rep.problems.push_back("a final read of a register did not succeed within 30 s");
    if (auto diff = check_convergence(c, o.keys, w->acknowledged_set_keys(), 30s))
      rep.problems.push_back("members did not converge within 30 s: " + *diff);
    for (auto& t : nem->leader_losses()) {
      if (t > healed) continue;
      if (auto ok = w->first_write_ok_after(t))
        rep.max_unavailable_ms = std::max(rep.max_unavailable_ms.value_or(0), ms_between(t, *ok));
    }
  } catch (const std::exception& ex) {
    rep.problems.push_back(std::string("harness: ") + ex.what());
  }
  if (w) w->stop();
  if (nem) {
    rep.faults = nem->counts();
    for (auto& crash : nem->crashes()) rep.problems.push_back(crash);
    for (auto& e : nem->log()) {
      const auto t = wall_clock::to_time_t(e.at);
      std::tm tm{};
      gmtime_r(&t, &tm);
      char stamp[16];
      std::strftime(stamp, sizeof stamp, "%H:%M:%S", &tm);
      const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(e.at.time_since_epoch()).count() % 1000;
      char frac[8];
      std::snprintf(frac, sizeof frac, ".%03lld", static_cast<long long>(ms));
      rep.fault_log.push_back(std::string(stamp) + frac + " " + e.text);
    }
    std::ofstream out{rep.history_dir / "nemesis.log"};
    for (auto& line : rep.fault_log) out << line << "\n";
  }
  c.stop();
  if (w) {
    rep.ops = w->counts();
    for (int k = 0; k < o.keys; ++k) {
      const auto file = rep.history_dir / (w->key_name(k) + ".jepsen");
      write_history(file.string(), w->histories()[static_cast<size_t>(k)]);
      lincheck::history h;
      for (auto& e : w->histories()[static_cast<size_t>(k)]) h.push_back(e.ev);
      lincheck::check_options opts;
      opts.timeout_seconds = o.check_timeout_seconds;
      const auto t0 = steady::now();
      lincheck::verdict v = lincheck::verdict::timeout;
      try {
        v = lincheck::check_register(h, opts);
      } catch (const std::exception& ex) {
        rep.problems.push_back(file.string() + ": not a history: " + ex.what());
        continue;
      }
      rep.slowest_check_ms =
          std::max(rep.slowest_check_ms, std::chrono::duration<double, std::milli>(steady::now() - t0).count());
      if (v == lincheck::verdict::not_linearizable)
        rep.problems.push_back(file.string() + ": NOT linearizable");
      else if (v == lincheck::verdict::timeout)
        rep.problems.push_back(file.string() + ": the checker could not decide in " +
                               std::to_string(o.check_timeout_seconds) + " s");
    }
  }
  rep.passed = rep.problems.empty();
  if (rep.passed && !o.keep) fs::remove_all(dir, ec);
  return rep;
}

}  // namespace ra::nemesis
