#pragma once
// Behaviour machines: state machines written "the CAF way", as a set of typed handlers
// (one per command type) over a state, instead of one apply over a command struct.
//
// 1. The protocol: the command types clients may send, each with a CAF `inspect` and a
//    `reply_type`. A command's wire tag is its position in this list, so the list is a
//    wire contract: append new commands at the end, never reorder or remove one.
//
//      struct put { std::string key, value; using reply_type = bool; };
//      struct get { std::string key; using reply_type = std::string; };
//      using store_protocol = ra::protocol<put, get>;
//
// 2. A behaviour: one handler per command (a lambda taking the command meta, the command
//    and the state to modify), returning handled<Reply> (reply + effects), a bare Reply,
//    or ra::effects (empty reply). Optional handlers in the same list:
//      (const command_meta&, const down_command&, State&)   built-in commands (any of
//          builtin_commands.hpp); without one a built-in command is ignored
//      (const command_meta&, const machine_version_command&, State&)   the upgrade
//          handler: migrates the state when this behaviour's version becomes effective
//      (role, const State&) -> effects                       state_enter
//      (const State&) -> nlohmann::json                      overview
//    Handlers are told apart by their parameter types, so they must be concrete (no
//    `auto` parameters). The command types come from the handlers' own signatures.
//
//      ra::behaviour<store_protocol, store_state> v0{
//        [](const ra::command_meta&, const put& c, store_state& s) -> ra::handled<bool> {
//          return {s.map.insert_or_assign(c.key, c.value).second};
//        },
//        [](const ra::command_meta&, const get& c, store_state& s) { return s.map[c.key]; },
//      };
//      auto m = ra::make_behaviour_machine<store_protocol>(store_state{}, {v0});
//
// 3. Versions (Ra's version/which_module): pass one behaviour per machine version, index =
//    version; version() is the highest. apply uses meta.machine_version to pick the
//    behaviour; machine_version_command{from, to} goes to the upgrade handler of version
//    `to` (only that one, as in Ra: it must migrate from any older version). All versions
//    share the State type; v1 usually starts as `v0.with(changed handlers...)`.
//
// 4. Clients: `ra::encode_command<store_protocol>(put{"k", "v"})` gives the bytes to submit;
//    the reply of that command decodes with `ra::decode_reply<put>(reply_bytes)` (the client
//    knows what it sent, so it knows the reply type).
//
// A command whose tag is unknown is refused by the leader before it is appended
// (machine::accepts). One whose body does not decode, or that the effective version has
// no handler for, throws bad_command before any handler runs: skipped under
// apply_failure_policy::reject (the default), the server stops under stop. Handlers
// mutate the state in place: one that throws must do so before it mutates. The state snapshot also records the effective version.

#include <array>
#include <cstdint>
#include <functional>
#include <optional>
#include <stdexcept>
#include <string>
#include <tuple>
#include <type_traits>
#include <utility>
#include <variant>
#include <vector>

#include <caf/binary_deserializer.hpp>
#include <caf/binary_serializer.hpp>

#include "ra/builtin_commands.hpp"
#include "ra/codec.hpp"
#include "ra/machine.hpp"
#include "ra/named_query.hpp"
#include "ra/typed_machine.hpp"

namespace ra {

// -- std::optional fields -------------------------------------------------------------------

/// CAF 0.17 cannot serialize std::optional. Wrap such a field in an inspect function:
///   auto expected = ra::optional_field{x.expected};  // a named local: loading needs lvalues
///   return f(x.key, expected, x.value);
template <class T>
struct optional_field {
  std::optional<T>& value;  ///< the wrapped field
};

namespace detail {
template <class T>
struct optional_payload {
  bool& present;
  T& storage;
  template <class Inspector>
  friend typename Inspector::result_type inspect(Inspector& f, optional_payload& x) {
    return x.present ? f(x.storage) : f();
  }
};
}  // namespace detail

template <class Inspector, class T>
typename Inspector::result_type inspect(Inspector& f, optional_field<T>& x) {
  if constexpr (Inspector::reads_state) {
    bool present = x.value.has_value();
    T absent{};
    detail::optional_payload<T> payload{present, present ? *x.value : absent};
    return f(present, payload);
  } else {
    bool present = false;
    T storage{};
    detail::optional_payload<T> payload{present, storage};
    auto store = [&] { x.value = present ? std::optional<T>{std::move(storage)} : std::nullopt; };
    if constexpr (std::is_void_v<typename Inspector::result_type>) {
      f(present, payload);
      store();
    } else {
      auto result = f(present, payload);
      store();
      return result;
    }
  }
}

// -- protocol: the wire contract ------------------------------------------------------------

/// The command types of a behaviour machine, in wire-tag order (see the file comment:
/// append only).
template <class... Commands>
struct protocol {
  static constexpr size_t size = sizeof...(Commands);  ///< the number of command types
  using commands = std::tuple<Commands...>;            ///< the command types, in order

  /// Whether Cmd is one of the command types.
  template <class Cmd>
  static constexpr bool contains = (std::is_same_v<Cmd, Commands> || ...);

  /// The wire tag of Cmd: its position in the list.
  template <class Cmd>
    requires contains<Cmd>
  static constexpr uint32_t tag_of() {
    uint32_t tag = 0;
    bool found = false;
    ((found = found || std::is_same_v<Cmd, Commands>, tag += found ? 0 : 1), ...);
    return tag;
  }
};

/// The bytes a client submits for `command`: its tag, then its CAF encoding.
template <class Protocol, class Cmd>
  requires(Protocol::template contains<Cmd>)
shared_bytes encode_command(const Cmd& command) {
  std::vector<char> buf;
  caf::binary_serializer sink{nullptr, buf};
  uint32_t tag = Protocol::template tag_of<Cmd>();
  if (auto err = sink(tag, const_cast<Cmd&>(command)))  // CAF 0.17's inspect takes T&
    throw std::runtime_error("ra::encode_command: command does not serialize");
  return shared_bytes{std::move(buf)};
}

/// The reply to a command of type Cmd; empty if the bytes are not a Cmd::reply_type.
template <class Cmd>
std::optional<typename Cmd::reply_type> decode_reply(const shared_bytes& reply) {
  return decode<typename Cmd::reply_type>(reply);
}

/// What a handler returns: the reply (encoded for the caller) and effects.
template <class Reply>
struct handled {
  Reply reply;        ///< the reply to the caller
  effects effs = {};  ///< effects to execute after the entry is applied
};

/// \cond internal (Doxygen misreads these self-referring templates as recursive)
namespace detail {

template <class F>
struct callable_traits : callable_traits<decltype(&F::operator())> {};
template <class C, class R, class... Args>
struct callable_traits<R (C::*)(Args...) const> {
  using result = R;
  using args = std::tuple<std::decay_t<Args>...>;
};
template <class C, class R, class... Args>
struct callable_traits<R (C::*)(Args...)> : callable_traits<R (C::*)(Args...) const> {};
template <class R, class... Args>
struct callable_traits<R (*)(Args...)> {
  using result = R;
  using args = std::tuple<std::decay_t<Args>...>;
};

template <class F>
using handler_args = typename callable_traits<std::decay_t<F>>::args;
template <class F>
using handler_result = typename callable_traits<std::decay_t<F>>::result;

template <class T>
struct is_handled : std::false_type {};
template <class R>
struct is_handled<handled<R>> : std::true_type {};

template <class T, class Variant>
struct variant_index;
template <class T, class... Ts>
struct variant_index<T, std::variant<Ts...>> {
  static constexpr bool found = (std::is_same_v<T, Ts> || ...);
  static constexpr size_t value = [] {
    size_t i = 0;
    bool seen = false;
    ((seen = seen || std::is_same_v<T, Ts>, i += seen ? 0 : 1), ...);
    return i;
  }();
};

template <class T>
constexpr bool is_builtin = variant_index<T, builtin_command>::found;

/// A handler's result as reply bytes + effects.
template <class Cmd, class R>
apply_output to_output(R&& result) {
  using result_type = std::decay_t<R>;
  if constexpr (std::is_same_v<result_type, effects>) {
    return {shared_bytes{}, std::move(result)};
  } else if constexpr (is_handled<result_type>::value) {
    if constexpr (requires { typename Cmd::reply_type; })
      static_assert(std::is_same_v<decltype(result.reply), typename Cmd::reply_type>,
                    "handler's reply type differs from the command's reply_type");
    return {encode(result.reply), std::move(result.effs)};
  } else {
    if constexpr (requires { typename Cmd::reply_type; })
      static_assert(std::is_same_v<result_type, typename Cmd::reply_type>,
                    "handler's reply type differs from the command's reply_type");
    return {encode(result), {}};
  }
}

}  // namespace detail
/// \endcond

// -- behaviour: one version's handler set ---------------------------------------------------

/// One machine version's handlers over State, for the commands of Protocol (see the file
/// comment for the handler forms).
template <class Protocol, class State>
class behaviour {
 public:
  /// Decodes the command body from `src` and runs the handler.
  using command_handler = std::function<apply_output(const command_meta&, caf::binary_deserializer&, State&)>;
  /// Runs the handler of a built-in command.
  using builtin_handler = std::function<apply_output(const command_meta&, const builtin_command&, State&)>;

  /// A behaviour from its handlers (any of the forms of the file comment; at most one
  /// per command type).
  template <class... Handlers>
  explicit behaviour(Handlers&&... handlers) {
    (add(std::forward<Handlers>(handlers), /*replace=*/false), ...);
  }

  /// A copy with `handlers` added, replacing those for the same command (next versions).
  template <class... Handlers>
  behaviour with(Handlers&&... handlers) const {
    behaviour copy = *this;
    (copy.add(std::forward<Handlers>(handlers), /*replace=*/true), ...);
    return copy;
  }

  /// Runs the handler for `tag` on the rest of `src`. Throws bad_command if there is none.
  apply_output apply(uint32_t tag, const command_meta& meta, caf::binary_deserializer& src, State& state) const {
    if (tag >= Protocol::size)
      throw bad_command("unknown command tag " + std::to_string(tag) + " at index " +
                        std::to_string(meta.index.value));
    if (!commands_[tag])
      throw bad_command("no handler for command tag " + std::to_string(tag) + " in machine version " +
                        std::to_string(meta.machine_version));
    return commands_[tag](meta, src, state);
  }
  /// Runs the handler for a built-in command; ignored (no reply, no effects) without one.
  apply_output apply_builtin(const command_meta& meta, const builtin_command& command, State& state) const {
    auto& handler = builtins_[command.index()];
    return handler ? handler(meta, command, state) : apply_output{};
  }
  /// Runs the state_enter handler; no effects without one.
  effects state_enter(role r, const State& state) const { return state_enter_ ? state_enter_(r, state) : effects{}; }
  /// Runs the overview handler; an empty object without one.
  nlohmann::json overview(const State& state) const {
    return overview_ ? overview_(state) : nlohmann::json::object();
  }

 private:
  template <class F>
  void add(F&& handler, bool replace) {
    using args = detail::handler_args<F>;
    if constexpr (std::tuple_size_v<args> == 3) {
      using cmd = std::tuple_element_t<1, args>;
      static_assert(std::is_same_v<std::tuple_element_t<0, args>, command_meta> &&
                      std::is_same_v<std::tuple_element_t<2, args>, State>,
                    "a command handler takes (const command_meta&, const Command&, State&)");
      static_assert(Protocol::template contains<cmd> || detail::is_builtin<cmd>,
                    "the handled command is neither in the protocol nor a built-in command");
      if constexpr (detail::is_builtin<cmd>) {
        set(builtins_[detail::variant_index<cmd, builtin_command>::value], replace,
            [h = std::forward<F>(handler)](const command_meta& meta, const builtin_command& c, State& s) {
              return detail::to_output<cmd>(h(meta, std::get<cmd>(c), s));
            });
      } else {
        set(commands_[Protocol::template tag_of<cmd>()], replace,
            [h = std::forward<F>(handler)](const command_meta& meta, caf::binary_deserializer& src, State& s) {
              cmd command{};
              if (src(command) || src.remaining() != 0)
                throw bad_command("command with tag " + std::to_string(Protocol::template tag_of<cmd>()) +
                                  " at index " + std::to_string(meta.index.value) + " does not decode");
              return detail::to_output<cmd>(h(meta, command, s));
            });
      }
    } else if constexpr (std::tuple_size_v<args> == 2) {
      static_assert(std::is_same_v<args, std::tuple<role, State>>,
                    "a state_enter handler takes (role, const State&) and returns effects");
      set(state_enter_, replace, std::function<effects(role, const State&)>{std::forward<F>(handler)});
    } else {
      static_assert(std::is_same_v<args, std::tuple<State>>,
                    "handlers take (meta, command, State&), (role, const State&) or (const State&)");
      set(overview_, replace, std::function<nlohmann::json(const State&)>{std::forward<F>(handler)});
    }
  }

  template <class Slot, class Handler>
  static void set(Slot& slot, bool replace, Handler&& handler) {
    // Two handlers for one command in one list is a mistake, not an override.
    if (slot && !replace)
      throw std::logic_error("ra::behaviour: two handlers for the same command");
    slot = std::forward<Handler>(handler);
  }

  std::array<command_handler, Protocol::size> commands_{};
  std::array<builtin_handler, std::variant_size_v<builtin_command>> builtins_{};
  std::function<effects(role, const State&)> state_enter_;
  std::function<nlohmann::json(const State&)> overview_;
};

// -- the machine ----------------------------------------------------------------------------

/// The machine the core runs for a behaviour machine: one behaviour per machine version,
/// the one of the cluster's effective version applies each command. Built by
/// make_behaviour_machine.
template <class Protocol, class State>
class behaviour_machine final : public machine {
 public:
  /// `versions[v]` handles commands while the cluster's effective version is v; `queries`
  /// are the named queries (ra/named_query.hpp), the same in every version.
  behaviour_machine(State initial, std::vector<behaviour<Protocol, State>> versions, query_table<State> queries = {})
    : initial_(std::move(initial)), versions_(std::move(versions)), queries_(std::move(queries)), state_(initial_) {
    if (versions_.empty())
      throw std::invalid_argument("ra::behaviour_machine needs at least one behaviour");
  }

  void init() override {
    state_ = initial_;
    effective_version_ = 0;
  }

  apply_output apply(const command_meta& meta, const shared_bytes& command) override {
    auto& b = behaviour_for(meta.machine_version);
    effective_version_ = meta.machine_version;
    caf::binary_deserializer src{nullptr, command.data(), command.size()};
    uint32_t tag = 0;
    if (src(tag))
      throw bad_command("command of " + std::to_string(command.size()) + " bytes at index " +
                        std::to_string(meta.index.value) + " has no tag");
    return b.apply(tag, meta, src, state_);
  }

  /// The tag must name a command of the protocol (the leader refuses others before they
  /// are appended). A body that does not decode still throws bad_command in apply, before
  /// any handler runs, so apply_failure_policy::reject skips it with the state intact.
  bool accepts(const shared_bytes& command) const override {
    caf::binary_deserializer src{nullptr, command.data(), command.size()};
    uint32_t tag = 0;
    return !src(tag) && tag < Protocol::size;
  }

  apply_output apply_builtin(const command_meta& meta, const builtin_command& command) override {
    // The upgrade goes to the new version's handler whatever the meta says (Ra applies
    // {machine_version, Old, New} through the new module).
    auto* upgrade = std::get_if<machine_version_command>(&command);
    uint32_t version = upgrade ? upgrade->to : meta.machine_version;
    auto& b = behaviour_for(version);
    effective_version_ = version;
    return b.apply_builtin(meta, command, state_);
  }

  effects state_enter(role r) override { return behaviour_for(effective_version_).state_enter(r, state_); }
  nlohmann::json overview() const override { return behaviour_for(effective_version_).overview(state_); }
  shared_bytes named_query(std::string_view name, const shared_bytes& arg) const override {
    return queries_.run(name, state_, arg);
  }
  std::vector<std::string> query_names() const override { return queries_.names(); }
  uint32_t version() const override { return static_cast<uint32_t>(versions_.size() - 1); }

  shared_bytes snapshot() const override {
    std::vector<char> buf;
    caf::binary_serializer sink{nullptr, buf};
    uint32_t version = effective_version_;
    if (auto err = sink(version, const_cast<State&>(state_)))
      throw std::runtime_error("ra::behaviour_machine: state does not serialize");
    return shared_bytes{std::move(buf)};
  }
  bool restore(const shared_bytes& bytes) override {
    caf::binary_deserializer src{nullptr, bytes.data(), bytes.size()};
    uint32_t version = 0;
    State state{};
    if (src(version, state) || src.remaining() != 0 || version >= versions_.size())
      return false;
    effective_version_ = version;
    state_ = std::move(state);
    return true;
  }

  const void* state_ptr() const override { return &state_; }
  const std::type_info& state_typeid() const override { return typeid(State); }

  /// The current state.
  const State& state() const { return state_; }
  /// The version of the last applied entry (or of the restored snapshot).
  uint32_t effective_version() const { return effective_version_; }

 private:
  const behaviour<Protocol, State>& behaviour_for(uint32_t version) const {
    // The leader raises the version only when every member supports it, so this means
    // the cluster runs code older than its log: stop rather than guess.
    if (version >= versions_.size())
      throw std::runtime_error("machine version " + std::to_string(version) + " is newer than this code (" +
                               std::to_string(versions_.size() - 1) + ")");
    return versions_[version];
  }

  State initial_;
  std::vector<behaviour<Protocol, State>> versions_;
  query_table<State> queries_;
  State state_;
  uint32_t effective_version_ = 0;
};

/// A behaviour machine starting from `initial`: `versions[v]` handles commands while the
/// cluster's effective version is v; `queries` are its named queries (ra/named_query.hpp).
/// Throws std::invalid_argument without any version.
template <class Protocol, class State>
std::unique_ptr<machine> make_behaviour_machine(State initial, std::vector<behaviour<Protocol, State>> versions,
                                                query_table<State> queries = {}) {
  return std::make_unique<behaviour_machine<Protocol, State>>(std::move(initial), std::move(versions),
                                                              std::move(queries));
}

}  // namespace ra
