#pragma once
// The node's meta store writer as a CAF 0.17 actor: group commit for votes, as the WAL
// actor does for entries (and as Ra's meta store batches). A server that must make its
// term and vote durable before it acts (libra/actions.hpp, persist_meta_action) sends
// them here instead of syncing on its own scheduler thread; the actor writes every vote
// queued before its flush marker with one write and one fsync, then tells each sender.
// So an election storm of a thousand clusters costs a few syncs, not three thousand, and
// no fsync runs on CAF's (two) scheduler threads, where it would delay every other
// server and the node's failure detector (reliability review F11).
//
// Protocol (one-way):
//   -> (meta_vote_atom, meta_vote_msg)
//   <- to the sender, once that vote is durable: (meta_durable_atom, uint64 seq)
//   <- or, if the batch could not be made durable: (meta_failed_atom, uint64 seq, message)
//        (the vote is not stored; the store rewrites its file before the next batch)
// Stop it with an exit message; what is queued is written first.

#include <caf/actor.hpp>
#include <caf/actor_system.hpp>

#include "wal/meta_store.hpp"
#include "wire/atoms.hpp"
#include "wire/storage.hpp"

namespace ra::storage {

/// Spawns the meta writer around `store`, which must outlive it. `detached = false`
/// only under CAF's deterministic test scheduler (the sync then blocks a scheduler thread).
caf::actor spawn_meta_writer(caf::actor_system& sys, meta_store& store, bool detached = true);

}  // namespace ra::storage
