#pragma once
// Private state of ra::server shared by its implementation files. Not installed.

#include <algorithm>
#include <limits>

#include "libra/progress.hpp"
#include "libra/quorum.hpp"
#include "libra/server.hpp"

namespace ra {

/// The leader's view of one other member: who it is, its replication progress
/// (progress.hpp), the machine version its code supports and the consistent-query round
/// it confirmed.
struct server::peer {
  explicit peer(server_id i, index_t next) : id(std::move(i)), repl(next) {}
  server_id id;
  membership kind = membership::voter;
  progress repl;
  uint64_t query_index = 0;  ///< highest consistent-query round the peer confirmed
  uint32_t machine_version = 0;  ///< highest machine version its code supports (AE replies)
  bool machine_version_known = false;

  bool is_voter() const { return kind == membership::voter; }
};

struct server::pending_query {
  client_ref from;
  query_fn fn;
  std::optional<index_t> read_index;  ///< commit index recorded once the term's noop committed
  uint64_t round = 0;                 ///< heartbeat round confirming leadership (0 = none yet)
  bool confirmed = false;
};

/// A leader's snapshot being received, its bytes streamed into the log store. Dropping
/// the receipt before it completed (a new transfer, the timeout, leaving the follower
/// role) aborts the store's receipt, so no half-received snapshot lingers there.
struct detail::snapshot_receipt {
  snapshot_receipt(log_store& store, snapshot_meta m) : log(&store), meta(std::move(m)) {}
  snapshot_receipt(const snapshot_receipt&) = delete;
  snapshot_receipt& operator=(const snapshot_receipt&) = delete;
  ~snapshot_receipt() {
    if (log) log->abort_snapshot_receipt();
  }
  /// The store's receipt is finished (completed or failed): nothing left to abort.
  void finished() { log = nullptr; }

  log_store* log;  ///< null once finished
  snapshot_meta meta;
  uint32_t next_chunk = 1;
};

/// State only a leader (or a leader transferring leadership, await_condition) has.
/// Created by become_leader, destroyed when leadership ends (after its pending requests
/// were answered).
struct server::leader_state {
  std::vector<std::unique_ptr<peer>> peers;
  std::map<index_t, command_request> pending;  ///< awaiting apply (or append) replies
  std::map<index_t, membership_request> pending_membership;
  /// Low-priority commands not yet appended: [low_priority_head, end). A vector, not a
  /// deque: an empty deque still allocates ~0.5 KB.
  std::vector<command_request> low_priority;
  size_t low_priority_head = 0;
  std::vector<command_request> batched;  ///< batch_commands: normal commands awaiting the flush
  index_t term_start_index{0};  ///< index of this leader's noop
  uint32_t appended_machine_version = 0;  ///< version of its newest noop
  bool tick_armed = false;
  bool replication_due = false;  ///< new entries or commit: send AEs when actions are taken
  bool flush_requested = false;
  std::optional<server_id> transfer_target;  ///< await_condition: who should take over
  /// Ticks in a row that found the log unwritable (see hand_over_if_storage_failing).
  uint32_t storage_failed_ticks = 0;
  std::map<uint64_t, notify_action> notify_batch;  ///< per client id, flushed per event
  // consistent queries
  uint64_t query_seq = 0;
  std::vector<std::unique_ptr<pending_query>> queries;
};

inline server::leader_state* server::lead() {
  auto* p = std::get_if<std::unique_ptr<leader_state>>(&role_state_);
  return p ? p->get() : nullptr;
}
inline const server::leader_state* server::lead() const {
  auto* p = std::get_if<std::unique_ptr<leader_state>>(&role_state_);
  return p ? p->get() : nullptr;
}

template <class F>
void server::each_peer(F&& f) {
  // By index, re-reading the leader state each time: `f` may end the leadership (stop,
  // step down), which destroys the peers.
  for (size_t i = 0;; ++i) {
    auto* l = lead();
    if (!l || i >= l->peers.size()) return;
    f(*l->peers[i]);
  }
}

constexpr uint32_t snapshot_not_needed_chunk = 0;

}  // namespace ra
