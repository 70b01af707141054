#pragma once
// One Raft server = one stateful event-based CAF actor holding a ra::server and its
// durable_log. It turns messages and timer ticks into core events and executes the
// core's actions in order (see docs/runtime.md).
//
// Protocol (besides the WAL's wal_written / wal_resend / wal_error):
//   (ready_atom)                               -> std::string  ("" = running, else why not)
//   (peer_atom, server_id from, <rpc>)         one-way, every RPC type of libra/messages.hpp
//   (command_atom, shared_bytes, uint8 mode)   -> command_result
//   (pipeline_atom, shared_bytes, uint64 corr, uint8 priority, actor notify)
//        one-way; notify gets (applied_atom, applied_batch) and
//        (rejected_atom, uint64 corr, command_error)
//   (query_atom, query_msg)                    -> query_result
//   (membership_atom, uint8 op, member)        -> command_result
//   (transfer_atom, server_id target)          -> command_result
//   (election_atom)                            -> ok_atom
//   (members_atom)                             -> members_result
//   (overview_atom)                            -> std::string (JSON)

#include <memory>

#include <caf/actor.hpp>

#include "actors/system_core.hpp"
#include "libra/server.hpp"
#include "wal/config_store.hpp"

namespace ra::detail {

/// Spawns the server actor. The log is opened (and the machine built) in the actor; ask
/// (ready_atom) to learn whether that worked. The actor registers itself in the
/// directory and removes itself on exit.
/// `wal_entries`: the server's entries still only in WAL files (restart while running).
caf::actor spawn_server_actor(std::shared_ptr<system_core> core, storage::persisted_server_config cfg,
                              std::vector<log_entry> wal_entries);

}  // namespace ra::detail
