#pragma once
// Processes as machines see them (pid) and the built-in commands the actor shell feeds
// back into the log for the machine (Ra's {down, Pid, Reason}, {nodeup | nodedown, Node},
// {timeout, Name}, {machine_version, Old, New}). Effects that produce them: effects.hpp.

#include <compare>
#include <cstdint>
#include <optional>
#include <string>
#include <variant>

#include "ra/bytes.hpp"

namespace ra {

/// A process (actor) anywhere in the cluster: the node (ra system name) and its actor id.
struct pid {
  std::string node;  ///< the node (ra::system name) the actor lives on
  uint64_t id = 0;   ///< its actor id on that node (0: none)

  /// Ordered by node, then id.
  auto operator<=>(const pid&) const = default;
  /// True for the empty pid (no process).
  bool empty() const { return id == 0; }
  /// "<node.id>", as Erlang prints pids.
  std::string to_string() const { return "<" + node + "." + std::to_string(id) + ">"; }
};

// -- built-in commands (appended by the leader's shell, applied by every member) --------

/// A monitored process went away.
struct down_command {
  pid who;             ///< the process
  std::string reason;  ///< why ("noproc": already gone when monitored, "noconnection": its node is down ...)
};
/// A monitored node became unreachable.
struct nodedown_command {
  std::string node;  ///< the node's name
};
/// A monitored node became reachable again.
struct nodeup_command {
  std::string node;  ///< the node's name
};
/// A named timer expired.
struct timeout_command {
  std::string name;  ///< the timer's name (timer_effect::name)
};
/// The cluster's effective machine version changed (applied with the new version).
struct machine_version_command {
  uint32_t from = 0;  ///< the version before
  uint32_t to = 0;    ///< the version now effective
};

/// Any built-in command, as machine::apply_builtin receives it.
using builtin_command =
  std::variant<down_command, nodedown_command, nodeup_command, timeout_command, machine_version_command>;

/// Log payload of an entry_kind::builtin entry.
shared_bytes encode_builtin(const builtin_command& c);
/// The inverse of encode_builtin; empty if `payload` is not a valid encoding.
std::optional<builtin_command> decode_builtin(const shared_bytes& payload);

}  // namespace ra
