#pragma once
// Cluster membership: the member list a server derives from its log (the newest
// cluster-change entry, committed or not: changes take effect when appended, Raft thesis ch. 4).

#include <optional>
#include <vector>

#include "ra/types.hpp"

namespace ra {

struct member {
  server_id id;
  membership kind = membership::voter;
  /// For promotable members: the leader's log index when it joined; promoted once
  /// the member's match index reaches it. Zero otherwise.
  index_t promote_at{0};

  bool operator==(const member&) const = default;
};

/// An ordered (by id) list of members with the questions the protocol asks of it.
class cluster_config {
 public:
  cluster_config() = default;
  explicit cluster_config(std::vector<member> members);

  const std::vector<member>& members() const { return members_; }
  const member* find(const server_id& id) const;
  bool contains(const server_id& id) const { return find(id) != nullptr; }
  bool is_voter(const server_id& id) const;
  size_t voter_count() const;
  /// Votes needed for a majority of voters (0 voters -> 1, so nothing is ever decided).
  size_t quorum() const { return voter_count() / 2 + 1; }

  /// Returns a copy with `m` added or replacing a member with the same id.
  cluster_config with(member m) const;
  cluster_config without(const server_id& id) const;

  bool operator==(const cluster_config&) const = default;

 private:
  std::vector<member> members_;
};

}  // namespace ra
