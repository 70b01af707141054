#pragma once
// Cluster membership: the member list a server derives from its log (the newest
// cluster-change entry, committed or not: changes take effect when appended, Raft thesis ch. 4).

#include <optional>
#include <vector>

#include "ra/types.hpp"

namespace ra {

/// One member of a cluster and how it takes part.
struct member {
  server_id id;  ///< the member's server
  membership kind = membership::voter;  ///< voter, promotable or non-voter
  /// For promotable members: the leader's log index when it joined; promoted once
  /// the member's match index reaches it. Zero otherwise.
  index_t promote_at{0};

  /// Field by field.
  bool operator==(const member&) const = default;
};

/// An ordered (by id) list of members with the questions the protocol asks of it.
class cluster_config {
 public:
  /// No members.
  cluster_config() = default;
  /// The members, sorted by id; of several with the same id only the first is kept.
  explicit cluster_config(std::vector<member> members);

  /// The members, ordered by id.
  const std::vector<member>& members() const { return members_; }
  /// The member `id`, or null.
  const member* find(const server_id& id) const;
  /// Whether `id` is a member (of any kind).
  bool contains(const server_id& id) const { return find(id) != nullptr; }
  /// Whether `id` is a voting member.
  bool is_voter(const server_id& id) const;
  /// The number of voting members.
  size_t voter_count() const;
  /// Votes needed for a majority of voters (0 voters -> 1, so nothing is ever decided).
  size_t quorum() const { return voter_count() / 2 + 1; }

  /// Returns a copy with `m` added or replacing a member with the same id.
  cluster_config with(member m) const;
  /// Returns a copy without the member `id` (unchanged if it is none).
  cluster_config without(const server_id& id) const;

  /// Same members, same order.
  bool operator==(const cluster_config&) const = default;

 private:
  std::vector<member> members_;
};

}  // namespace ra
