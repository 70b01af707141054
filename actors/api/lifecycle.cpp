// Lifecycle: starting, stopping and deleting servers and clusters, elections, leaving.
// Operations that are messages to servers are async calls, and their blocking forms run
// them (blocking_call.hpp). Starting and stopping servers goes through ra::system, which
// blocks: those calls exist in blocking form only (start_cluster and
// start_or_restart_cluster then wait for a leader through one async poll).

#include <chrono>
#include <memory>
#include <vector>

#include <caf/all.hpp>

#include "ra/api.hpp"
#include "actors/api/blocking_call.hpp"
#include "actors/api/detail.hpp"
#include "ra/async_api.hpp"

namespace ra {

namespace {

using namespace ra::actors;
using namespace ra::detail;

/// Reports the first of `ids[i...]` that says it is the leader (nullopt if none does).
void first_leader(caf::event_based_actor* self, system& sys, std::shared_ptr<const std::vector<server_id>> ids,
                  size_t i, time_point deadline, std::function<void(std::optional<server_id>)> answer) {
  if (i == ids->size()) return answer(std::nullopt);
  ask_members(self, sys, (*ids)[i], deadline,
              [self, sysp = &sys, ids, i, deadline, answer](std::optional<members_result> r) {
                if (r && r->server_role == role::leader) return answer((*ids)[i]);
                first_leader(self, *sysp, ids, i + 1, deadline, answer);
              });
}

/// Asks a cluster for its leader: answers it, or nullopt while there is none.
using leader_probe = std::function<void(caf::event_based_actor*, time_point deadline,
                                        std::function<void(std::optional<server_id>)> answer)>;

/// Blocks until `probe` names a leader (asked now and then every redirect_retry_pause),
/// or fails with timeout.
result<server_id> await_leader(system& sys, const std::string& cluster_name, ms timeout, leader_probe probe) {
  return blocking_call<server_id>(sys, timeout, [timeout, cluster_name, probe](auto* self, auto then) {
    const auto deadline = self->clock().now() + timeout;
    poll<server_id>(
      self, deadline, redirect_retry_pause, [self, deadline, probe](ms, auto answer) { probe(self, deadline, answer); },
      [cluster_name, then](std::optional<server_id> leader) {
        if (!leader) return then(make_api_error(api_errc::timeout, "no leader elected in cluster " + cluster_name));
        then(std::move(*leader));
      });
  });
}

/// What is left of `timeout` since `start` (at least 1 ms: the call then reports its timeout).
ms remaining(std::chrono::steady_clock::time_point start, ms timeout) {
  auto spent = std::chrono::duration_cast<ms>(std::chrono::steady_clock::now() - start);
  return std::max(timeout - spent, ms{1});
}

}  // namespace

// -- async -----------------------------------------------------------------------------------

void async::trigger_election(caf::event_based_actor* self, system& sys, const server_id& id, ms timeout,
                             callback<done> then) {
  auto a = sys.lookup(id);
  if (!a) return then(not_running(id));
  self->request(a, timeout, election_atom::value)
    .then([then](caf::ok_atom) { then(done{}); }, [then, id](caf::error& e) { then(from_caf(e, id)); });
}

void async::delete_cluster(caf::event_based_actor* self, system& sys, const std::vector<server_id>& ids, ms timeout,
                           callback<done> then) {
  if (ids.empty()) return then(make_api_error(api_errc::invalid_argument, "delete_cluster needs the cluster's members"));
  const auto deadline = self->clock().now() + timeout;
  // Ask the first member that runs (any member redirects to the leader).
  server_id ask = ids.front();
  for (auto& id : ids)
    if (sys.lookup(id)) {
      ask = id;
      break;
    }
  auto attempt = [self](const caf::actor& a, const server_id& to, ms left, attempt_done done) {
    request_command(self, a, to, left, {}, done, delete_cluster_atom::value);
  };
  redirecting(self, sys, ask, timeout, attempt, [self, sysp = &sys, ids, deadline, then](status st) {
    if (!st) return then(std::move(st.error()));
    // The leader applied the entry; each local member stops and deletes its data as it
    // applies it too (in its exit hook), which no message reports to us: poll.
    auto gone = [sysp, ids](ms, std::function<void(std::optional<done>)> answer) {
      for (auto& id : ids)
        if (id.node == sysp->name() && (sysp->is_running(id.name) || !sysp->uid_of(id.name).empty()))
          return answer(std::nullopt);
      answer(done{});
    };
    poll<done>(self, deadline, poll_interval, gone, [then](std::optional<done> ok) {
      if (!ok)
        return then(make_api_error(api_errc::timeout, "the cluster was deleted but not every local member is gone yet"));
      then(done{});
    });
  });
}

void async::leave_and_terminate(caf::event_based_actor* self, system& sys, const server_id& id,
                                const server_id& target, ms timeout, callback<done> then) {
  const auto deadline = self->clock().now() + timeout;
  remove_member(self, sys, id, target, timeout, [self, sysp = &sys, target, deadline, then](result<server_id> r) {
    if (!r) return then(std::move(r.error()));
    // A member of another node is stopped there; a stopped one has nothing left to do.
    if (target.node != sysp->name() || !sysp->is_running(target.name)) return then(done{});
    stop_local_server(self, *sysp, target, deadline, then);
  });
}

void async::leave_and_delete_server(caf::event_based_actor* self, system& sys, const server_id& id,
                                    const server_id& target, ms timeout, callback<done> then) {
  const auto deadline = self->clock().now() + timeout;
  remove_member(self, sys, id, target, timeout, [self, sysp = &sys, target, deadline, then](result<server_id> r) {
    if (!r) return then(std::move(r.error()));
    if (target.node != sysp->name()) return then(done{});
    auto remove_data = [sysp, target, then](status stopped) {
      if (!stopped) return then(std::move(stopped.error()));
      then(delete_stopped_server(*sysp, target));
    };
    if (!sysp->is_running(target.name)) return remove_data(done{});
    stop_local_server(self, *sysp, target, deadline, remove_data);
  });
}

// -- blocking --------------------------------------------------------------------------------

status start_server(system& sys, const std::string& cluster_name, const server_id& id, const std::string& machine,
                    const std::vector<member>& initial_members, const std::string& machine_args) {
  return sys.start_server(cluster_name, id, machine, initial_members, machine_args);
}

status stop_server(system& sys, const server_id& id, ms timeout) { return sys.stop_server(id, timeout); }

status restart_server(system& sys, const server_id& id) { return sys.restart_server(id); }

status force_delete_server(system& sys, const server_id& id, ms timeout) { return sys.delete_server(id, timeout); }

status trigger_election(system& sys, const server_id& id, ms timeout) {
  return run_blocking<done>(async::trigger_election, sys, timeout, id);
}

result<cluster_started> start_cluster(system& sys, const std::string& cluster_name, const std::string& machine,
                                      const std::vector<server_id>& ids, ms timeout,
                                      const std::string& machine_args) {
  const auto started_at = std::chrono::steady_clock::now();
  std::vector<member> initial;
  for (auto& id : ids) initial.push_back(member{id});
  cluster_started out;
  std::string why;
  for (auto& id : ids) {
    auto st = id.node == sys.name() ? sys.start_server(cluster_name, id, machine, initial, machine_args)
                                    : status{make_api_error(api_errc::invalid_argument, "not on this node")};
    if (st) {
      out.started.push_back(id);
    } else {
      out.not_started.push_back(id);
      why += (why.empty() ? "" : "; ") + id.to_string() + ": " + st.error().to_string();
    }
  }
  if (out.started.size() < ids.size() / 2 + 1) {
    for (auto& id : out.started) (void)sys.delete_server(id);  // best effort: the error below is what matters
    return make_api_error(api_errc::cluster_not_formed, why);
  }
  if (auto st = trigger_election(sys, out.started.front(), remaining(started_at, timeout)); !st) return st.error();
  // Wait until a started member says it is the leader.
  auto started = std::make_shared<const std::vector<server_id>>(out.started);
  auto leader = await_leader(sys, cluster_name, remaining(started_at, timeout),
                             [sysp = &sys, started](caf::event_based_actor* self, time_point deadline, auto answer) {
                               first_leader(self, *sysp, started, 0, deadline, std::move(answer));
                             });
  if (!leader) return leader.error();
  out.leader = std::move(*leader);
  return out;
}

result<cluster_started> start_or_restart_cluster(system& sys, const std::string& cluster_name,
                                                 const std::string& machine, const std::vector<server_id>& ids,
                                                 ms timeout, const std::string& machine_args) {
  const auto started_at = std::chrono::steady_clock::now();
  std::vector<server_id> local;
  bool all_known = true;
  for (auto& id : ids) {
    if (id.node != sys.name()) continue;
    local.push_back(id);
    if (sys.uid_of(id.name).empty()) all_known = false;
  }
  if (local.empty() || !all_known) return start_cluster(sys, cluster_name, machine, ids, timeout, machine_args);
  cluster_started out;
  for (auto& id : ids) {
    if (id.node != sys.name()) {
      out.not_started.push_back(id);
      continue;
    }
    auto st = sys.is_running(id.name) ? status{done{}} : sys.restart_server(id);
    (st ? out.started : out.not_started).push_back(id);
  }
  if (out.started.empty())
    return make_api_error(api_errc::cluster_not_formed, "no server of " + cluster_name + " restarted");
  // Recovered servers elect by themselves (their election timers are armed): wait until
  // the first restarted one knows a leader.
  auto leader = await_leader(sys, cluster_name, remaining(started_at, timeout),
                             [sysp = &sys, first = out.started.front()](caf::event_based_actor* self,
                                                                       time_point deadline, auto answer) {
                               async::members(self, *sysp, first, std::max(left_until(self, deadline), ms{1}),
                                              [answer](result<cluster_members> m) {
                                                if (m && !m->leader.empty()) return answer(m->leader);
                                                answer(std::nullopt);
                                              });
                             });
  if (!leader) return leader.error();
  out.leader = std::move(*leader);
  return out;
}

status delete_cluster(system& sys, const std::vector<server_id>& ids, ms timeout) {
  return run_blocking<done>(async::delete_cluster, sys, timeout, ids);
}

status leave_and_terminate(system& sys, const server_id& id, const server_id& target, ms timeout) {
  return run_blocking<done>(async::leave_and_terminate, sys, timeout, id, target);
}

status leave_and_delete_server(system& sys, const server_id& id, const server_id& target, ms timeout) {
  return run_blocking<done>(async::leave_and_delete_server, sys, timeout, id, target);
}

}  // namespace ra
