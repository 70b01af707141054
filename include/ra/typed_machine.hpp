#pragma once
// Typed machines: how users write state machines. A machine type M declares its command,
// state and reply types (each with a CAF-style `inspect`, so they can be logged and sent)
// and a pure apply function:
//
//   struct counter {
//     using command_type = int64_t; using state_type = int64_t; using reply_type = int64_t;
//     state_type init() const { return 0; }
//     ra::apply_result<state_type, reply_type>
//     apply(const ra::command_meta&, const command_type& c, state_type s) const {
//       s += c; return {s, s};
//     }
//   };
//   auto m = ra::make_machine<counter>();
//
// Optional members, used when present:
//   ra::effects state_enter(ra::role, const state_type&) const;
//   ra::effects tick(int64_t now_ms, const state_type&) const;
//   nlohmann::json overview(const state_type&) const;
//   uint32_t version() const;
//   void queries(ra::query_table<state_type>&) const;
//       (named queries, runnable from any node: ra/named_query.hpp)
//   static constexpr bool copy_state_before_apply = true;
//       (apply gets a copy of the state, so a throwing apply leaves the state as it was
//       and apply_failure_policy::reject can skip the command; states that are trivially
//       copyable always get a copy. Without it the state is moved into apply, and a throw
//       stops the server: machine_state_lost)
//   ra::apply_result<state_type, reply_type>
//     apply_builtin(const ra::command_meta&, const ra::builtin_command&, state_type) const;
//       (down / nodeup / nodedown / timeout / machine_version; without it they are ignored)
//
// Ra's aux machine (per-member state that is neither replicated nor snapshotted), used
// when M declares all of these:
//   using aux_command_type = ...; using aux_reply_type = ...; using aux_state_type = ...;
//   aux_state_type init_aux() const;
//   ra::aux_result<aux_reply_type> handle_aux(ra::role, const aux_command_type&,
//                                             aux_state_type&, const state_type&) const;
// The aux state lives in the typed_machine and starts from init_aux() when the machine is
// constructed (not on init(): a server restored from a snapshot still gets fresh aux
// state). A client encodes the aux command with ra::encode; a command that does not decode
// throws bad_command.
//
// See machine.hpp for the determinism rules apply() must follow.

#include <functional>
#include <memory>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <utility>

#include "ra/codec.hpp"
#include "ra/machine.hpp"
#include "ra/named_query.hpp"

namespace ra {

/// What a typed machine's apply returns: the new state, the reply to the command's
/// caller and the effects to execute after the entry is applied.
template <class State, class Reply>
struct apply_result {
  State state;        ///< the state after the command
  Reply reply;        ///< the reply to the caller
  effects effs = {};  ///< effects (ra/effects.hpp)
};

/// Thrown inside apply when a command does not decode: the server stops with this error.
struct bad_command : std::runtime_error {
  using std::runtime_error::runtime_error;
};

/// What a typed aux handler returns: the reply to the aux caller and effects.
template <class Reply>
struct aux_result {
  Reply reply;        ///< the reply to the aux_command caller
  effects effs = {};  ///< effects, executed on this member
};

namespace detail {

/// M asks for a copy of the state per apply (`static constexpr bool
/// copy_state_before_apply = true;`) so that a throwing apply is rejected, not fatal.
template <class M>
concept copies_state_before_apply = requires { requires M::copy_state_before_apply; };

template <class M>
concept has_aux = requires { typename M::aux_command_type; typename M::aux_reply_type; typename M::aux_state_type; };

/// The aux state of M, or an empty placeholder for machines without aux.
template <class M>
struct aux_state_of { struct type {}; };
template <has_aux M>
struct aux_state_of<M> { using type = typename M::aux_state_type; };

}  // namespace detail

/// The machine the core runs for a typed machine M (see the file comment): decodes
/// commands, calls M, encodes replies and keeps the state. Built by make_machine<M>().
template <class M>
class typed_machine final : public machine {
 public:
  using command_type = typename M::command_type;  ///< M's command type
  using state_type = typename M::state_type;      ///< M's state type
  using reply_type = typename M::reply_type;      ///< M's reply type

  /// Constructs M from `args`, its state from M::init() and its aux state from
  /// M::init_aux(), and registers M's named queries.
  template <class... Args>
  explicit typed_machine(Args&&... args)
    : m_(std::forward<Args>(args)...), state_(m_.init()), aux_state_(initial_aux_state()) {
    if constexpr (requires(const M& m, query_table<state_type>& t) { m.queries(t); }) m_.queries(queries_);
  }

  void init() override { state_ = m_.init(); }

  apply_output apply(const command_meta& meta, const shared_bytes& command) override {
    auto cmd = decode<command_type>(command);
    if (!cmd)  // before the state is touched: a rejected command leaves it as it was
      throw bad_command("command of " + std::to_string(command.size()) + " bytes at index " +
                        std::to_string(meta.index.value) + " does not decode");
    if constexpr (std::is_trivially_copyable_v<state_type> || detail::copies_state_before_apply<M>) {
      // A copy (cheap here, or asked for by M) keeps state_ intact if apply throws.
      auto res = m_.apply(meta, *cmd, state_);
      state_ = std::move(res.state);
      return {encode(res.reply), std::move(res.effs)};
    } else {
      // The state is moved into apply (copying a large state per command is too dear): if
      // apply throws, it is gone, so the server must stop (machine_state_lost).
      try {
        auto res = m_.apply(meta, *cmd, std::move(state_));
        state_ = std::move(res.state);
        return {encode(res.reply), std::move(res.effs)};
      } catch (const std::exception& ex) {
        throw machine_state_lost(ex.what());
      } catch (...) {
        throw machine_state_lost("apply threw a non-standard exception");
      }
    }
  }

  bool accepts(const shared_bytes& command) const override { return decode<command_type>(command).has_value(); }

  apply_output apply_builtin(const command_meta& meta, const builtin_command& command) override {
    if constexpr (requires(const M& m, state_type s) { m.apply_builtin(meta, command, std::move(s)); }) {
      auto res = m_.apply_builtin(meta, command, std::move(state_));
      state_ = std::move(res.state);
      return {encode(res.reply), std::move(res.effs)};
    } else {
      return {};
    }
  }

  aux_output handle_aux(role r, const shared_bytes& command) override {
    if constexpr (detail::has_aux<M>) {
      auto cmd = decode<typename M::aux_command_type>(command);
      if (!cmd)
        throw bad_command("aux command of " + std::to_string(command.size()) + " bytes does not decode");
      auto res = m_.handle_aux(r, *cmd, aux_state_, state_);
      return {encode(res.reply), std::move(res.effs)};
    } else {
      return {};
    }
  }

  effects state_enter(role r) override {
    if constexpr (requires(const M& m, const state_type& s) { m.state_enter(r, s); })
      return m_.state_enter(r, state_);
    else
      return {};
  }
  effects tick(int64_t now_ms) override {
    if constexpr (requires(const M& m, const state_type& s) { m.tick(now_ms, s); })
      return m_.tick(now_ms, state_);
    else
      return {};
  }
  bool wants_tick() const override {
    return requires(const M& m, const state_type& s) { m.tick(int64_t{0}, s); };
  }
  nlohmann::json overview() const override {
    if constexpr (requires(const M& m, const state_type& s) { m.overview(s); })
      return m_.overview(state_);
    else
      return nlohmann::json::object();
  }
  shared_bytes named_query(std::string_view name, const shared_bytes& arg) const override {
    return queries_.run(name, state_, arg);
  }
  std::vector<std::string> query_names() const override { return queries_.names(); }
  uint32_t version() const override {
    if constexpr (requires(const M& m) { m.version(); })
      return m_.version();
    else
      return 0;
  }

  shared_bytes snapshot() const override { return encode(state_); }
  bool restore(const shared_bytes& bytes) override {
    auto s = decode<state_type>(bytes);
    if (!s)
      return false;
    state_ = std::move(*s);
    return true;
  }

  const void* state_ptr() const override { return &state_; }
  const std::type_info& state_typeid() const override { return typeid(state_type); }

  /// The current state.
  const state_type& state() const { return state_; }
  /// This member's aux state (machines with aux only).
  const auto& aux_state() const
    requires detail::has_aux<M>
  {
    return aux_state_;
  }

 private:
  using aux_state_type = typename detail::aux_state_of<M>::type;

  aux_state_type initial_aux_state() const {
    if constexpr (requires(const M& m) { m.init_aux(); })
      return m_.init_aux();
    else
      return aux_state_type{};
  }

  M m_;
  state_type state_;
  [[no_unique_address]] aux_state_type aux_state_;
  query_table<state_type> queries_;
};

/// The machine for a typed machine M (a typed_machine<M>), M built from `args`.
template <class M, class... Args>
std::unique_ptr<machine> make_machine(Args&&... args) {
  return std::make_unique<typed_machine<M>>(std::forward<Args>(args)...);
}

/// The state of a machine, checked against the expected type.
template <class State>
const State& machine_state(const machine& m) {
  if (m.state_typeid() != typeid(State))
    throw std::bad_cast();
  return *static_cast<const State*>(m.state_ptr());
}

/// A query over a machine whose state type is State: f(const State&) -> any value.
template <class State, class F>
query_fn make_query(F f) {
  return [f = std::move(f)](const machine& m) -> std::any { return std::any(f(machine_state<State>(m))); };
}

/// Ra's {simple, Fun, Init}: a machine from a function (command, state) -> new state and
/// an initial state. The reply is the new state.
template <class Command, class State>
struct simple {
  using command_type = Command;  ///< the commands fn takes
  using state_type = State;      ///< the state fn computes
  using reply_type = State;      ///< the reply: the new state
  std::function<State(const Command&, State)> fn;  ///< (command, state) -> new state
  State initial;                                   ///< the initial state

  /// The initial state.
  State init() const { return initial; }
  /// Applies fn; the reply is the new state.
  apply_result<State, State> apply(const command_meta&, const Command& c, State s) const {
    State next = fn(c, std::move(s));
    return {next, next};
  }
};

/// A machine from a function (command, state) -> new state and an initial state (simple).
template <class Command, class State>
std::unique_ptr<machine> make_simple_machine(std::function<State(const Command&, State)> fn,
                                             State initial) {
  return make_machine<simple<Command, State>>(simple<Command, State>{std::move(fn), std::move(initial)});
}

}  // namespace ra
