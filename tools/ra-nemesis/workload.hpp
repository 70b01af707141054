#pragma once
// The nemesis's clients: K threads doing read / write / cas on a few registers (keys of
// the kv machine, values unique integers) and adding unique keys to a set, against a
// cluster on other processes. Every register operation is recorded as Jepsen records it
// (invoke, then ok / fail / info with the wall-clock time), one history per key; an
// operation whose outcome is unknown (a timeout, a lost leader) is :info and its process
// is retired, as in Jepsen, so that a process never has two operations open.

#include <atomic>
#include <chrono>
#include <cstdint>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "lincheck/history.hpp"
#include "ra/system.hpp"
#include "ra/types.hpp"

namespace ra::nemesis {

using wall_clock = std::chrono::system_clock;

struct timed_event {
  wall_clock::time_point at;
  lincheck::event ev;
};

struct workload_options {
  int clients = 5;
  int keys = 3;
  std::chrono::milliseconds op_timeout{1000};
  uint64_t seed = 1;
  /// How reads are done: "mixed" (half through the log, half as consistent queries), or
  /// "local" (a local query on a random member: NOT linearizable, for showing that the
  /// checks catch stale reads).
  std::string reads = "mixed";
};

struct op_counts {
  uint64_t ok = 0, fail = 0, info = 0;
};

class workload {
 public:
  workload(system& sys, std::vector<server_id> members, workload_options o);
  ~workload();

  void start();
  /// Stops the clients and waits for their open operations (at most one timeout).
  void stop();
  /// One read of every register by a fresh process, retried until it is ok (up to
  /// `limit`): the last word of each history. False if one never succeeded.
  bool final_reads(std::chrono::milliseconds limit);

  const std::vector<std::vector<timed_event>>& histories() const { return histories_; }
  std::string key_name(int k) const { return "r" + std::to_string(k); }
  op_counts counts() const;
  /// Set keys whose add was acknowledged: every member must hold them at the end.
  std::vector<std::string> acknowledged_set_keys() const;
  /// The completion time of the first ok write or cas invoked at or after `t`.
  std::optional<wall_clock::time_point> first_write_ok_after(wall_clock::time_point t) const;

 private:
  void client_loop(int client);
  void record(int key, const lincheck::event& ev);
  int next_process() { return next_process_.fetch_add(1); }

  system& sys_;
  std::vector<server_id> members_;
  workload_options o_;
  std::atomic<bool> stop_{false};
  std::atomic<int64_t> next_value_{1};
  std::atomic<int> next_process_{0};
  std::vector<std::thread> threads_;
  mutable std::mutex mx_;  // guards everything below
  std::vector<std::vector<timed_event>> histories_;
  op_counts counts_;
  std::vector<std::string> set_acked_;
  std::vector<std::pair<wall_clock::time_point, wall_clock::time_point>> write_oks_;  // invoke, ok
};

/// Writes one key's history in Jepsen's log format, each line led by its UTC time.
void write_history(const std::string& path, const std::vector<timed_event>& h);

}  // namespace ra::nemesis
