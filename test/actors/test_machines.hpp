#pragma once
// Machines of the runtime tests (real-threaded api_tests and coordinator_tests): one that
// exercises effects (timers, log reads, aux) and a versioned counter for upgrades.

#include <string>
#include <vector>

#include "ra/behaviour_machine.hpp"
#include "ra/effects.hpp"
#include "ra/typed_machine.hpp"

namespace ra::test {

/// A counter with aux state (commands seen by this member's aux handler), a timer effect
/// (command -1 arms timer "bump" for 30 ms; its timeout adds 100), a log effect
/// (command -2 reads entries 1..index and replies nothing, then appends their sum) and an
/// overview ({"value": state}).
struct effect_counter {
  using command_type = int64_t;
  using state_type = int64_t;
  using reply_type = int64_t;
  using aux_command_type = std::string;
  using aux_reply_type = std::string;
  using aux_state_type = std::vector<std::string>;

  state_type init() const { return 0; }
  aux_state_type init_aux() const { return {}; }
  apply_result<state_type, reply_type> apply(const command_meta& meta, const command_type& c, state_type s) const {
    if (c == -1) return {s, s, {effect::timer("bump", 30)}};
    if (c == -2) {
      std::vector<index_t> idx;
      for (uint64_t i = 1; i < meta.index.value; ++i) idx.push_back(index_t{i});
      return {s, s, {effect::read_log(idx, [](const std::vector<std::pair<index_t, shared_bytes>>& found) {
                       int64_t sum = 0;
                       for (auto& [i, bytes] : found) {
                         auto v = decode<int64_t>(bytes).value_or(0);
                         if (v > 0) sum += v;
                       }
                       return effects{effect::append(encode(int64_t{sum * 1000}))};
                     })}};
    }
    s += c;
    return {s, s};
  }
  apply_result<state_type, reply_type> apply_builtin(const command_meta&, const builtin_command& b, state_type s) const {
    if (auto* t = std::get_if<timeout_command>(&b); t && t->name == "bump") s += 100;
    return {s, s};
  }
  nlohmann::json overview(const state_type& s) const { return {{"value", s}}; }
  aux_result<aux_reply_type> handle_aux(role r, const aux_command_type& cmd, aux_state_type& aux,
                                        const state_type& s) const {
    aux.push_back(cmd);
    return {std::string(to_string(r)) + " " + std::to_string(aux.size()) + " " + std::to_string(s)};
  }
};

struct vcount_cmd {
  using reply_type = int64_t;
  int64_t n = 0;
};
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, vcount_cmd& x) {
  return f(x.n);
}
using vcount_protocol = protocol<vcount_cmd>;

/// Version 0 adds n; version 1 adds 10 * n and its upgrade handler doubles the state.
inline std::unique_ptr<machine> versioned_counter(bool with_v1) {
  behaviour<vcount_protocol, int64_t> v0{
    [](const command_meta&, const vcount_cmd& c, int64_t& s) -> int64_t { return s += c.n; },
  };
  if (!with_v1) return make_behaviour_machine<vcount_protocol>(int64_t{0}, {v0});
  auto v1 = v0.with([](const command_meta&, const vcount_cmd& c, int64_t& s) -> int64_t { return s += 10 * c.n; },
                    [](const command_meta&, const machine_version_command&, int64_t& s) -> effects {
                      s *= 2;
                      return {};
                    });
  return make_behaviour_machine<vcount_protocol>(int64_t{0}, {v0, v1});
}

/// A command asking the machine to answer a caller later (reply_to) and to run a
/// callback on the leader (mod_call).
struct notify_cmd {
  pid caller;
  int64_t n = 0;
};
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, notify_cmd& x) {
  return f(x.caller, x.n);
}

/// State: the sum of n. Each command answers `caller` with 2n through a reply_to effect
/// and calls `on_leader(n)` through a mod_call effect (leader only).
struct notifier {
  using command_type = notify_cmd;
  using state_type = int64_t;
  using reply_type = int64_t;
  std::function<void(int64_t)> on_leader;

  state_type init() const { return 0; }
  apply_result<state_type, reply_type> apply(const command_meta&, const command_type& c, state_type s) const {
    s += c.n;
    auto cb = on_leader;
    auto n = c.n;
    return {s, s, {effect::reply_to(c.caller, encode(int64_t{2 * c.n})), effect::mod_call([cb, n] { if (cb) cb(n); })}};
  }
};

}  // namespace ra::test
