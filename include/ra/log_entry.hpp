#pragma once
// A log entry as stored, replicated and applied. User commands travel as opaque bytes
// (encoded by the machine's codec); system entries carry their own small encodings.

#include <cstdint>
#include <optional>

#include "ra/bytes.hpp"
#include "ra/cluster.hpp"
#include "ra/types.hpp"

namespace ra {

enum class entry_kind : uint8_t {
  noop = 0,            ///< appended by every new leader; payload: machine version
  command = 1,         ///< a user command for the machine
  cluster_change = 2,  ///< the full new member list
  builtin = 3,         ///< a built-in machine command (builtin_commands.hpp), appended by the leader's shell
  delete_cluster = 4,  ///< end of life: every member that applies it stops and deletes its data
};
inline constexpr uint8_t max_entry_kind = static_cast<uint8_t>(entry_kind::delete_cluster);

struct log_entry {
  index_t index{0};
  term_t term{0};
  entry_kind kind = entry_kind::command;
  /// Leader's wall-clock time (ms) when it appended the entry: given to the machine as
  /// meta.system_time so every member sees the same value.
  int64_t system_time = 0;
  shared_bytes payload;

  bool operator==(const log_entry&) const = default;
};

// Encodings of the system payloads (compact, versioned by the entry kind).
shared_bytes encode_noop(uint32_t machine_version);
std::optional<uint32_t> decode_noop(const shared_bytes& payload);
shared_bytes encode_cluster(const cluster_config& c);
std::optional<cluster_config> decode_cluster(const shared_bytes& payload);

}  // namespace ra
