#pragma once
// Quorum arithmetic (etcd's quorum package), in one place for the three things a Raft
// leader or candidate counts: the commit index (match indexes), the confirmed round of
// consistent queries (heartbeat rounds), and election votes.

#include <algorithm>
#include <cstddef>
#include <functional>
#include <optional>
#include <vector>

#include "ra/types.hpp"

namespace ra::quorum {

/// The largest value that at least `quorum` of `acks` (one per voter) have reached: the
/// commit index for match indexes, the confirmed round for query rounds. Empty when
/// fewer than `quorum` voters answered (or quorum is 0): nothing is agreed.
template <class T>
std::optional<T> agreed_value(std::vector<T> acks, size_t quorum) {
  if (quorum == 0 || acks.size() < quorum) return std::nullopt;
  auto kth = acks.begin() + static_cast<std::ptrdiff_t>(quorum - 1);
  std::nth_element(acks.begin(), kth, acks.end(), std::greater<>{});
  return *kth;
}

/// The votes granted in one election round (pre-vote or vote). The caller decides who
/// may vote (its cluster's voters); each voter counts once however often it answers.
class vote_tally {
 public:
  /// Counts `voter`'s grant; false if it was already counted.
  bool grant(const server_id& voter) {
    if (std::find(granted_.begin(), granted_.end(), voter) != granted_.end()) return false;
    granted_.push_back(voter);
    return true;
  }
  size_t granted() const { return granted_.size(); }
  bool won(size_t quorum) const { return quorum > 0 && granted_.size() >= quorum; }

 private:
  std::vector<server_id> granted_;
};

}  // namespace ra::quorum
