#pragma once
// A log entry as stored, replicated and applied. User commands travel as opaque bytes
// (encoded by the machine's codec); system entries carry their own small encodings.

#include <cstdint>
#include <optional>

#include "ra/bytes.hpp"
#include "ra/cluster.hpp"
#include "ra/types.hpp"

namespace ra {

/// What a log entry carries (stored in every entry: values are part of the formats).
enum class entry_kind : uint8_t {
  noop = 0,            ///< appended by every new leader; payload: machine version
  command = 1,         ///< a user command for the machine
  cluster_change = 2,  ///< the full new member list
  builtin = 3,         ///< a built-in machine command (builtin_commands.hpp), appended by the leader's shell
  delete_cluster = 4,  ///< end of life: every member that applies it stops and deletes its data
};
/// The highest valid entry_kind value (readers reject higher ones).
inline constexpr uint8_t max_entry_kind = static_cast<uint8_t>(entry_kind::delete_cluster);

/// One entry of a server's log.
struct log_entry {
  index_t index{0};  ///< its position in the log (the first entry is 1)
  term_t term{0};    ///< the term of the leader that appended it
  entry_kind kind = entry_kind::command;  ///< what the payload is
  /// Leader's wall-clock time (ms) when it appended the entry: given to the machine as
  /// meta.system_time so every member sees the same value.
  int64_t system_time = 0;
  shared_bytes payload;  ///< the encoded command, or the system payload of `kind`

  /// Field by field.
  bool operator==(const log_entry&) const = default;
};

// Encodings of the system payloads (compact, versioned by the entry kind).
/// The payload of a noop entry: the machine version of the leader that appended it.
shared_bytes encode_noop(uint32_t machine_version);
/// The machine version of a noop payload; empty if it is not a valid one.
std::optional<uint32_t> decode_noop(const shared_bytes& payload);
/// The payload of a cluster_change entry: the full member list.
shared_bytes encode_cluster(const cluster_config& c);
/// The member list of a cluster_change payload; empty if it is not a valid one.
std::optional<cluster_config> decode_cluster(const shared_bytes& payload);

}  // namespace ra
