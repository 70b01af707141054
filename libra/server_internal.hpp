#pragma once
// Private state of ra::server shared by its implementation files. Not installed.

#include <algorithm>
#include <limits>

#include "libra/server.hpp"

namespace ra {

/// The leader's view of one other member (etcd's Progress, Ra's peer map entry).
struct server::peer {
  server_id id;
  membership kind = membership::voter;
  index_t next_index{1};   ///< next entry to send (optimistic while pipelining)
  index_t match_index{0};  ///< highest entry known durable and matching on the peer
  index_t commit_index_sent{0};
  uint64_t query_index = 0;  ///< highest consistent-query round the peer confirmed
  uint32_t machine_version = 0;  ///< highest machine version its code supports (AE replies)
  bool machine_version_known = false;

  /// After a rejection the leader probes with one AE at a time until one succeeds,
  /// so that a burst of in-flight AEs failing the same way does not cause resend storms.
  bool probing = false;
  bool probe_in_flight = false;
  /// match_index at the last tick (or when last fully caught up): no movement over a
  /// whole tick means AEs or replies were lost, and the leader resends.
  index_t match_at_tick{0};

  // Snapshot transfer (when next_index fell below the leader's first log index).
  bool sending_snapshot = false;
  stored_snapshot snapshot;
  uint32_t chunks_acked = 0;
  bool snapshot_progressed = false;  ///< a chunk was acknowledged since the last tick
  uint32_t snapshot_stalled_ticks = 0;
  uint32_t snapshot_retries = 0;     ///< restarts since the last progress (back-off exponent)

  bool is_voter() const { return kind == membership::voter; }
  uint64_t in_flight() const { return next_index - match_index - 1; }
};

struct server::pending_query {
  client_ref from;
  query_fn fn;
  std::optional<index_t> read_index;  ///< commit index recorded once the term's noop committed
  uint64_t round = 0;                 ///< heartbeat round confirming leadership (0 = none yet)
  bool confirmed = false;
};

struct server::snapshot_receipt {
  snapshot_meta meta;
  uint32_t next_chunk = 1;
  std::vector<char> data;
};

constexpr uint32_t snapshot_not_needed_chunk = 0;

}  // namespace ra
