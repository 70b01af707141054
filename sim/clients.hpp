#pragma once
// Simulated clients of the register: each has one operation outstanding (read, write or
// compare-and-set), sends writes and cas through handle_command to whom it believes is
// the leader and reads through consistent queries, and records a Jepsen-style history.
//
// Outcome rules (what makes the history honest):
//  - an error the server gives synchronously while accepting the command (not_leader,
//    cluster_change_not_permitted, stopped) means it was never appended: the client
//    retries elsewhere, and if it never gets an acceptance before its deadline, :fail;
//  - leadership_lost, any later error, or no reply by the deadline: :info (unknown); the
//    process then retires and the client continues under a new process id (Jepsen);
//  - reads have no effect, so a read that never completes is recorded as :fail.

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "sim/cluster.hpp"
#include "sim/invariants.hpp"
#include "sim/rng.hpp"
#include "lincheck/history.hpp"

namespace ra::sim {

struct client_profile {
  int clients = 3;
  int64_t op_timeout_ms = 3000;
  int64_t think_min_ms = 0;
  int64_t think_max_ms = 40;
  int64_t hop_min_ms = 1;  ///< client <-> server latency
  int64_t hop_max_ms = 3;
  int64_t retry_min_ms = 5;
  int64_t retry_max_ms = 40;
  double read_ratio = 0.35;
  double cas_ratio = 0.3;
  double notify_mode = 0.1;   ///< chance a write uses reply_mode::notify (pipelined)
  double low_priority = 0.1;  ///< chance a command is submitted with low priority
  /// consistent (linearizable). Tests set `local` to prove stale reads get caught.
  ra::query_kind read_kind = ra::query_kind::consistent;
};

struct client_stats {
  uint64_t invoked = 0;
  uint64_t ok = 0;
  uint64_t fail = 0;
  uint64_t info = 0;
  uint64_t retries = 0;
};

class client_pool {
 public:
  /// Client refs at or above this id belong to the clients.
  static constexpr uint64_t ref_base = 1;

  client_pool(sim_cluster& cluster, rng r, client_profile profile, safety_checker& checker);

  /// Schedules every client's first operation.
  void start();
  /// A client-facing action from the cluster (reply, notify, reject, query_reply).
  void on_client_action(int node, const ra::action& a);
  /// From now on: no new operations (the run is ending).
  void stop_issuing() { issuing_ = false; }
  /// Marks the start of the liveness phase: each client now needs one successful write.
  void begin_liveness();
  /// Every client completed its pre-liveness operation and a write invoked after
  /// begin_liveness() succeeded.
  bool live() const;
  /// Describes which clients still wait (for liveness failure reports).
  std::string waiting() const;
  /// Records pending operations as unknown (end of run).
  void finish();

  const lincheck::history& history() const { return history_; }
  const client_stats& stats() const { return stats_; }

 private:
  struct operation {
    lincheck::op_kind f = lincheck::op_kind::read;
    int64_t value = 0;   ///< write: value; cas: expected
    int64_t cas_to = 0;
    sim_time invoked_at = 0;
    bool accepted = false;  ///< some server took it without rejecting at submission
    bool notify = false;
  };
  struct client {
    int id = 0;
    int process = 0;
    uint64_t op_seq = 0;  ///< bumps when an operation completes: orphans its events
    std::optional<operation> op;
    uint64_t attempt = 0;  ///< client_ref of the attempt in flight (0: none)
    std::optional<int> leader_hint;
    std::optional<int64_t> last_value;
    bool write_ok_in_liveness = false;
  };
  enum class outcome { ok, fail, info };

  void issue(client& c);
  void choose_op(client& c, operation& op);
  void send_attempt(client& c, std::optional<int> target);
  void submit(int client_id, uint64_t seq, uint64_t attempt, int node);
  void rejected(client& c, const std::optional<ra::server_id>& hint);
  void complete(client& c, outcome o, std::optional<int64_t> read_value = std::nullopt);
  void deliver_later(int client_id, uint64_t seq, std::function<void(client&)> fn);
  client* by_attempt(uint64_t attempt);
  int random_member();
  bool is_write_like(const operation& op) const { return op.f != lincheck::op_kind::read; }

  sim_cluster& cluster_;
  rng rng_;
  client_profile profile_;
  safety_checker& checker_;
  std::vector<client> clients_;
  lincheck::history history_;
  client_stats stats_;
  uint64_t next_attempt_ = ref_base;
  uint64_t submitting_ = 0;  ///< attempt being submitted right now (synchronous replies)
  std::optional<ra::server_id> sync_refusal_;  ///< set when that submission was refused
  int next_process_ = 0;
  int64_t next_value_ = 1;
  bool issuing_ = true;
  bool liveness_ = false;
  sim_time liveness_from_ = 0;
};

/// Drops the operations whose outcome is unknown (:info or never completed) and whose
/// effect nobody could have observed: a write, or the new value of a cas, that no read
/// returned and no cas expected. Such an operation can only be linearized by being
/// overwritten before anyone looks, so removing it ("it never happened") changes no
/// verdict, while each one left in multiplies the search space of the checker.
lincheck::history prune_unobserved_unknowns(const lincheck::history& h);

}  // namespace ra::sim
