#pragma once
// Linearizability checker for a single register (Wing & Gong search with Lowe's
// memoisation of (linearized set, state) pairs), handling unknown-outcome (:info) ops.
// Only canonical linearizations are searched (each unknown op directly followed by an op
// that observes its value), which keeps the verdict exact and keeps many concurrent
// unknown ops from making the search exponential (see checker.cpp).

#include <cstddef>
#include <cstdint>

#include "lincheck/history.hpp"

namespace ra::lincheck {

enum class verdict : uint8_t { linearizable, not_linearizable, timeout };

const char* to_string(verdict v);

struct check_options {
  double timeout_seconds = 60.0;  ///< give up (verdict::timeout) after this long
  /// Memory for remembering explored (linearized set, state) pairs. When it is spent the
  /// search goes on without remembering more: slower, never wrong.
  std::size_t memo_budget_bytes = std::size_t{1} << 30;
};

/// Checks `h` against a register that starts unset (nil). Throws std::invalid_argument if
/// `h` is not a history (a completion without its invoke, a second invoke while one is
/// pending on the same process, a completion of another operation, a write without value).
verdict check_register(const history& h, const check_options& opts = {});

}  // namespace ra::lincheck
