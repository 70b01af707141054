#pragma once
// A counter: commands are increments, the reply is the new value. The smallest useful
// typed machine (used by ra-demo and the examples).

#include <cstdint>

#include "ra/typed_machine.hpp"

/// The built-in machines: counter, key-value store (kv), FIFO queue (fifo).
namespace ra::machines {

/// A counter machine: commands are increments, the reply is the new value.
struct counter {
  using command_type = int64_t;  ///< the increment
  using state_type = int64_t;    ///< the value
  using reply_type = int64_t;    ///< the value after the increment

  /// Starts at 0.
  state_type init() const { return 0; }
  /// Adds the increment.
  ra::apply_result<state_type, reply_type> apply(const ra::command_meta&, const command_type& inc,
                                                 state_type s) const {
    s += inc;
    return {s, s};
  }
  /// Named query (callable from any node): "value" () -> int64_t.
  void queries(ra::query_table<state_type>& t) const {
    t.add("value", [](const state_type& s) { return s; });
  }
};

}  // namespace ra::machines
