#pragma once
// The wire format of ra's public value types: the CAF 0.17 `inspect` overloads of server
// ids, pids, bytes, members, cluster configs, log entries, command errors and overviews.
// Public because the machine codec (ra/codec.hpp) uses them, so machine commands and state
// may hold these types. This is the public half of the wire module: the overloads of the
// peer RPCs and the core's internal types are in wire/inspect.hpp, which includes this
// one. There is exactly one overload per type in the program (test/wire/single_home.sh).
// The types know nothing of CAF; the overloads are in namespace ra, so CAF finds them by ADL.

#include <vector>

#include <caf/error.hpp>
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

/// shared_bytes is serialized as its byte vector, loaded into a temporary vector that a
/// load callback then moves into a fresh shared_bytes (shared_bytes is immutable, so it
/// cannot be filled in place).
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
           x.stop_reason, x.has_peers, x.peers);
}

}  // namespace ra
