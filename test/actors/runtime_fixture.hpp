#pragma once
// Shared helpers of the real-threaded runtime tests: a temp data dir, a system with the
// counter machine and fast timers, and bounded waits.

#include <catch2/catch.hpp>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <thread>

#include <spdlog/spdlog.h>

#include "ra/api.hpp"
#include "ra/machines/counter.hpp"

namespace ra::test {

using namespace std::chrono_literals;

class temp_dir {
 public:
  temp_dir() {
    const char* base = std::getenv("TMPDIR");
    std::string pattern = std::string(base && *base ? base : "/tmp") + "/ra-actors-XXXXXX";
    if (::mkdtemp(pattern.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
    path_ = pattern;
  }
  ~temp_dir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

inline system_config make_config(const std::string& name, const std::string& dir) {
  system_config c;
  c.name = name;
  c.data_dir = dir;
  c.server_defaults.broadcast_time_ms = 20;
  c.server_defaults.detector_poll_ms = 200;
  c.server_defaults.tick_timeout_ms = 100;
  c.machines["counter"] = [](const std::string&) { return make_machine<machines::counter>(); };
  return c;
}

inline std::unique_ptr<ra::system> start_system(const std::string& name, const std::string& dir) {
  spdlog::set_level(spdlog::level::warn);
  auto s = ra::system::start(make_config(name, dir));
  if (!s) FAIL("system start failed: " << s.error().to_string());
  return std::move(*s);
}

inline std::vector<server_id> ids_of(const ra::system& sys, std::initializer_list<const char*> names) {
  std::vector<server_id> out;
  for (auto n : names) out.push_back(server_id{n, sys.name()});
  return out;
}

inline int64_t add(ra::system& sys, const server_id& to, int64_t n) {
  auto r = process_command<int64_t>(sys, to, n, 10s);
  if (!r) FAIL("command " << n << " failed: " << r.error().to_string());
  return r->reply;
}

/// A one-member counter cluster "c1" of server "s1" on `sys`, with its leader elected.
inline server_id start_single_counter(ra::system& sys) {
  server_id s1{"s1", sys.name()};
  auto c = start_cluster(sys, "c1", "counter", {s1}, 10s);
  if (!c) FAIL("single-member cluster did not start: " << c.error().to_string());
  return s1;
}

/// Polls `done` (these tests run on real threads: there is no simulated clock to advance)
/// until it holds or `limit` passes; returns its last answer.
template <class F>
bool eventually(F&& done, std::chrono::milliseconds limit = 10s) {
  auto deadline = std::chrono::steady_clock::now() + limit;
  while (!done()) {
    if (std::chrono::steady_clock::now() > deadline) return done();
    std::this_thread::sleep_for(5ms);
  }
  return true;
}

/// Waits until `id`'s local state equals `expected`; returns the last value seen.
inline int64_t await_local(ra::system& sys, const server_id& id, int64_t expected, std::chrono::milliseconds limit = 10s) {
  int64_t seen = -1;
  eventually(
    [&] {
      auto q = local_query<int64_t>(sys, id, [](const int64_t& s) { return s; }, 1s);
      if (q) seen = q->value;
      return seen == expected;
    },
    limit);
  return seen;
}

}  // namespace ra::test
