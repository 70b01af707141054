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

}  // namespace ra::actors
