#pragma once
// The wire format of ra's own types: every CAF 0.17 `inspect` overload for a type that
// crosses a process boundary. The public value types (ids, pids, bytes, members, log
// entries, command errors, overviews) have theirs in ra/inspect.hpp, which the machine
// codec uses; this header adds the peer RPCs and the core's internal types (snapshot
// meta, requests and replies inside messages). The types themselves know nothing of CAF;
// the overloads are in namespace ra, so CAF finds them by ADL.
//
// Include it wherever such a type is serialized: the actor shell (actors/messages.hpp)
// and the storage actors. These two headers are the only places that define these
// overloads (test/wire/single_home.sh checks it): in particular there must be exactly one
// inspect overload for shared_bytes in the program.
//
// Every type announced to CAF is listed in wire/announce.hpp, and test/wire/ round-trips
// each of them.

#include "libra/actions.hpp"
#include "libra/messages.hpp"
#include "ra/inspect.hpp"

namespace ra {

// -- internal vocabulary ----------------------------------------------------------------

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, snapshot_meta& x) {
  return f(x.index, x.term, x.cluster, x.machine_version);
}

// -- peer RPCs ------------------------------------------------------------------------------

template <class F>
typename F::result_type inspect(F& f, append_entries_rpc& x) {
  return f(x.term, x.leader_id, x.leader_commit, x.prev_log_index, x.prev_log_term, x.entries);
}
template <class F>
typename F::result_type inspect(F& f, append_entries_reply& x) {
  return f(x.term, x.success, x.next_index, x.last_index, x.last_term, x.machine_version);
}
template <class F>
typename F::result_type inspect(F& f, pre_vote_rpc& x) {
  return f(x.term, x.candidate_id, x.last_log_index, x.last_log_term, x.token, x.machine_version);
}
template <class F>
typename F::result_type inspect(F& f, pre_vote_result& x) {
  return f(x.term, x.token, x.vote_granted);
}
template <class F>
typename F::result_type inspect(F& f, request_vote_rpc& x) {
  return f(x.term, x.candidate_id, x.last_log_index, x.last_log_term, x.leadership_transfer);
}
template <class F>
typename F::result_type inspect(F& f, request_vote_result& x) {
  return f(x.term, x.vote_granted);
}
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, install_snapshot_rpc& x) {
  return f(x.term, x.leader_id, x.meta, x.chunk_no, x.last, x.data, x.has_checksum, x.checksum);
}
template <class F>
typename F::result_type inspect(F& f, install_snapshot_result& x) {
  return f(x.term, x.snapshot_index, x.chunk_no, x.last_index, x.last_term);
}
template <class F>
typename F::result_type inspect(F& f, heartbeat_rpc& x) {
  return f(x.term, x.leader_id, x.query_index);
}
template <class F>
typename F::result_type inspect(F& f, heartbeat_reply& x) {
  return f(x.term, x.query_index);
}
template <class F>
typename F::result_type inspect(F& f, timeout_now_rpc& x) {
  return f(x.term, x.leader_id);
}

}  // namespace ra
