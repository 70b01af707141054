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
  server_id id;            ///< the peer
  index_t next_index{0};   ///< the next index the leader sends it
  index_t match_index{0};  ///< the highest index known to be written on it
  bool sending_snapshot = false;  ///< a snapshot is being sent to it

  /// Field by field.
  bool operator==(const peer_overview&) const = default;
};

/// One server's state.
struct server_overview {
  server_id id;               ///< the server
  std::string cluster_name;   ///< its cluster's name
  role server_role = role::follower;  ///< its current role
  term_t term{0};             ///< its current term
  server_id voted_for;  ///< empty if none
  server_id leader;     ///< empty if unknown
  index_t commit_index{0};        ///< highest index known committed
  index_t last_applied{0};        ///< highest index applied to the machine
  index_t last_index{0};          ///< last index in its log
  index_t last_written_index{0};  ///< last index made durable
  index_t snapshot_index{0};      ///< index of its latest snapshot (0: none)
  uint64_t effective_machine_version = 0;  ///< the machine version in use
  std::vector<member> members;    ///< the cluster's members as it sees them
  std::string stop_reason;  ///< empty unless the server stopped
  bool has_peers = false;   ///< true while leading: `peers` is the leader's view
  std::vector<peer_overview> peers;  ///< the leader's replication state per peer
  /// The machine's own overview (machine::overview()) as JSON text; if that threw,
  /// {"error": what it threw}.
  std::string machine_overview;

  /// Field by field.
  bool operator==(const server_overview&) const = default;
  /// The peer entry of `peer`, or nullptr (not leading, or not a peer).
  const peer_overview* find_peer(const server_id& peer) const {
    for (auto& p : peers)
      if (p.id == peer) return &p;
    return nullptr;
  }
};

}  // namespace ra
