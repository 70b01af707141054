#pragma once
// Every atom of ra's actor protocols, in one list, so that no two share a text (a CAF
// 0.17 atom *is* its text: two atoms with the same text are the same value). At most 10
// characters each. The message forms are documented next to each group; the handlers
// are in actors/server_actor.cpp, actors/node_link.cpp, wal/wal_actor.cpp and
// segments/segment_writer_actor.cpp.
//
// Not here: atoms private to one file that never leave it (actors/async_api.cpp's
// pause/resume, ra-bench's retry) and atoms a machine defines for its own messages
// (ra/machines/fifo.hpp's fifo_delivery_atom).

#include <caf/atom.hpp>

namespace ra::actors {

// -- server actors (peer RPCs and the client protocol) -----------------------------------
using peer_atom = caf::atom_constant<caf::atom("ra_peer")>;          ///< peer RPC
using command_atom = caf::atom_constant<caf::atom("ra_cmd")>;        ///< client command
using pipeline_atom = caf::atom_constant<caf::atom("ra_pipe")>;      ///< pipelined command
using applied_atom = caf::atom_constant<caf::atom("ra_applied")>;    ///< pipelined: applied batch
using rejected_atom = caf::atom_constant<caf::atom("ra_reject")>;    ///< pipelined: rejected
using query_atom = caf::atom_constant<caf::atom("ra_query")>;
/// (named_query_atom, uint8 query_kind, name, encoded argument) -> named_query_result
using named_query_atom = caf::atom_constant<caf::atom("ra_nquery")>;
using membership_atom = caf::atom_constant<caf::atom("ra_member")>;  ///< add/remove member
using members_atom = caf::atom_constant<caf::atom("ra_members")>;    ///< read the member list
using transfer_atom = caf::atom_constant<caf::atom("ra_xfer")>;
using election_atom = caf::atom_constant<caf::atom("ra_elect")>;
using overview_atom = caf::atom_constant<caf::atom("ra_ovw")>;
using ready_atom = caf::atom_constant<caf::atom("ra_ready")>;        ///< did the server start?
using timer_atom = caf::atom_constant<caf::atom("ra_timer")>;        ///< (kind, generation)
using flush_atom = caf::atom_constant<caf::atom("ra_flush")>;        ///< flush low-priority commands
using leader_down_atom = caf::atom_constant<caf::atom("ra_ldown")>;  ///< leader not resolvable
using segments_atom = caf::atom_constant<caf::atom("ra_segs")>;      ///< segment writer -> server
using snapshot_done_atom = caf::atom_constant<caf::atom("ra_snapd")>; ///< snapshot worker -> server
using machine_timer_atom = caf::atom_constant<caf::atom("ra_mtimer")>; ///< (name, generation): a machine timer
using machine_reply_atom = caf::atom_constant<caf::atom("ra_mreply")>; ///< reply_effect: (ra_mreply, shared_bytes)
using aux_atom = caf::atom_constant<caf::atom("ra_aux")>;              ///< (aux_atom, shared_bytes) -> command_result
using delete_cluster_atom = caf::atom_constant<caf::atom("ra_delete")>; ///< -> command_result
/// (wait_applied_atom, index_t) -> (ok_atom, index_t last_applied) once applied up to it.
using wait_applied_atom = caf::atom_constant<caf::atom("ra_waitap")>;

// -- node link (actors/node_link.hpp) ------------------------------------------------------
// to watchers (system_core::watch_node)
using node_down_atom = caf::atom_constant<caf::atom("ra_ndown")>;  ///< (node_down_atom, std::string node)
using node_up_atom = caf::atom_constant<caf::atom("ra_nup")>;      ///< (node_up_atom, std::string node)
// between node actors (across processes)
/// (hello, my name, my node actor) -> std::string your_peer_name
using node_hello_atom = caf::atom_constant<caf::atom("ra_nhello")>;
/// With TLS: (hello, my name, my node actor, certificate PEM, signature, unix ms) ->
/// (your peer name, certificate PEM, signature, unix ms): each side proves its name
/// (actors/node_identity.hpp).
using node_hello_tls_atom = caf::atom_constant<caf::atom("ra_nhellot")>;
/// (dir, std::vector<std::string> names; empty = all) -> (names, std::vector<caf::actor>)
using node_dir_atom = caf::atom_constant<caf::atom("ra_ndir")>;
/// (ping, my name, uint64_t seq), answered by a one-way (pong, my name, seq)
using node_ping_atom = caf::atom_constant<caf::atom("ra_nping")>;
using node_pong_atom = caf::atom_constant<caf::atom("ra_npong")>;
/// (node_server_atom, node_server_request) -> node_server_result: start / restart / stop /
/// delete a server of the receiving node (actors/node_admin.hpp). From a linked node or
/// a local caller only; a local caller's request for another node is forwarded there.
using node_server_atom = caf::atom_constant<caf::atom("ra_nsrv")>;
// local requests to the node actor
using node_watch_atom = caf::atom_constant<caf::atom("ra_nwatch")>;    ///< (node, watcher)
using node_unwatch_atom = caf::atom_constant<caf::atom("ra_nunwtch")>;
using leader_watch_atom = caf::atom_constant<caf::atom("ra_lwatch")>;  ///< (server_id leader, watcher)
using node_lookup_atom = caf::atom_constant<caf::atom("ra_nlookup")>;  ///< (node, server name)
using node_tick_atom = caf::atom_constant<caf::atom("ra_ntick")>;      ///< the detector's timer
// pids of other processes (actors/pid.hpp): the node actors route them
/// across nodes: (node_pid_atom, uint64_t actor id) -> caf::actor (null: no such actor)
using node_pid_atom = caf::atom_constant<caf::atom("ra_npid")>;
/// local: (node_pid_send_atom, std::string node, uint64_t id, caf::message): deliver it
using node_pid_send_atom = caf::atom_constant<caf::atom("ra_npsend")>;
/// local: (node_pid_resolve_atom, std::string node, uint64_t id, caf::actor requester),
/// answered by (pid_resolved_atom, node, id, caf::actor; null: unknown or node down)
using node_pid_resolve_atom = caf::atom_constant<caf::atom("ra_npres")>;
using pid_resolved_atom = caf::atom_constant<caf::atom("ra_pidres")>;
/// to a server monitoring a remote pid: (pid_lost_atom, std::string node, uint64_t id),
/// the pid's node was declared down (down with noconnection)
using pid_lost_atom = caf::atom_constant<caf::atom("ra_pidlost")>;

}  // namespace ra::actors

namespace ra::storage {

// -- the WAL actor (wal/wal_actor.hpp has the protocol) ------------------------------------
using wal_append_atom = caf::atom_constant<caf::atom("wal_append")>;
using wal_written_atom = caf::atom_constant<caf::atom("wal_wrtn")>;
using wal_resend_atom = caf::atom_constant<caf::atom("wal_resend")>;
using wal_error_atom = caf::atom_constant<caf::atom("wal_error")>;
using wal_flush_atom = caf::atom_constant<caf::atom("wal_flush")>;
using wal_stats_atom = caf::atom_constant<caf::atom("wal_stats")>;
using wal_window_atom = caf::atom_constant<caf::atom("wal_window")>;

// -- the meta store writer (wal/meta_writer_actor.hpp has the protocol) --------------------
using meta_vote_atom = caf::atom_constant<caf::atom("meta_vote")>;
using meta_durable_atom = caf::atom_constant<caf::atom("meta_dur")>;
using meta_failed_atom = caf::atom_constant<caf::atom("meta_fail")>;
using meta_flush_atom = caf::atom_constant<caf::atom("meta_flush")>;

// -- the segment writer (segments/segment_writer_actor.hpp) --------------------------------
using seg_flush_atom = caf::atom_constant<caf::atom("seg_flush")>;
using seg_retry_atom = caf::atom_constant<caf::atom("seg_retry")>;

}  // namespace ra::storage
