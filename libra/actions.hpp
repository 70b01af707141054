#pragma once
// What the core asks its shell to do. The shell executes actions in order; in particular
// a persist_meta action must complete (be durable) before any later action runs, which is
// how "term and vote are durable before a vote is granted" is kept.

#include <any>
#include <cstdint>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "ra/bytes.hpp"
#include "ra/machine.hpp"
#include "libra/messages.hpp"
#include "ra/requests.hpp"
#include "ra/types.hpp"

namespace ra {

/// The shell's handle for whoever is waiting for an answer (a response promise, an actor
/// to notify ...). Opaque to the core.
struct client_ref {
  uint64_t id = 0;
  bool operator==(const client_ref&) const = default;
};

enum class timer_kind : uint8_t {
  election,          ///< follower / pre_vote / candidate
  tick,              ///< leader housekeeping; armed only while there is work (no idle timers)
  await_condition,   ///< leadership transfer deadline
  receive_snapshot,  ///< give up a half-received snapshot
};

const char* to_string(timer_kind k);

// -- actions -------------------------------------------------------------------------

struct send_action { server_id to; peer_message msg; };
/// Make term and vote durable before executing anything that follows.
struct persist_meta_action { term_t term; std::optional<server_id> voted_for; };
/// (Re)arm timer `kind` to fire after `ms`; replaces any earlier arming of that kind.
struct set_timer_action { timer_kind kind; uint64_t ms; };
struct cancel_timer_action { timer_kind kind; };

/// Result of a command (reply mode await_consensus / after_log_append) or membership call.
struct reply_action {
  client_ref to;
  index_t index;     ///< where the command landed (0 on error)
  term_t term;
  server_id leader;
  shared_bytes reply;
  std::optional<command_error> error;
};

/// Batched notifications for pipelined commands (Ra's ra_event applied / rejected).
struct notify_action {
  client_ref to;
  server_id leader;
  std::vector<std::pair<uint64_t, shared_bytes>> applied;  ///< (correlation, reply), in log order
};
struct reject_action {
  client_ref to;
  uint64_t correlation;
  command_error error;
};

struct query_reply_action {
  client_ref to;
  server_id leader;
  std::any result;
  std::optional<command_error> error;
};

/// A machine effect for the shell (leader-only effects arrive only on the leader).
struct effect_action { shell_effect effect; };

/// The role changed. `leader` is the leader this server now follows (or itself), if known.
struct role_change_action { role from; role to; term_t term; server_id leader; };
/// A follower learned its leader: the shell should monitor it (Ra's record_leader_msg).
/// When the monitor fires, the shell calls server::handle_leader_down(). A monitor fires
/// at most once; the core asks again (a new monitor_leader_action) when it hears from a
/// leader after a down signal or a leader change.
struct monitor_leader_action { server_id leader; };
/// Low-priority commands are still queued: the shell should call
/// server::handle_flush_commands() soon (after the messages already in its mailbox).
struct flush_commands_action {};
/// The server stopped (removed from the cluster, or its machine threw). Final.
struct stopped_action {
  std::string reason;
  bool delete_data = false;  ///< the cluster was deleted: remove this member's data too
  bool failed = true;        ///< false for an orderly end (cluster deleted, member removed)
};

using action =
  std::variant<send_action, persist_meta_action, set_timer_action, cancel_timer_action,
               reply_action, notify_action, reject_action, query_reply_action, effect_action,
               role_change_action, monitor_leader_action, flush_commands_action, stopped_action>;

// -- client requests -----------------------------------------------------------------

struct command_request {
  client_ref from;
  shared_bytes payload;  ///< encoded command
  reply_mode mode = reply_mode::await_consensus;
  uint64_t correlation = 0;  ///< for notify mode
  command_priority priority = command_priority::normal;
};


struct query_request {
  client_ref from;
  query_kind kind = query_kind::consistent;
  query_fn fn;
};

enum class membership_op : uint8_t { add, remove };

struct membership_request {
  client_ref from;
  membership_op op;
  member target;  ///< for remove only the id matters
};

}  // namespace ra
