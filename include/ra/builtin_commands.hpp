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
  std::string node;
  uint64_t id = 0;

  auto operator<=>(const pid&) const = default;
  bool empty() const { return id == 0; }
  std::string to_string() const { return "<" + node + "." + std::to_string(id) + ">"; }
};

// -- built-in commands (appended by the leader's shell, applied by every member) --------

/// A monitored process went away.
struct down_command {
  pid who;
  std::string reason;
};
/// A monitored node became unreachable / reachable again.
struct nodedown_command {
  std::string node;
};
struct nodeup_command {
  std::string node;
};
/// A named timer expired.
struct timeout_command {
  std::string name;
};
/// The cluster's effective machine version changed (applied with the new version).
struct machine_version_command {
  uint32_t from = 0;
  uint32_t to = 0;
};

using builtin_command =
  std::variant<down_command, nodedown_command, nodeup_command, timeout_command, machine_version_command>;

/// Log payload of an entry_kind::builtin entry.
shared_bytes encode_builtin(const builtin_command& c);
std::optional<builtin_command> decode_builtin(const shared_bytes& payload);

}  // namespace ra
