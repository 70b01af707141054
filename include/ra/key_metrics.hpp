#pragma once
// Ra's key_metrics: a few counters and gauges per server that anyone in the process can
// read without messaging the server (so a stuck or busy server can still be observed).
// The server actor publishes them after every event it handled (relaxed atomic stores:
// a reader sees each value tear-free, not a consistent snapshot of all of them).

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "ra/types.hpp"

namespace ra {

/// The published fields, written once: X(type, name, source, doc). `source` is the
/// value's expression over `s` (the ra::server, libra/server.hpp) and `mt` (its
/// server_metrics); it is only evaluated where the server actor publishes
/// (publish_key_metrics in actors/server_actor.cpp), so this header does not need the core.
/// The snapshot struct, the atomic block, read() and the publish step are generated from it.
#define RA_KEY_METRICS_FIELDS(X)                                                                \
  X(uint64_t, commands, mt.commands, "commands accepted as leader")                             \
  X(uint64_t, elections, mt.elections, "elections started")                                     \
  X(uint64_t, term_changes, mt.term_changes, "times the term changed")                          \
  X(uint64_t, messages_sent, mt.rpcs_sent, "peer messages sent")                                 \
  X(uint64_t, messages_received, mt.messages_received, "peer messages handled")                 \
  X(uint64_t, commands_rejected, mt.commands_rejected, "committed commands skipped: apply threw") \
  X(uint64_t, term, s.current_term().value, "current term")                                     \
  X(uint64_t, commit_index, s.commit_index().value, "commit index")                             \
  X(uint64_t, last_applied, s.last_applied().value, "last index applied to the machine")        \
  X(uint64_t, last_index, s.log().last_index().value, "last index in the log")                  \
  X(uint64_t, last_written_index, s.log().last_written().index.value, "last index made durable") \
  X(uint64_t, snapshot_index, s.log().first_index().value - 1, "index of the latest snapshot")  \
  X(uint64_t, snapshots_written, mt.snapshots_written, "snapshots written")                     \
  X(uint64_t, snapshots_installed, mt.snapshots_installed, "snapshots installed from a leader") \
  X(uint64_t, checkpoints_written, mt.checkpoints_written, "checkpoints written")               \
  X(uint64_t, effective_machine_version, s.effective_machine_version(), "machine version in use") \
  X(uint64_t, memory_bytes, s.log().memory_bytes(), "estimated heap bytes of in-memory entries") \
  X(role, state, s.current_role(), "current role")

/// A copy of a server's metrics at one moment.
struct key_metrics_snapshot {
#define RA_KEY_METRICS_MEMBER(type, name, source, doc) type name{};
  RA_KEY_METRICS_FIELDS(RA_KEY_METRICS_MEMBER)
#undef RA_KEY_METRICS_MEMBER
  bool running = false;  ///< false once the server stopped (the values are its last ones)
};

namespace detail {

/// The shared block a server actor writes and readers read.
struct key_metrics_block {
#define RA_KEY_METRICS_MEMBER(type, name, source, doc) std::atomic<type> name{type{}};
  RA_KEY_METRICS_FIELDS(RA_KEY_METRICS_MEMBER)
#undef RA_KEY_METRICS_MEMBER
  /// The id of the actor running the server, 0 while none does. An id rather than a flag:
  /// the exit hook of a stopped run can fire after a restart began the next run, and must
  /// then leave the new run's mark alone (it clears only its own id).
  std::atomic<uint64_t> running_actor{0};
  /// The uid of the server that last wrote the block (only touched under the table's lock).
  std::string uid;

  key_metrics_snapshot read() const;
  /// Clears the running mark if actor `actor_id` holds it.
  void mark_stopped(uint64_t actor_id);
};

/// The block of server `name` on node `node` (created on first use; kept for the
/// process's lifetime so readers never race with its destruction). Its values are those
/// of the server's previous run when `uid` is the uid that run had (a restart: Ra keeps
/// its counters per system, keyed by server, across restarts); they are zeroed for a
/// different uid (a new server of that name, or one of a new system).
std::shared_ptr<key_metrics_block> key_metrics_for(const std::string& node, const std::string& name,
                                                   const std::string& uid);
/// The block if the server was ever started in this process.
std::shared_ptr<key_metrics_block> find_key_metrics(const std::string& node, const std::string& name);
/// Calls visit(name, block) for every block of node `node`, ordered by name, under the
/// table's lock (visit must not call back into this table).
void visit_key_metrics(const std::string& node,
                       const std::function<void(const std::string& name, const key_metrics_block&)>& visit);

}  // namespace detail
}  // namespace ra
