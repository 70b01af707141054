#pragma once
// The messages servers exchange (Ra's RPC records). Each is a plain serializable value
// with a CAF-style `inspect`, so the actor shell can send it between processes.

#include <cstdint>
#include <variant>
#include <vector>

#include "libra/bytes.hpp"
#include "libra/cluster.hpp"
#include "libra/log_entry.hpp"
#include "libra/types.hpp"

namespace ra {

/// Leader -> follower: entries to append after (prev_log_index, prev_log_term).
/// An empty `entries` is a heartbeat that carries leader_commit.
struct append_entries_rpc {
  term_t term;
  server_id leader_id;
  index_t leader_commit;
  index_t prev_log_index;
  term_t prev_log_term;
  std::vector<log_entry> entries;
};

/// Follower -> leader. On success, last_index/last_term name the follower's last
/// durable entry known to match the leader's log. On failure, next_index is where the
/// leader should resume (fast back-tracking: the start of the conflicting term, or the
/// follower's last index + 1).
struct append_entries_reply {
  term_t term;
  bool success = false;
  index_t next_index;
  index_t last_index;
  term_t last_term;
  /// Highest machine version the replying member's code supports: the leader raises the
  /// effective version only when every member supports it (Ra's upgrade strategy `all`).
  uint32_t machine_version = 0;
};

/// Pre-vote: asks "would you vote for me in term `term`?" without anyone changing
/// term or vote, so a member that was cut off cannot disrupt a healthy cluster.
struct pre_vote_rpc {
  term_t term;  ///< the term the candidate would stand in (its current term + 1)
  server_id candidate_id;
  index_t last_log_index;
  term_t last_log_term;
  uint64_t token = 0;  ///< ties replies to one round
  uint32_t machine_version = 0;
};

struct pre_vote_result {
  term_t term;
  uint64_t token = 0;
  bool vote_granted = false;
};

struct request_vote_rpc {
  term_t term;
  server_id candidate_id;
  index_t last_log_index;
  term_t last_log_term;
  bool leadership_transfer = false;
};

struct request_vote_result {
  term_t term;
  bool vote_granted = false;
};

/// Metadata of a snapshot: the last index/term it covers, the cluster at that index and
/// the machine version that produced it.
struct snapshot_meta {
  index_t index;
  term_t term;
  cluster_config cluster;
  uint32_t machine_version = 0;

  bool operator==(const snapshot_meta&) const = default;
};

/// One chunk (numbered from 1) of a snapshot; `last` marks the final chunk.
struct install_snapshot_rpc {
  term_t term;
  server_id leader_id;
  snapshot_meta meta;
  uint32_t chunk_no = 1;
  bool last = false;
  shared_bytes data;
};

struct install_snapshot_result {
  term_t term;
  index_t snapshot_index;  ///< which snapshot this acknowledges
  uint32_t chunk_no = 0;   ///< chunk acknowledged
  index_t last_index;      ///< follower's last index after installing (last chunk only)
  term_t last_term;
};

/// Leadership confirmation round for consistent queries (ReadIndex).
struct heartbeat_rpc {
  term_t term;
  server_id leader_id;
  uint64_t query_index = 0;
};

struct heartbeat_reply {
  term_t term;
  uint64_t query_index = 0;
};

/// Leader transfer: tells the target to start an election at once.
struct timeout_now_rpc {
  term_t term;
  server_id leader_id;
};

using peer_message =
  std::variant<append_entries_rpc, append_entries_reply, pre_vote_rpc, pre_vote_result,
               request_vote_rpc, request_vote_result, install_snapshot_rpc,
               install_snapshot_result, heartbeat_rpc, heartbeat_reply, timeout_now_rpc>;

const char* message_name(const peer_message& m);

// -- inspect overloads (CAF 0.17 signature) --------------------------------------------

template <class F> typename F::result_type inspect(F& f, member& x) { return f(x.id, x.kind, x.promote_at); }
template <class F> typename F::result_type inspect(F& f, append_entries_rpc& x) {
  return f(x.term, x.leader_id, x.leader_commit, x.prev_log_index, x.prev_log_term, x.entries);
}
template <class F> typename F::result_type inspect(F& f, append_entries_reply& x) {
  return f(x.term, x.success, x.next_index, x.last_index, x.last_term, x.machine_version);
}
template <class F> typename F::result_type inspect(F& f, pre_vote_rpc& x) {
  return f(x.term, x.candidate_id, x.last_log_index, x.last_log_term, x.token, x.machine_version);
}
template <class F> typename F::result_type inspect(F& f, pre_vote_result& x) {
  return f(x.term, x.token, x.vote_granted);
}
template <class F> typename F::result_type inspect(F& f, request_vote_rpc& x) {
  return f(x.term, x.candidate_id, x.last_log_index, x.last_log_term, x.leadership_transfer);
}
template <class F> typename F::result_type inspect(F& f, request_vote_result& x) {
  return f(x.term, x.vote_granted);
}
template <class F> typename F::result_type inspect(F& f, install_snapshot_result& x) {
  return f(x.term, x.snapshot_index, x.chunk_no, x.last_index, x.last_term);
}
template <class F> typename F::result_type inspect(F& f, heartbeat_rpc& x) {
  return f(x.term, x.leader_id, x.query_index);
}
template <class F> typename F::result_type inspect(F& f, heartbeat_reply& x) {
  return f(x.term, x.query_index);
}
template <class F> typename F::result_type inspect(F& f, timeout_now_rpc& x) {
  return f(x.term, x.leader_id);
}

}  // namespace ra
