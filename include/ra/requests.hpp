#pragma once
// What a client can ask of a server and how it is answered: reply modes, priorities,
// query kinds, and the errors in replies. Public (the API's options and results use
// them); the core's requests and actions (libra/actions.hpp) build on them.

#include <cstdint>

#include "ra/types.hpp"

namespace ra {

/// When and how the caller of a command is answered.
enum class reply_mode : uint8_t {
  after_log_append,  ///< reply once the leader appended the entry
  await_consensus,   ///< reply with the machine's reply once applied (default)
  notify,            ///< batched applied/rejected notifications to the client (pipelining)
  noreply,           ///< no reply at all
};

/// A command's priority at the leader.
enum class command_priority : uint8_t {
  normal,  ///< appended first
  low,     ///< appended after the waiting normal ones, a few per batch (Ra's low priority)
};

/// Errors in replies. All of them except leadership_lost mean the request was NOT
/// accepted (nothing was appended): it did not happen and may be retried. leadership_lost
/// means the command was appended but its fate is unknown (it may still commit).
enum class error_code : uint8_t {
  not_leader,                   ///< try `leader` (may be empty if unknown)
  cluster_change_not_permitted, ///< a change is in flight, or the leader's term is not yet committed
  leadership_lost,              ///< the leader stepped down; the command may or may not commit
  already_leader,
  already_member,
  unknown_member,
  non_voter,
  not_up_to_date,
  invalid_argument,
  stopped,                      ///< the server halted (removed, or its machine failed)
  storage_unavailable,          ///< the log cannot be written now (full disk, I/O error); retry later
  command_too_large,            ///< the command is over the leader's server_config::max_command_bytes
  bad_command,                  ///< the command does not decode as the machine's command type: not appended
  apply_failed,                 ///< the machine's apply threw (apply_failure_policy::reject): skipped, state unchanged
};

/// The code's name ("not_leader" ...).
const char* to_string(error_code e);

/// A server's refusal of a request, with the leader it knows.
struct command_error {
  error_code code;   ///< why
  server_id leader;  ///< hint, when known

  /// Field by field.
  bool operator==(const command_error&) const = default;
};

/// Where a query runs and how fresh its answer is (Ra's query kinds).
enum class query_kind : uint8_t {
  local,       ///< on the addressed member's state as it is: may be stale
  leader,      ///< on the leader's state, without confirming leadership
  consistent,  ///< on the leader after a quorum confirmed it still leads (linearizable)
};

}  // namespace ra
