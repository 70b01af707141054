#pragma once
// Pids of other nodes (docs/machines.md): the node actor resolves them to proxies by asking
// their node (ra_npid), routes machine effects' sends to them, and tells the servers that
// monitor them when their node is declared down.

#include <caf/all.hpp>

#include "actors/node_state.hpp"

namespace ra::detail::node_link {

/// (ra_npid, id) from another node: the local actor with that id, if the asker is a
/// linked node's node actor; else null.
caf::actor answer_pid_lookup(node_actor* self, uint64_t id);
/// Sends `m` to pid `k` once it is resolved (in order); dropped if it cannot be.
void route_pid_send(node_actor* self, const pid_key& k, caf::message m);
/// Resolves `k` for a server's monitor: answers (pid_resolved_atom, node, id, actor) and
/// remembers the server for forget_pids_of.
void route_pid_monitor(node_actor* self, const pid_key& k, const caf::actor& server);
/// A down message from `source`: true if it was a resolved pid's proxy (now forgotten).
bool pid_proxy_down(node_actor* self, const caf::actor_addr& source);
/// `node` was declared down: the servers monitoring its pids get (pid_lost_atom, node,
/// id) and its cached proxies go.
void forget_pids_of(node_actor* self, const std::string& node);

}  // namespace ra::detail::node_link
