#pragma once
// The WAL as a CAF 0.17 actor: a detached (own thread) event-based actor that owns a
// wal_writer, because it blocks in write and fsync. Batching follows Ra's
// gen_batch_server: each append is queued at once, and a flush marker the actor sends
// itself goes to the back of the mailbox, so one write + one sync covers every append
// that arrived before it; appends arriving during a sync form the next batch. A batch
// is also flushed as soon as it holds wal_max_batch_size entries or wal_max_batch_bytes.
//
// Group commit (wal_group_commit_window): when the marker finds a batch of a single
// writer, the actor waits up to the window (a delayed message to itself) for more
// writers; a second writer joining ends the wait (after the appends queued with it).
//
// Protocol (all one-way):
//   -> (wal_append_atom, uid, notify, entries [, bool starts_new_log])
//   <- to notify, after the batch is durable, one per writer per batch:
//        (wal_written_atom, uid, index_t last_index, term_t its_term)
//   <- on a gap: (wal_resend_atom, uid, index_t resend_from)
//   <- on an I/O failure: (wal_error_atom, uid, std::string message); the batch is kept
//        and retried (first after 10 ms, backing off to 1 s), then "written" follows.
//   -> (wal_stats_atom) replies with wal_writer_stats.
// Stop it with stop_wal() (an exit message): it flushes what is queued, then quits.

#include <functional>
#include <memory>

#include <caf/actor.hpp>
#include <caf/actor_system.hpp>
#include <caf/atom.hpp>

#include "wal/wal_writer.hpp"
#include "wire/atoms.hpp"    // wal_*_atom
#include "wire/inspect.hpp"  // log entries
#include "wire/storage.hpp"  // wal_writer_stats, rollover_info

namespace ra::storage {

/// Spawns the WAL actor with a new writer (no recovery; the first file is created by
/// the first flush). on_rollover runs on the WAL's thread and must not block.
/// `detached = false` runs it as an ordinary scheduled actor instead: only for CAF's
/// deterministic test scheduler, which cannot drive actors on their own threads (the
/// WAL then blocks a scheduler thread in every fsync).
caf::actor spawn_wal(caf::actor_system& sys, wal_config config,
                     std::function<void(rollover_info)> on_rollover, bool detached = true);

/// Spawns the WAL actor around a writer the caller already recovered (and started).
caf::actor spawn_wal(caf::actor_system& sys, std::unique_ptr<wal_writer> writer, bool detached = true);

/// Asks the WAL actor to flush what it holds and quit.
void stop_wal(const caf::actor& wal);

}  // namespace ra::storage
