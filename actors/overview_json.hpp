#pragma once
// The edge where a member overview becomes JSON (the public member_overview and overview
// calls). The core and the actor carry it typed (ra/overview.hpp, wire/replies.hpp).

#include <nlohmann/json.hpp>

#include "ra/overview.hpp"
#include "wire/replies.hpp"

namespace ra::actors {

/// The core's view: id, cluster_name, role, term, voted_for, leader, the indexes,
/// effective_machine_version, members, stop_reason (if stopped), peers (if leading) and
/// machine: the machine's own overview (machine::overview()).
nlohmann::json to_json(const server_overview& o);
/// The member overview users see: the core's view (if up) plus uid, behaviour,
/// cluster_name and machine_name (the machine's registered name).
nlohmann::json to_json(const overview_result& r);

}  // namespace ra::actors
