#pragma once
// Strong types for the vocabulary of the protocol: terms, log indexes, server ids,
// membership kinds and roles. Mixing up a term and an index is a compile error.

#include <compare>
#include <cstdint>
#include <functional>
#include <ostream>
#include <string>

/// ra-cpp: Raft clusters of replicated state machines, in the spirit of RabbitMQ's Ra.
/// Start with ra::system (ra/system.hpp) and the blocking API (ra/api.hpp).
namespace ra {

/// A 64-bit counter with its own type per Tag. Only the operations the protocol needs.
template <class Tag>
struct strong_u64 {
  uint64_t value = 0;  ///< the number

  /// Zero.
  constexpr strong_u64() = default;
  /// The number `v` (explicit: a plain integer does not become a term or an index).
  constexpr explicit strong_u64(uint64_t v) : value(v) {}

  /// Ordered by value.
  constexpr auto operator<=>(const strong_u64&) const = default;

  /// @{
  /// Arithmetic on the value (unchecked, as on uint64_t); the difference of two is a count.
  constexpr strong_u64 operator+(uint64_t n) const { return strong_u64{value + n}; }
  constexpr strong_u64 operator-(uint64_t n) const { return strong_u64{value - n}; }
  constexpr uint64_t operator-(strong_u64 o) const { return value - o.value; }
  constexpr strong_u64& operator++() { ++value; return *this; }
  /// @}

  /// Prints the number.
  friend std::ostream& operator<<(std::ostream& os, strong_u64 x) { return os << x.value; }
};

struct term_tag {};   ///< tags term_t
struct index_tag {};  ///< tags index_t
/// A Raft term. Term 0 means "before any election".
using term_t = strong_u64<term_tag>;
/// A log index. Index 0 is the empty-log sentinel; the first entry is 1.
using index_t = strong_u64<index_tag>;

/// A server's identity: a name unique within a node (actor system) plus the node name,
/// as Ra's {Name, Node}. Ordered and hashable so it can key maps.
struct server_id {
  std::string name;  ///< the server's name, unique on its node
  std::string node;  ///< the node (ra::system) it runs on

  /// Ordered by name, then node.
  auto operator<=>(const server_id&) const = default;
  /// True for the empty id ("none", e.g. no leader known).
  bool empty() const { return name.empty(); }
  /// "name@node" (just "name" without a node).
  std::string to_string() const { return node.empty() ? name : name + "@" + node; }
  /// Prints to_string().
  friend std::ostream& operator<<(std::ostream& os, const server_id& s) { return os << s.to_string(); }
};

/// How a member takes part in the cluster (Ra's `membership`).
enum class membership : uint8_t {
  voter = 0,       ///< counts in quorums, may become leader
  promotable = 1,  ///< replicated to; promoted to voter by the leader once caught up
  non_voter = 2,   ///< permanent learner: replicated to, never votes
};

/// The states of a server, with Ra's names.
enum class role : uint8_t {
  follower,
  pre_vote,
  candidate,
  leader,
  await_condition,   ///< leader transferring leadership, waiting for the target to win
  receive_snapshot,  ///< follower assembling a snapshot sent in chunks
  stopped,           ///< removed from the cluster or halted by a machine error
};

/// Ra's name of a membership kind ("voter", "promotable", "non_voter").
const char* to_string(membership m);
/// Ra's name of a role ("follower", "leader" ...).
const char* to_string(role r);

}  // namespace ra

/// \cond internal
template <>
struct std::hash<ra::server_id> {
  size_t operator()(const ra::server_id& s) const noexcept {
    return std::hash<std::string>{}(s.name) * 31 + std::hash<std::string>{}(s.node);
  }
};
/// \endcond
