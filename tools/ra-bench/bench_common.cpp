// Shared parts of the runtime workloads (see bench_common.hpp).

#include "tools/ra-bench/bench_common.hpp"

#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <fstream>
#include <iostream>
#include <stdexcept>
#include <thread>

#include <CLI/CLI.hpp>
#include <caf/all.hpp>
#include <spdlog/spdlog.h>

#include "actors/messages.hpp"
#include "ra/typed_machine.hpp"
#include "tools/ra-bench/option_checks.hpp"

namespace ra::bench {

double seconds_since(clock_type::time_point t) { return std::chrono::duration<double>(clock_type::now() - t).count(); }

void add_common_options(CLI::App& sub, run_options& o) {
  sub.add_option("--data-dir", o.data_dir, "parent of the run's scratch directory (default /tmp)");
  sub.add_option("--seconds", o.seconds, "duration of each timed measurement (default 10)")
    ->check(measured_seconds());
  sub.add_option("--raw-seconds", o.raw_seconds, "duration of each raw disk measurement (default 2)")
    ->check(CLI::Range(0.1, 600.0));
  sub.add_option("--json", o.json_path, "also write every figure, the machine and the config as JSON");
  sub.add_option("--log-level", o.log_level, "runtime log level (default warn)")->check(log_levels());
  sub.add_option("--scheduler-threads", o.scheduler_threads, "CAF scheduler threads (default 2)")
    ->check(count_up_to(1024));
  sub.add_option("--priority", o.priority, "pipeline_command priority of the clients: normal (default) or low")
    ->check(CLI::IsMember({"normal", "low"}));
}

command_priority parse_priority(const std::string& p) {
  return p == "low" ? command_priority::low : command_priority::normal;
}

// -- the machine ------------------------------------------------------------------------------

namespace {

struct bench_counter {
  using command_type = bench_command;
  using state_type = int64_t;
  using reply_type = int64_t;
  state_type init() const { return 0; }
  ra::apply_result<state_type, reply_type> apply(const ra::command_meta&, const command_type& c, state_type s) const {
    s += c.inc;
    return {s, s};
  }
};

}  // namespace

shared_bytes make_command(size_t payload_size) {
  bench_command c;
  c.inc = 1;
  c.payload.resize(payload_size);
  for (size_t i = 0; i < payload_size; ++i) c.payload[i] = static_cast<char>('a' + i % 26);
  return encode(c);
}

void add_bench_machine(system_config& cfg) {
  cfg.machines[bench_machine] = [](const std::string&) { return ra::make_machine<bench_counter>(); };
}

std::unique_ptr<ra::system> start_system(const run_options& o, const std::string& data_dir, const std::string& name) {
  spdlog::set_level(spdlog::level::from_str(o.log_level));
  system_config cfg;
  cfg.name = name;
  cfg.data_dir = data_dir;
  cfg.scheduler_threads = o.scheduler_threads;
  add_bench_machine(cfg);
  auto sys = ra::system::start(std::move(cfg));
  if (!sys) throw std::runtime_error("system start: " + sys.error().to_string());
  return std::move(*sys);
}

std::vector<server_id> cluster_ids(const std::string& cluster, const std::string& node, size_t members) {
  std::vector<server_id> ids;
  for (size_t i = 1; i <= members; ++i) ids.push_back(server_id{cluster + "_" + std::to_string(i), node});
  return ids;
}

// -- the pipelining client --------------------------------------------------------------------

namespace {

using retry_atom = caf::atom_constant<caf::atom("bc_retry")>;

struct client_state {
  ra::system* sys = nullptr;
  client_config cfg;
  std::shared_ptr<client_counters> counters;
  uint64_t next_correlation = 0;
  uint64_t in_flight = 0;
  uint64_t issued = 0;
  bool retry_pending = false;
};
using client_actor = caf::stateful_actor<client_state>;

void schedule_retry(client_actor* self) {
  auto& st = self->state;
  if (st.retry_pending) return;
  st.retry_pending = true;
  self->delayed_send(self, std::chrono::milliseconds(10), retry_atom::value);
}

/// Issues commands until the window is full (or the limit / stop is reached).
void fill(client_actor* self) {
  auto& st = self->state;
  auto& c = *st.counters;
  if (c.stop.load(std::memory_order_relaxed)) return;
  auto me = caf::actor_cast<caf::actor>(self);
  while (st.in_flight < st.cfg.window && (st.cfg.limit == 0 || st.issued < st.cfg.limit)) {
    auto s = ra::pipeline_command_raw(*st.sys, st.cfg.target, st.cfg.command, ++st.next_correlation, me,
                                      st.cfg.priority);
    if (!s) {  // not running (e.g. between restarts): try again shortly
      schedule_retry(self);
      break;
    }
    ++st.in_flight;
    ++st.issued;
  }
  c.in_flight.store(st.in_flight, std::memory_order_relaxed);
  c.issued.store(st.issued, std::memory_order_relaxed);
}

caf::behavior client_main(client_actor* self, ra::system* sys, client_config cfg,
                          std::shared_ptr<client_counters> counters) {
  self->state.sys = sys;
  self->state.cfg = std::move(cfg);
  self->state.counters = std::move(counters);
  self->send(self, retry_atom::value);
  self->state.retry_pending = true;
  return {
    [self](ra::actors::applied_atom, const ra::actors::applied_batch& b) {
      auto& st = self->state;
      auto n = b.applied.size();
      st.in_flight -= std::min<uint64_t>(n, st.in_flight);
      if (!b.leader.empty() && b.leader != st.cfg.target) st.cfg.target = b.leader;
      if (st.cfg.decode_replies && !b.applied.empty())
        if (auto v = decode<int64_t>(b.applied.back().second))
          if (*v > st.counters->last_reply.load(std::memory_order_relaxed))
            st.counters->last_reply.store(*v, std::memory_order_relaxed);
      st.counters->applied.fetch_add(n, std::memory_order_relaxed);
      fill(self);
      st.counters->in_flight.store(st.in_flight, std::memory_order_relaxed);
    },
    [self](ra::actors::rejected_atom, uint64_t, const command_error& e) {
      auto& st = self->state;
      if (st.in_flight > 0) --st.in_flight;
      --st.issued;  // not applied: issue it again
      st.counters->rejected.fetch_add(1, std::memory_order_relaxed);
      if (e.code == error_code::not_leader && !e.leader.empty()) {
        if (e.leader != st.cfg.target) st.counters->redirects.fetch_add(1, std::memory_order_relaxed);
        st.cfg.target = e.leader;
        fill(self);
      } else {
        st.counters->in_flight.store(st.in_flight, std::memory_order_relaxed);
        schedule_retry(self);
      }
    },
    [self](retry_atom) {
      self->state.retry_pending = false;
      fill(self);
    },
  };
}

}  // namespace

caf::actor spawn_client(ra::system& sys, client_config cfg, std::shared_ptr<client_counters> counters) {
  return sys.actor_system().spawn(client_main, &sys, std::move(cfg), std::move(counters));
}

void stop_client(const caf::actor& client) { caf::anon_send_exit(client, caf::exit_reason::user_shutdown); }

bool drain(client_counters& c, std::chrono::milliseconds timeout) {
  c.stop = true;
  auto deadline = clock_type::now() + timeout;
  while (c.in_flight.load() > 0) {
    if (clock_type::now() > deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  return true;
}

// -- figures ----------------------------------------------------------------------------------

percentiles compute_percentiles(std::vector<double> us) {
  percentiles p;
  if (us.empty()) return p;
  std::sort(us.begin(), us.end());
  auto at = [&](double q) {
    auto i = static_cast<size_t>(std::ceil(q * us.size())) ;
    return us[std::min(us.size() - 1, i == 0 ? 0 : i - 1)];
  };
  p.p50 = at(0.50);
  p.p90 = at(0.90);
  p.p99 = at(0.99);
  p.p999 = at(0.999);
  p.max = us.back();
  double sum = 0;
  for (double v : us) sum += v;
  p.mean = sum / us.size();
  return p;
}

json to_json(const percentiles& p) {
  return {{"p50_us", p.p50}, {"p90_us", p.p90}, {"p99_us", p.p99}, {"p99_9_us", p.p999}, {"max_us", p.max},
          {"mean_us", p.mean}};
}

uint64_t rss_bytes() {
  std::ifstream f{"/proc/self/statm"};
  uint64_t size = 0, resident = 0;
  f >> size >> resident;
  return resident * static_cast<uint64_t>(::sysconf(_SC_PAGESIZE));
}

double cpu_seconds() {
  rusage u{};
  ::getrusage(RUSAGE_SELF, &u);
  return u.ru_utime.tv_sec + u.ru_utime.tv_usec / 1e6 + u.ru_stime.tv_sec + u.ru_stime.tv_usec / 1e6;
}

// -- run frame --------------------------------------------------------------------------------

run_frame::run_frame(std::string benchmark, const run_options& o, size_t steps)
  : name_(std::move(benchmark)), o_(o), steps_(steps + 2) {
  dir_ = std::make_unique<scratch_dir>(o.data_dir.empty() ? std::string{"/tmp"} : o.data_dir);
  machine_ = machine_info(dir_->path());
  machine_["load_average_before"] = load_average();
}

std::string run_frame::subdir(const std::string& name) const { return dir_->path() + "/" + name; }

void run_frame::progress(const std::string& what) {
  std::cerr << "\r\033[K" << "ra-bench " << name_ << ": [" << ++step_ << "/" << steps_ << "] " << what << std::endl;
}

void run_frame::status(const std::string& what) const {
  std::cerr << "\r\033[K" << "ra-bench " << name_ << ":   " << what << std::flush;
}

void run_frame::measure_raw_before() {
  progress(printf_string("raw disk limits, before (O_DSYNC loop + sequential, %.0f s each)", o_.raw_seconds));
  measure_raw(dir_->path(), o_.raw_seconds, raw_.dsync_before, raw_.sequential_before);
}

void run_frame::measure_raw_after() {
  progress(printf_string("raw disk limits, after (O_DSYNC loop + sequential, %.0f s each)", o_.raw_seconds));
  measure_raw(dir_->path(), o_.raw_seconds, raw_.dsync_after, raw_.sequential_after);
  raw_.have_after = true;
  machine_["load_average_after"] = load_average();
}

std::string run_frame::header() const {
  std::string s = "ra-bench " + name_ + ": " + machine_["data_dir"].get<std::string>() + " (" +
                  machine_.value("file_system", "?") + "), " + std::to_string(machine_["cores"].get<unsigned>()) +
                  " cores";
  if (auto k = machine_.find("kernel"); k != machine_.end()) s += ", Linux " + (*k)["release"].get<std::string>();
  s += printf_string(", load average %.1f before", machine_.value("load_average_before", -1.0));
  if (machine_.contains("load_average_after"))
    s += printf_string(", %.1f after", machine_["load_average_after"].get<double>());
  return s + "\n\n" + format_raw_limits(raw_);
}

void run_frame::write_json(const json& config, const json& results) const {
  if (o_.json_path.empty()) return;
  json out{{"benchmark", name_}, {"machine", machine_}, {"config", config}, {"raw", to_json(raw_)},
           {"results", results}};
  std::ofstream file{o_.json_path};
  file << out.dump(2) << '\n';
  if (!file) throw std::runtime_error("cannot write " + o_.json_path);
}

std::string thousands(double v) {
  auto n = static_cast<long long>(std::llround(v));
  bool neg = n < 0;
  std::string digits = std::to_string(neg ? -n : n);
  std::string out;
  for (size_t i = 0; i < digits.size(); ++i) {
    if (i > 0 && (digits.size() - i) % 3 == 0) out += ',';
    out += digits[i];
  }
  return neg ? "-" + out : out;
}

}  // namespace ra::bench
