#pragma once
// Makes ra::shared_bytes, and with it ra::log_entry and std::vector<ra::log_entry>,
// a CAF 0.17 message type: serialized as its byte vector, loaded into a temporary
// vector that a load callback then moves into a fresh shared_bytes (shared_bytes is
// immutable, so it cannot be filled in place).
//
// Include this wherever log entries are sent between actors. It must be the only
// inspect overload for shared_bytes in the program.

#include <vector>

#include <caf/error.hpp>
#include <caf/meta/load_callback.hpp>
#include <caf/none.hpp>

#include "libra/bytes.hpp"
#include "libra/log_entry.hpp"

namespace ra {

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, shared_bytes& x) {
  if constexpr (Inspector::writes_state) {
    std::vector<char> loaded;
    return f(loaded, caf::meta::load_callback([&]() -> caf::error {
               x = shared_bytes{std::move(loaded)};
               return caf::none;
             }));
  } else {
    // Saving and printing only read the bytes; CAF 0.17's inspect takes T& regardless.
    return f(const_cast<std::vector<char>&>(x.vec()));
  }
}

}  // namespace ra
