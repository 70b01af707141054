#pragma once
// The machine the simulator's clients exercise: one register with write and
// compare-and-set (reads go through consistent queries). Every `release_every` applied
// commands it emits release_cursor, so snapshots are taken and shipped often.

#include <cstdint>
#include <optional>
#include <vector>

#include "ra/typed_machine.hpp"

namespace ra::sim {

enum class register_op : uint8_t { write = 0, cas = 1 };

struct register_command {
  register_op kind = register_op::write;
  int64_t value = 0;     ///< write: the value; cas: the new value
  int64_t expected = 0;  ///< cas only
};
template <class F>
typename F::result_type inspect(F& f, register_command& x) {
  return f(x.kind, x.value, x.expected);
}

struct register_state {
  bool set = false;  ///< the register starts unset (nil)
  int64_t value = 0;
  /// Commands applied so far: part of the replicated state so every member emits
  /// release_cursor at the same indexes, also after restoring a snapshot.
  uint64_t applied = 0;
  /// The last values written (newest last, at most `recent_kept`). Besides helping when
  /// reading a failing run, it makes snapshots span several chunks of the small
  /// snapshot_chunk_size the simulator configures.
  std::vector<int64_t> recent;
  static constexpr size_t recent_kept = 8;

  std::optional<int64_t> get() const { return set ? std::optional<int64_t>(value) : std::nullopt; }
  bool operator==(const register_state&) const = default;
};
template <class F>
typename F::result_type inspect(F& f, register_state& x) {
  return f(x.set, x.value, x.applied, x.recent);
}

struct register_reply {
  bool ok = false;   ///< write: always; cas: whether it swapped
  bool set = false;  ///< the register's value after the command
  int64_t value = 0;
};
template <class F>
typename F::result_type inspect(F& f, register_reply& x) {
  return f(x.ok, x.set, x.value);
}

struct register_machine {
  using command_type = register_command;
  using state_type = register_state;
  using reply_type = register_reply;

  uint64_t release_every = 0;  ///< 0: never release the cursor
  uint64_t checkpoint_every = 0;  ///< 0: never checkpoint

  state_type init() const { return {}; }

  ra::apply_result<state_type, reply_type> apply(const ra::command_meta& meta, const command_type& c,
                                                 state_type s) const {
    bool ok = true;
    if (c.kind == register_op::write) {
      s.set = true;
      s.value = c.value;
    } else if (s.set && s.value == c.expected) {
      s.value = c.value;
    } else {
      ok = false;
    }
    ++s.applied;
    if (ok) {
      s.recent.push_back(s.value);
      if (s.recent.size() > register_state::recent_kept)
        s.recent.erase(s.recent.begin());
    }
    ra::effects effs;
    if (checkpoint_every != 0 && s.applied % checkpoint_every == 0)
      effs.emplace_back(ra::checkpoint_effect{meta.index});
    if (release_every != 0 && s.applied % release_every == 0)
      effs.emplace_back(ra::release_cursor_effect{meta.index});
    register_reply reply{ok, s.set, s.value};
    return {s, reply, std::move(effs)};
  }
};

/// The query clients read with: the register's value (nil if never written).
inline ra::query_fn register_read_query() {
  return ra::make_query<register_state>([](const register_state& s) { return s.get(); });
}

}  // namespace ra::sim
