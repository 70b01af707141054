#pragma once
// Private state of ra::server shared by its implementation files. Not installed.

#include <algorithm>
#include <limits>

#include "libra/progress.hpp"
#include "libra/quorum.hpp"
#include "server.hpp"

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

struct server::snapshot_receipt {
  snapshot_meta meta;
  uint32_t next_chunk = 1;
  std::vector<char> data;
};

constexpr uint32_t snapshot_not_needed_chunk = 0;

}  // namespace ra
