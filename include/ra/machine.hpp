#pragma once
// The state-machine contract (Ra's ra_machine), in its type-erased form as the core sees
// it: commands, replies and state travel as bytes. Users do not implement this directly;
// they write a typed machine and wrap it with `make_machine` (typed_machine.hpp), which
// encodes and decodes with the types' `inspect` functions.
//
// Determinism: apply() must compute the same new state, reply and effects on every
// member from the same (meta, command, state). It must not read clocks (use
// meta.system_time), random numbers, the environment, or iterate unordered containers
// in an order that leaks into state or effects. Effects are executed only on the leader
// (except release_cursor / checkpoint, which every member handles), so apply itself must
// not perform I/O.

#include <any>
#include <cstdint>
#include <functional>
#include <memory>
#include <stdexcept>
#include <string>
#include <string_view>
#include <typeinfo>
#include <variant>
#include <vector>

#include <nlohmann/json.hpp>

#include "ra/builtin_commands.hpp"
#include "ra/bytes.hpp"
#include "ra/types.hpp"

namespace ra {

/// What apply() learns about the entry besides the command.
struct command_meta {
  index_t index;  ///< the entry's index in the log
  term_t term;    ///< the term the entry was appended in
  int64_t system_time = 0;  ///< leader's clock (ms) when it appended the entry
  uint32_t machine_version = 0;  ///< the cluster's effective machine version at this entry
};

// -- effects --------------------------------------------------------------------------

/// "The state after applying `index` may be snapshotted; older entries are not needed."
/// Must be emitted while applying `index` (the core snapshots the state at that point).
struct release_cursor_effect {
  index_t index;  ///< the index being applied
};
/// "Keep a snapshot of the state at `index` without truncating the log" (Ra checkpoint).
struct checkpoint_effect {
  index_t index;  ///< the index being applied
};
/// The machine submits a new command (encoded) through the leader.
struct append_effect {
  shared_bytes command;  ///< the command, encoded as the machine's commands are
};
/// Anything the actor shell executes (send_msg, monitor, timer, mod_call, aux ...).
/// The core only routes it: leader-only unless `all_members`.
struct shell_effect {
  std::any value;  ///< a shell_effect_value (ra/effects.hpp)
  bool all_members = false;  ///< executed by every member that applies it, not the leader only
};

/// One effect in a machine's effect list; build them with the ra::effect:: functions
/// (ra/effects.hpp).
using machine_effect = std::variant<release_cursor_effect, checkpoint_effect, append_effect, shell_effect>;
/// A machine's effect list, executed in order.
using effects = std::vector<machine_effect>;

/// Thrown by apply when it failed after its state was already given away (moved into a
/// typed machine's apply): the server cannot keep the state as it was and stops, whatever
/// its apply_failure_policy.
struct machine_state_lost : std::runtime_error {
  using std::runtime_error::runtime_error;
};

/// What apply() returns: the reply to the command's caller (encoded) and the effects.
struct apply_output {
  shared_bytes reply;  ///< the encoded reply
  effects effs;        ///< effects to execute after the entry is applied
};

/// What the aux handler returns: an optional reply to an aux_command caller and effects
/// (executed on this member, whatever its role).
struct aux_output {
  shared_bytes reply;  ///< the encoded reply (empty: none)
  effects effs;        ///< effects executed on this member
};

/// The type-erased state machine the core runs (see the file comment); users write a
/// typed machine and wrap it with make_machine instead of deriving from this.
class machine {
 public:
  virtual ~machine() = default;

  /// Resets to the initial state (called at start when there is no snapshot).
  virtual void init() = 0;
  /// Applies one committed command. May throw; what follows is the server's
  /// apply_failure_policy (ra/config.hpp): `reject` (default) skips the command (the
  /// caller gets error_code::apply_failed, every member does the same since apply is
  /// deterministic), `stop` stops the server (Ra's behaviour). For `reject` to be sound a
  /// throwing apply must leave the state exactly as it was: throw before mutating. A
  /// machine that cannot (it gave its state away) throws machine_state_lost, which stops
  /// the server under either policy.
  virtual apply_output apply(const command_meta& meta, const shared_bytes& command) = 0;
  /// Whether `command` is a command of this machine (it decodes as one). The leader
  /// refuses one that is not (error_code::bad_command) before appending it, so a command
  /// of the wrong type never reaches the log. Default: every command is accepted.
  virtual bool accepts(const shared_bytes& /*command*/) const { return true; }
  /// Applies a built-in command (builtin_commands.hpp: down, nodeup/nodedown, timeout,
  /// machine_version). Same rules as apply. Default: ignored.
  virtual apply_output apply_builtin(const command_meta&, const builtin_command&) { return {}; }
  /// Ra's aux handler: per-member state that is not replicated (metrics, caches ...),
  /// driven by aux effects and the aux_command API. `cmd` is encoded by the machine.
  virtual aux_output handle_aux(role, const shared_bytes& /*cmd*/) { return {}; }
  /// Called on every local role change.
  virtual effects state_enter(role) { return {}; }
  /// Called periodically on the leader if wants_tick().
  virtual effects tick(int64_t /*now_ms*/) { return {}; }
  /// Whether tick() should be called (default: no).
  virtual bool wants_tick() const { return false; }
  /// The machine's own summary of its state, shown as `machine` in member_overview
  /// (Ra's overview/1). Default: an empty object.
  virtual nlohmann::json overview() const { return nlohmann::json::object(); }
  /// Ra's {M, F, A} query: runs the query registered as `name` (ra/named_query.hpp) with
  /// its encoded argument over the current state and returns the encoded result, so the
  /// caller may be on any node. Throws (std::invalid_argument, e.g. ra::bad_query) for an
  /// unknown name or an argument that does not decode: the caller gets invalid_argument.
  virtual shared_bytes named_query(std::string_view name, const shared_bytes& /*arg*/) const {
    throw std::invalid_argument("no query named " + std::string(name));
  }
  /// The names named_query knows (for tools such as ra-ctl).
  virtual std::vector<std::string> query_names() const { return {}; }
  /// The highest machine version this code implements. apply sees the cluster's
  /// effective version in meta.machine_version (Ra's which_module): the leader raises it
  /// only once every member runs code that supports the new one.
  virtual uint32_t version() const { return 0; }

  /// Serialized current state (for snapshots); restore() is its inverse.
  virtual shared_bytes snapshot() const = 0;
  /// Replaces the state with one serialized by snapshot(); false if the bytes do not
  /// decode (the state is then unchanged).
  virtual bool restore(const shared_bytes& state) = 0;

  /// Pointer to the typed state, for queries through typed_machine helpers.
  virtual const void* state_ptr() const = 0;
  /// The type of the state state_ptr() points to (checked before casting it).
  virtual const std::type_info& state_typeid() const = 0;
};

/// A query over the machine state, evaluated inside the server. Results stay in process.
using query_fn = std::function<std::any(const machine&)>;

/// Builds a machine from the opaque arguments stored in the server's config (the
/// machine registry of ra::system, system_config::machines).
using machine_factory = std::function<std::unique_ptr<machine>(const std::string& args)>;

}  // namespace ra
