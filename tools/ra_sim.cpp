// ra-sim: runs deterministic cluster simulations, one per seed, and reports failures.
//
//   ra-sim --seeds FIRST..LAST [--servers N] [--steps K] [--history-dir DIR] [--verbose]
//          [--no-faults] [--all-faults] [--jobs J] [--storage real|memory]
//          [--disk-model ordered|size-ahead|reorder] [--progress SECONDS]
//
// Prints `seed S FAILED (<mode> storage) at step K: <reason>` for every failing seed as it
// fails; at the end the counts per storage mode, `slowest check: seed S, X ms (...)`: the
// longest linearizability check of a seed's client history (timed here by checking the
// history again exactly as the simulator did, so the figure is the checker's alone; failed
// seeds included) and how many checks timed out, the elapsed wall time, the failing seeds
// if any and, as the last line, `seeds: N passed, M failed`. A run longer than a few
// seconds reports progress on stderr (seeds done out of the total, failures so far; every
// --progress seconds, default 5; --progress 0: after every seed).
// Without --storage, even seeds run on the real storage stack over a simulated disk and
// odd seeds on memory_log.
// Exit status 0 if every seed passed, 1 if some failed, 2 on a usage error (an unknown
// option, a value out of range: at most 100000000 seeds, --steps 1..10000000).
// The test suite's slice of seeds can be widened with RA_SIM_SEEDS (see test/sim/CMakeLists.txt).

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdlib>
#include <iostream>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include <CLI/CLI.hpp>

#include "lincheck/checker.hpp"
#include "ra/version.hpp"
#include "sim/clients.hpp"
#include "sim/simulator.hpp"

namespace {

constexpr int exit_usage = 2;
/// Bounds of a run that still ends: more would run for days (see --steps's default).
constexpr uint64_t max_seeds = 100'000'000;
constexpr uint64_t max_steps = 10'000'000;

struct seed_range {
  uint64_t first = 1;
  uint64_t last = 1;
};

std::optional<seed_range> parse_seeds(const std::string& text) {
  if (text.find('-') != std::string::npos)
    return std::nullopt;  // stoull would wrap a negative number around
  try {
    size_t used = 0;
    const auto dots = text.find("..");
    if (dots == std::string::npos) {
      const uint64_t s = std::stoull(text, &used);
      if (used != text.size())
        return std::nullopt;
      return seed_range{s, s};
    }
    const std::string a = text.substr(0, dots), b = text.substr(dots + 2);
    seed_range r;
    r.first = std::stoull(a, &used);
    if (used != a.size())
      return std::nullopt;
    r.last = std::stoull(b, &used);
    if (used != b.size() || r.last < r.first || r.last - r.first >= max_seeds)
      return std::nullopt;
    return r;
  } catch (const std::exception&) {
    return std::nullopt;
  }
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"ra-sim: deterministic simulation of ra clusters under faults"};
  app.set_version_flag("--version", "ra-sim " RA_VERSION_STRING);
  std::string seeds_text = "1";
  ra::sim::sim_options base;
  bool no_faults = false;
  unsigned jobs = 1;
  double progress_seconds = 5;
  app.add_option("--seeds", seeds_text, "seed or range FIRST..LAST (at most 100000000 seeds)");
  app.add_option("--servers", base.servers, "initial voters (default: 3 or 5, from the seed)")->check(CLI::Range(0, 7));
  app.add_option("--steps", base.steps, "events in the fault phase (default 20000)")
    ->check(CLI::Range(uint64_t{1}, max_steps));
  app.add_option("--history-dir", base.history_dir, "write each history as DIR/seed-S.log (Jepsen format)");
  app.add_flag("--verbose", base.verbose, "print every event");
  app.add_flag("--no-faults", no_faults, "no fault injection, clean network");
  app.add_flag("--all-faults", base.all_faults, "enable every fault kind");
  app.add_option("--jobs", jobs, "seeds run in parallel (default 1)")->check(CLI::Range(1u, 64u));
  app.add_option("--progress", progress_seconds,
                 "seconds between progress lines on stderr (default 5; 0: a line after every seed)")
    ->check(CLI::Range(0.0, 3600.0));
  std::string storage = "by-seed";
  app.add_option("--storage", storage, "real, memory, or by-seed (default: even seeds real, odd memory)")
    ->check(CLI::IsMember({"real", "memory", "by-seed"}));
  std::string disk = "ordered";
  app.add_option("--disk-model", disk,
                 "real storage, what a crash keeps of unsynced writes: ordered (a prefix, the default), "
                 "size-ahead (a prefix, but the size may land first: zero tails), reorder (any pages)")
    ->check(CLI::IsMember({"ordered", "size-ahead", "reorder"}));
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? 0 : exit_usage;
  }
  base.faults = !no_faults;
  base.storage = storage == "real"     ? ra::sim::storage_mode::real
                 : storage == "memory" ? ra::sim::storage_mode::memory
                                       : ra::sim::storage_mode::by_seed;
  base.disk = disk == "reorder"      ? ra::sim::disk_model::reorder
              : disk == "size-ahead" ? ra::sim::disk_model::size_ahead
                                     : ra::sim::disk_model::ordered;

  const std::optional<seed_range> range = parse_seeds(seeds_text);
  if (!range) {
    std::cerr << "ra-sim: bad --seeds '" << seeds_text << "' (expected N or FIRST..LAST, FIRST <= LAST, at most "
              << max_seeds << " seeds)\n";
    return exit_usage;
  }
  if (base.verbose)
    jobs = 1;  // interleaved event logs would be unreadable

  const auto started = std::chrono::steady_clock::now();
  const uint64_t count = range->last - range->first + 1;
  std::vector<char> passed(count, 0);  // not the results themselves: histories add up
  std::vector<char> real(count, 0);
  std::vector<double> check_ms(count, 0.0);
  std::vector<char> check_verdict(count, 0);
  std::vector<size_t> history_events(count, 0);
  std::atomic<uint64_t> next{0};
  std::atomic<uint64_t> done{0}, failed_so_far{0};
  std::mutex print;
  // Called with `print` held.
  auto print_progress = [&] {
    const double elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    std::cerr << "ra-sim: " << done.load() << "/" << count << " seeds done, " << failed_so_far.load() << " failed, "
              << static_cast<uint64_t>(elapsed) << " s" << std::endl;
  };
  auto worker = [&] {
    for (uint64_t i = next++; i < count; i = next++) {
      ra::sim::sim_options opts = base;
      opts.seed = range->first + i;
      const ra::sim::sim_result r = ra::sim::run_simulation(opts);
      passed[i] = r.ok;
      real[i] = r.real_storage;
      {
        const ra::lincheck::history pruned = ra::sim::prune_unobserved_unknowns(r.history);
        ra::lincheck::check_options lo;
        lo.timeout_seconds = base.lincheck_timeout_s;
        const auto check_started = std::chrono::steady_clock::now();
        const ra::lincheck::verdict v = ra::lincheck::check_register(pruned, lo);
        check_ms[i] =
          std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - check_started).count();
        check_verdict[i] = static_cast<char>(v);
        history_events[i] = r.history.size();
      }
      std::lock_guard lock(print);
      ++done;
      failed_so_far += r.ok ? 0 : 1;
      if (progress_seconds == 0)
        print_progress();
      if (!r.ok)
        std::cout << "seed " << r.seed << " FAILED (" << (r.real_storage ? "real" : "memory") << " storage) at step "
                  << r.failed_step << ": " << r.failure << std::endl;
      else if (base.verbose)
        std::cout << ra::sim::summarize(r) << std::endl;
    }
  };
  // Progress on stderr, so that a long run is visibly alive and stdout stays the report.
  std::mutex progress_mx;
  std::condition_variable progress_cv;
  bool finished = false;
  std::thread progress([&] {
    if (progress_seconds == 0)
      return;  // the workers print a line after every seed
    std::unique_lock lock(progress_mx);
    const auto every = std::chrono::duration<double>(progress_seconds);
    while (!progress_cv.wait_for(lock, every, [&] { return finished; })) {
      std::lock_guard print_lock(print);
      print_progress();
    }
  });
  std::vector<std::thread> threads;
  for (unsigned j = 1; j < jobs; ++j)
    threads.emplace_back(worker);
  worker();
  for (auto& t : threads)
    t.join();
  {
    std::lock_guard lock(progress_mx);
    finished = true;
  }
  progress_cv.notify_one();
  progress.join();

  std::vector<uint64_t> failed;
  uint64_t runs_by_mode[2] = {0, 0}, failures_by_mode[2] = {0, 0};  // [0] memory, [1] real
  for (uint64_t i = 0; i < count; ++i) {
    ++runs_by_mode[real[i] ? 1 : 0];
    if (!passed[i]) {
      failed.push_back(range->first + i);
      ++failures_by_mode[real[i] ? 1 : 0];
    }
  }
  const double seconds =
    std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  for (int mode : {0, 1})
    if (runs_by_mode[mode] > 0)
      std::cout << (mode == 1 ? "real" : "memory") << " storage: " << (runs_by_mode[mode] - failures_by_mode[mode])
                << " passed, " << failures_by_mode[mode] << " failed\n";
  uint64_t slowest = 0, undecided = 0;
  for (uint64_t i = 0; i < count; ++i) {
    if (check_ms[i] > check_ms[slowest])
      slowest = i;
    if (check_verdict[i] == static_cast<char>(ra::lincheck::verdict::timeout))
      ++undecided;
  }
  std::cout << "slowest check: seed " << (range->first + slowest) << ", " << check_ms[slowest] << " ms ("
            << ra::lincheck::to_string(static_cast<ra::lincheck::verdict>(check_verdict[slowest])) << ", "
            << history_events[slowest] << " events); checks timed out: " << undecided << "\n";
  std::cout << "elapsed: " << seconds << " s\n";
  // The verdict last, so that `tail -n 1` gives it.
  if (!failed.empty()) {
    std::cout << "failing seeds:";
    for (uint64_t s : failed)
      std::cout << ' ' << s;
    std::cout << '\n';
  }
  std::cout << "seeds: " << (count - failed.size()) << " passed, " << failed.size() << " failed" << std::endl;
  return failed.empty() ? 0 : 1;
}
