#pragma once
// Servers started, restarted, stopped and deleted on their own nodes (Ra starts a
// cluster's servers on their nodes from any one of them). A request
// (actors::node_server_request, wire/replies.hpp) goes to the node actor of the caller's
// system, which forwards it to the node actor of the server's node; that node actor
// checks who sent it (a local actor, or an actor of a node linked and up: the same rule
// as for peer messages, docs/runtime.md "Security model") and runs it on a short-lived
// blocking helper actor, because ra::system's start/stop calls block.

#include <chrono>

#include "ra/key_metrics.hpp"
#include "ra/result.hpp"
#include "ra/system.hpp"
#include "wire/replies.hpp"

namespace ra::detail {

struct system_core;

/// Runs `req` on `sys` (whose core is `core`): what a node actor's helper does with a
/// request for a server of its node. Refused (noproc) once the system is stopping.
actors::node_server_result run_server_request(system& sys, system_core& core, const actors::node_server_request& req);

/// Runs `req` for server req.id wherever it lives: on this system directly, or on the
/// node req.id.node through the node actors (which must be linked and up). Waits at most
/// `timeout` (api_errc::timeout). Not distributed and another node: invalid_argument.
actors::node_server_result server_request(system& sys, const actors::node_server_request& req,
                                          std::chrono::milliseconds timeout);

/// The result as a status (done, or the api_error it carries).
status to_status(const actors::node_server_result& r);
/// The key metrics of a server_op::metrics result (bad_reply if they do not fit).
result<key_metrics_snapshot> to_key_metrics(const actors::node_server_result& r);
/// A failed result with this error.
actors::node_server_result failed_result(const api_error& e);

}  // namespace ra::detail
