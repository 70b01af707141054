#pragma once
// The messages servers exchange (Ra's RPC records). Each is a plain value; its CAF
// `inspect` overload (how the actor shell sends it between processes) is in
// wire/inspect.hpp.

#include <cstdint>
#include <variant>
#include <vector>

#include "ra/bytes.hpp"
#include "ra/cluster.hpp"
#include "ra/log_entry.hpp"
#include "ra/types.hpp"

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

  bool operator==(const append_entries_rpc&) const = default;
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

  bool operator==(const append_entries_reply&) const = default;
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

  bool operator==(const pre_vote_rpc&) const = default;
};

struct pre_vote_result {
  term_t term;
  uint64_t token = 0;
  bool vote_granted = false;

  bool operator==(const pre_vote_result&) const = default;
};

struct request_vote_rpc {
  term_t term;
  server_id candidate_id;
  index_t last_log_index;
  term_t last_log_term;
  bool leadership_transfer = false;

  bool operator==(const request_vote_rpc&) const = default;
};

struct request_vote_result {
  term_t term;
  bool vote_granted = false;

  bool operator==(const request_vote_result&) const = default;
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
  /// The sender's end-to-end checksum of the whole snapshot (its file's CRC), if its
  /// store has one: the receiver refuses to install bytes that do not match it.
  bool has_checksum = false;
  uint32_t checksum = 0;

  bool operator==(const install_snapshot_rpc&) const = default;
};

struct install_snapshot_result {
  term_t term;
  index_t snapshot_index;  ///< which snapshot this acknowledges
  uint32_t chunk_no = 0;   ///< chunk acknowledged
  index_t last_index;      ///< follower's last index after installing (last chunk only)
  term_t last_term;

  bool operator==(const install_snapshot_result&) const = default;
};

/// Leadership confirmation round for consistent queries (ReadIndex).
struct heartbeat_rpc {
  term_t term;
  server_id leader_id;
  uint64_t query_index = 0;

  bool operator==(const heartbeat_rpc&) const = default;
};

struct heartbeat_reply {
  term_t term;
  uint64_t query_index = 0;

  bool operator==(const heartbeat_reply&) const = default;
};

/// Leader transfer: tells the target to start an election at once.
struct timeout_now_rpc {
  term_t term;
  server_id leader_id;

  bool operator==(const timeout_now_rpc&) const = default;
};

using peer_message =
  std::variant<append_entries_rpc, append_entries_reply, pre_vote_rpc, pre_vote_result,
               request_vote_rpc, request_vote_result, install_snapshot_rpc,
               install_snapshot_result, heartbeat_rpc, heartbeat_reply, timeout_now_rpc>;

const char* message_name(const peer_message& m);

}  // namespace ra
