#pragma once
// The `inspect` overloads of the storage actors' messages: the WAL's statistics and the
// rolled-over WAL files the WAL actor hands to the segment writer. These stay inside one
// process (the WAL and the segment writer are local actors) and are not announced, but
// CAF 0.17 needs an inspect for every message type, and they belong with the others.

#include "wal/meta_store.hpp"
#include "wal/wal_writer.hpp"
#include "ra/inspect.hpp"

namespace ra::storage {

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, wal_writer_stats& x) {
  return f(x.batches, x.syncs, x.entries, x.bytes, x.rollovers, x.failed_flushes, x.slow_syncs,
           x.sync_latency_counts, x.sync_latency_ns_sum);
}
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, writer_range& x) {
  return f(x.writer, x.first.value, x.last.value);
}
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, rollover_info& x) {
  return f(x.path, x.writers);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, meta_vote_msg& x) {
  return f(x.seq, x.uid, x.term, x.has_vote, x.vote);
}

}  // namespace ra::storage
