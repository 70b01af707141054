#pragma once
// Machine effects the actor shell executes (Ra's effects), and the built-in commands the
// shell feeds back into the log (Ra's {down, Pid, Reason}, {nodeup | nodedown, Node},
// {timeout, Name}, {machine_version, Old, New}).
//
// A machine returns these from apply / state_enter / tick as `machine_effect` values
// built by the ra::effect:: functions at the bottom. The core only routes them (ra/machine.hpp:
// shell_effect): leader-only unless noted, executed in order after the entry is applied.
//
// Processes are named by `pid` ({node, actor id}), which serialises without an actor
// system, so pids may live in commands and machine state (a FIFO queue's consumers).
// The shell turns a caf::actor into a pid (actors/pid.hpp: to_pid) and back.
//
// Effects never block the server: a send to a pid that is gone is dropped, a monitor of
// a pid that is gone yields an immediate down command (reason "noproc").

#include <compare>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include <caf/message.hpp>

#include "ra/builtin_commands.hpp"
#include "ra/bytes.hpp"
#include "ra/machine.hpp"
#include "ra/types.hpp"

namespace ra {

// -- shell effects ----------------------------------------------------------------------

/// Send `msg` to `to` (fire and forget; dropped if `to` is gone). Leader only.
struct send_msg_effect {
  pid to;            ///< the receiver
  caf::message msg;  ///< the message, as the receiver's behaviour expects it
};
/// Call `fn` on the server's thread (keep it short; it must not block). Leader only.
struct mod_call_effect {
  std::function<void()> fn;  ///< the call
};
/// Monitor a process: when it goes, the leader appends down_command{target, reason}.
struct monitor_effect {
  pid target;  ///< the process to watch
};
/// Stop monitoring a process (no down command for it any more).
struct demonitor_effect {
  pid target;  ///< the process watched so far
};
/// Monitor a node (an ra system): the leader appends nodedown / nodeup commands.
struct monitor_node_effect {
  std::string node;  ///< the node's name
};
/// Stop monitoring a node (no nodedown / nodeup commands for it any more).
struct demonitor_node_effect {
  std::string node;  ///< the node's name
};
/// A named timer: after `ms` the leader appends timeout_command{name}. Re-arming a name
/// resets it; `ms` < 0 cancels it. Timers are leader-local: a new leader re-arms them
/// from state_enter(role::leader).
struct timer_effect {
  std::string name;  ///< the timer's name, in timeout_command::name when it fires
  int64_t ms = 0;    ///< delay in milliseconds; < 0 cancels
};
/// Read the commands at `indexes` from the log (missing ones are skipped), then run
/// `then` with them (index, encoded command) and execute the effects it returns.
struct log_effect {
  std::vector<index_t> indexes;  ///< the entries to read
  /// Called with the (index, encoded command) pairs found; returns effects to execute.
  std::function<effects(const std::vector<std::pair<index_t, shared_bytes>>&)> then;
};
/// Pass an (encoded) aux command to this member's aux handler (machine::handle_aux).
/// Executed on every member that applies it when `all_members` is set in the wrapper.
struct aux_effect {
  shared_bytes command;  ///< the aux command, encoded by the machine
};
/// Send a reply to a waiting caller: `to` receives (ra_reply, shared_bytes reply).
struct reply_effect {
  pid to;              ///< the caller waiting for it
  shared_bytes reply;  ///< the encoded reply
};

/// Every effect the actor shell executes, as carried in shell_effect::value.
using shell_effect_value = std::variant<send_msg_effect, mod_call_effect, monitor_effect, demonitor_effect,
                                        monitor_node_effect, demonitor_node_effect, timer_effect, log_effect,
                                        aux_effect, reply_effect>;

/// The effect constructors a machine returns from apply / state_enter / tick / aux, in
/// their own namespace (Ra writes them as tuples: {send_msg, Pid, Msg} ...):
///   effs.push_back(ra::effect::send_msg(consumer, msg));
namespace effect {
/// Wraps a shell effect for a machine's effect list.
template <class E>
machine_effect make(E e, bool all_members = false) {
  return machine_effect{shell_effect{std::any(shell_effect_value{std::move(e)}), all_members}};
}
/// send_msg_effect: send `msg` to `to` (leader only).
inline machine_effect send_msg(pid to, caf::message msg) { return make(send_msg_effect{std::move(to), std::move(msg)}); }
/// mod_call_effect: call `fn` on the leader's server thread.
inline machine_effect mod_call(std::function<void()> fn) { return make(mod_call_effect{std::move(fn)}); }
/// monitor_effect: a down command when `p` goes.
inline machine_effect monitor(pid p) { return make(monitor_effect{std::move(p)}); }
/// demonitor_effect: no more down command for `p`.
inline machine_effect demonitor(pid p) { return make(demonitor_effect{std::move(p)}); }
/// monitor_node_effect: nodedown / nodeup commands for `node`.
inline machine_effect monitor_node(std::string node) { return make(monitor_node_effect{std::move(node)}); }
/// demonitor_node_effect: no more nodedown / nodeup commands for `node`.
inline machine_effect demonitor_node(std::string node) { return make(demonitor_node_effect{std::move(node)}); }
/// timer_effect: a timeout_command{name} after `ms` milliseconds (re-arms a running one).
inline machine_effect timer(std::string name, int64_t ms) { return make(timer_effect{std::move(name), ms}); }
/// Cancels the timer `name` (a timer_effect with a negative delay).
inline machine_effect cancel_timer(std::string name) { return make(timer_effect{std::move(name), -1}); }
/// aux_effect: the encoded aux command `cmd` to the aux handler of every member applying it.
inline machine_effect aux(shared_bytes cmd) { return make(aux_effect{std::move(cmd)}, true); }
/// reply_effect: the encoded `reply` to the waiting caller `to`.
inline machine_effect reply_to(pid to, shared_bytes reply) { return make(reply_effect{std::move(to), std::move(reply)}); }
/// log_effect: read the entries at `indexes`, then run `then` on them.
inline machine_effect read_log(std::vector<index_t> indexes,
                               std::function<effects(const std::vector<std::pair<index_t, shared_bytes>>&)> then) {
  return make(log_effect{std::move(indexes), std::move(then)});
}
/// release_cursor_effect: the state after applying `i` (the index being applied) may be
/// snapshotted and the log before it dropped (every member).
inline machine_effect release_cursor(index_t i) { return machine_effect{release_cursor_effect{i}}; }
/// checkpoint_effect: keep a snapshot of the state at `i` (the index being applied)
/// without truncating the log (every member).
inline machine_effect checkpoint(index_t i) { return machine_effect{checkpoint_effect{i}}; }
/// append_effect: submit the encoded command `cmd` through the leader.
inline machine_effect append(shared_bytes cmd) { return machine_effect{append_effect{std::move(cmd)}}; }
}  // namespace effect

/// The shell-effect value inside an effect, or null (release_cursor etc.).
inline const shell_effect_value* as_shell_effect(const machine_effect& e) {
  auto* s = std::get_if<shell_effect>(&e);
  return s ? std::any_cast<shell_effect_value>(&s->value) : nullptr;
}

}  // namespace ra
