#pragma once
// A server's state as the core sees it (Ra's member_overview), as a typed value. The core
// builds it (server::overview()); it becomes JSON only at the edge (actors/overview_json.hpp:
// the public member_overview / overview calls). Readers such as members_info read its
// fields, so a renamed field is a compile error rather than a silently missing JSON key.

#include <cstdint>
#include <string>
#include <vector>

#include "ra/cluster.hpp"
#include "ra/types.hpp"

namespace ra {

/// The leader's replication state of one peer.
struct peer_overview {
  server_id id;
  index_t next_index{0};
  index_t match_index{0};
  bool sending_snapshot = false;

  bool operator==(const peer_overview&) const = default;
};

/// One server's state.
struct server_overview {
  server_id id;
  std::string cluster_name;
  role server_role = role::follower;
  term_t term{0};
  server_id voted_for;  ///< empty if none
  server_id leader;     ///< empty if unknown
  index_t commit_index{0};
  index_t last_applied{0};
  index_t last_index{0};
  index_t last_written_index{0};
  index_t snapshot_index{0};
  uint64_t effective_machine_version = 0;
  std::vector<member> members;
  std::string stop_reason;  ///< empty unless the server stopped
  bool has_peers = false;   ///< true while leading: `peers` is the leader's view
  std::vector<peer_overview> peers;

  bool operator==(const server_overview&) const = default;
  /// The peer entry of `peer`, or nullptr (not leading, or not a peer).
  const peer_overview* find_peer(const server_id& peer) const {
    for (auto& p : peers)
      if (p.id == peer) return &p;
    return nullptr;
  }
};

}  // namespace ra
