#pragma once
// The replies server actors send to clients, possibly in another process. They carry an
// error code instead of a caf::error, so that the caller can tell "the request failed"
// (caf::error: timeout, actor down) from "Raft said no" (command_result::error, e.g.
// not_leader with a leader hint).

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include <caf/meta/type_name.hpp>

#include "libra/actions.hpp"
#include "ra/bytes.hpp"
#include "ra/cluster.hpp"
#include "ra/overview.hpp"
#include "ra/types.hpp"
#include "wire/inspect.hpp"

namespace ra::actors {

/// Reply to a command, membership change or leadership transfer (reply_action).
struct command_result {
  index_t index{0};
  term_t term{0};
  server_id leader;
  shared_bytes reply;
  bool failed = false;
  command_error error{error_code::not_leader, {}};  ///< meaningful only if failed

  bool operator==(const command_result&) const = default;
};
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, command_result& x) {
  return f(caf::meta::type_name("ra_command_result"), x.index, x.term, x.leader, x.reply, x.failed, x.error);
}

/// Reply to a named query (ra/named_query.hpp): the encoded result, or why there is none
/// (not_leader with a hint, invalid_argument for an unknown query or argument ...).
struct named_query_result {
  server_id leader;
  shared_bytes value;
  bool failed = false;
  command_error error{error_code::not_leader, {}};  ///< meaningful only if failed

  bool operator==(const named_query_result&) const = default;
};
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, named_query_result& x) {
  return f(caf::meta::type_name("ra_named_query_result"), x.leader, x.value, x.failed, x.error);
}

/// The member list as a server knows it, with its leader (empty if unknown).
struct members_result {
  std::vector<member> members;
  server_id leader;
  role server_role = role::follower;

  bool operator==(const members_result&) const = default;
};
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, members_result& x) {
  return f(caf::meta::type_name("ra_members_result"), x.members, x.leader, x.server_role);
}

/// A server actor's member overview: the core's view (absent while the core is not up)
/// and what only the shell knows. Made JSON only at the edge (actors/overview_json.hpp).
struct overview_result {
  bool has_core = false;
  server_overview core;  ///< meaningful only if has_core
  std::string uid;
  std::string cluster_name;
  std::string machine;  ///< the machine's registered name

  bool operator==(const overview_result&) const = default;
};
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, overview_result& x) {
  return f(caf::meta::type_name("ra_overview_result"), x.has_core, x.core, x.uid, x.cluster_name, x.machine);
}

/// A batch of pipelined commands applied (Ra's {ra_event, Leader, {applied, [...]}}).
struct applied_batch {
  server_id leader;
  std::vector<std::pair<uint64_t, shared_bytes>> applied;  ///< (correlation, reply)

  bool operator==(const applied_batch&) const = default;
};
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, applied_batch& x) {
  return f(caf::meta::type_name("ra_applied_batch"), x.leader, x.applied);
}

/// What a node actor is asked to do with one server of its node (node_server_atom;
/// actors/node_admin.hpp). Sent by the API on another node (start_cluster,
/// start_or_restart_cluster, delete_cluster) through that node's own node actor.
enum class server_op : uint8_t {
  start = 1,    ///< start a new server (cluster_name, machine, machine_args, members)
  restart = 2,  ///< restart a known server from its data dir (done if it runs already)
  stop = 3,     ///< stop a running server (data kept)
  remove = 4,   ///< stop if running and delete its data (force_delete_server)
  status = 5,   ///< only report known / running
  metrics = 6,  ///< read the server's key metrics (ra/key_metrics.hpp) into `metrics`
};
struct node_server_request {
  uint8_t op = 0;  ///< a server_op; anything else is refused with invalid_argument
  server_id id;    ///< the server, on the node that receives the request
  std::string cluster_name;
  std::string machine;
  std::string machine_args;
  std::vector<member> members;  ///< the initial members (start)

  bool operator==(const node_server_request&) const = default;
};
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, node_server_request& x) {
  return f(caf::meta::type_name("ra_node_server_request"), x.op, x.id, x.cluster_name, x.machine, x.machine_args,
           x.members);
}
/// The node's answer: done, or the api_error (its api_errc as a number, and the message);
/// and, after the operation, whether the node knows the server and whether it runs.
struct node_server_result {
  bool failed = false;
  uint8_t code = 0;  ///< an api_errc, meaningful only if failed
  std::string message;
  bool known = false;
  bool running = false;
  /// server_op::metrics: the key metrics in RA_KEY_METRICS_FIELDS order (ra/key_metrics.hpp;
  /// the role as its number). Both nodes run the same build, so the order is the same.
  std::vector<uint64_t> metrics;

  bool operator==(const node_server_result&) const = default;
};
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, node_server_result& x) {
  return f(caf::meta::type_name("ra_node_server_result"), x.failed, x.code, x.message, x.known, x.running,
           x.metrics);
}

}  // namespace ra::actors
