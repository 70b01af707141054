#pragma once
// The wire format of ra's public value types: the CAF 0.17 `inspect` overloads of server
// ids, pids, bytes, members, cluster configs, log entries, command errors and overviews.
// Public because the machine codec (ra/codec.hpp) uses them, so machine commands and state
// may hold these types. This is the public half of the wire module: the overloads of the
// peer RPCs and the core's internal types are in wire/inspect.hpp, which includes this
// one. There is exactly one overload per type in the program (test/wire/single_home.sh).
// The types know nothing of CAF; the overloads are in namespace ra, so CAF finds them by ADL.

#include <algorithm>
#include <cstdint>
#include <type_traits>
#include <vector>

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/binary_deserializer.hpp>
#include <caf/deserializer.hpp>
#include <caf/error.hpp>
#include <caf/execution_unit.hpp>
#include <caf/sec.hpp>
#include <caf/meta/load_callback.hpp>
#include <caf/none.hpp>

#include "ra/builtin_commands.hpp"
#include "ra/bytes.hpp"
#include "ra/cluster.hpp"
#include "ra/log_entry.hpp"
#include "ra/overview.hpp"
#include "ra/requests.hpp"
#include "ra/types.hpp"

namespace ra {

// -- vocabulary ---------------------------------------------------------------------------

template <class Inspector, class Tag>
typename Inspector::result_type inspect(Inspector& f, strong_u64<Tag>& x) {
  return f(x.value);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, server_id& x) {
  return f(x.name, x.node);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, pid& x) {
  return f(x.node, x.id);
}

namespace wire_detail {

/// The default bound on one byte field read by a deserializer whose actor system sets
/// none (system_config::max_wire_field_bytes sets "ra.max-wire-field-bytes").
inline constexpr int64_t default_max_wire_field_bytes = (64ll << 20) + (1ll << 20);

/// Loads a byte sequence like CAF's own format (varbyte length, then the bytes), but
/// checks the length before allocating (review F3): CAF 0.17 resizes the vector to the
/// length read from the wire (up to 4 GiB, zero-filled) and only then finds out that
/// the bytes are not there. Refused: a length above the actor system's
/// "ra.max-wire-field-bytes" (when the deserializer has an actor system), and a length
/// beyond the bytes left in a binary_deserializer's buffer. Other deserializers read in
/// chunks of at most 1 MiB, so a lie costs at most one chunk.
template <class Deserializer>
caf::error load_bounded_bytes(Deserializer& f, std::vector<char>& out) {
  size_t n = 0;
  if (auto err = f.begin_sequence(n)) return err;
  if (auto* ctx = f.context()) {
    auto limit = caf::get_or(ctx->system().config(), "ra.max-wire-field-bytes", default_max_wire_field_bytes);
    if (limit >= 0 && n > static_cast<uint64_t>(limit)) return caf::make_error(caf::sec::invalid_argument);
  }
  if (auto* bd = dynamic_cast<caf::binary_deserializer*>(static_cast<caf::deserializer*>(&f))) {
    if (n > bd->remaining()) return caf::make_error(caf::sec::end_of_stream);
    out.resize(n);
    if (n > 0)
      if (auto err = f.apply_raw(n, out.data())) return err;
  } else {
    constexpr size_t chunk = size_t{1} << 20;
    out.clear();
    while (out.size() < n) {
      auto k = std::min(chunk, n - out.size());
      auto at = out.size();
      out.resize(at + k);
      if (auto err = f.apply_raw(k, out.data() + at)) return err;
    }
  }
  return f.end_sequence();
}

}  // namespace wire_detail

/// shared_bytes is serialized as its byte vector. A deserializer loads it with
/// wire_detail::load_bounded_bytes (bounded before allocating) into a temporary vector
/// that becomes a fresh shared_bytes (shared_bytes is immutable, so it cannot be filled
/// in place).
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, shared_bytes& x) {
  if constexpr (Inspector::writes_state && std::is_base_of_v<caf::deserializer, Inspector>) {
    std::vector<char> loaded;
    if (auto err = wire_detail::load_bounded_bytes(f, loaded)) return err;
    x = shared_bytes{std::move(loaded)};
    return caf::none;
  } else if constexpr (Inspector::writes_state) {
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

template <class F>
typename F::result_type inspect(F& f, member& x) {
  return f(x.id, x.kind, x.promote_at);
}

/// cluster_config keeps its members private: saved as the member vector, loaded into a
/// temporary vector and rebuilt by a load callback.
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, cluster_config& x) {
  if constexpr (Inspector::writes_state) {
    std::vector<member> loaded;
    return f(loaded, caf::meta::load_callback([&]() -> caf::error {
               x = cluster_config{std::move(loaded)};
               return caf::none;
             }));
  } else {
    return f(const_cast<std::vector<member>&>(x.members()));
  }
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, log_entry& x) {
  return f(x.index, x.term, x.kind, x.system_time, x.payload);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, command_error& x) {
  return f(x.code, x.leader);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, peer_overview& x) {
  return f(x.id, x.next_index, x.match_index, x.sending_snapshot);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, server_overview& x) {
  return f(x.id, x.cluster_name, x.server_role, x.term, x.voted_for, x.leader, x.commit_index, x.last_applied,
           x.last_index, x.last_written_index, x.snapshot_index, x.effective_machine_version, x.members,
           x.stop_reason, x.has_peers, x.peers, x.machine_overview);
}

}  // namespace ra
