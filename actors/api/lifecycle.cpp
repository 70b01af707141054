// Lifecycle: starting, stopping and deleting servers and clusters, elections, leaving.
// Operations that are messages to servers are async calls, and their blocking forms run
// them (blocking_call.hpp). Starting and stopping servers goes through ra::system, which
// blocks: those calls exist in blocking form only (start_cluster and
// start_or_restart_cluster then wait for a leader through one async poll).

#include <chrono>
#include <memory>
#include <thread>
#include <vector>

#include <caf/all.hpp>

#include "ra/api.hpp"
#include "actors/api/blocking_call.hpp"
#include "actors/api/detail.hpp"
#include "actors/node_admin.hpp"
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

/// Reports the leader that the first of `ids[i...]` to know one names (nullopt if none does).
void any_knows_leader(caf::event_based_actor* self, system& sys, std::shared_ptr<const std::vector<server_id>> ids,
                      size_t i, time_point deadline, std::function<void(std::optional<server_id>)> answer) {
  if (i == ids->size()) return answer(std::nullopt);
  ask_members(self, sys, (*ids)[i], deadline,
              [self, sysp = &sys, ids, i, deadline, answer](std::optional<members_result> r) {
                if (r && !r->leader.empty()) return answer(r->leader);
                any_knows_leader(self, *sysp, ids, i + 1, deadline, answer);
              });
}

/// Asks a cluster for its leader: answers it, or nullopt while there is none.
using leader_probe = std::function<void(caf::event_based_actor*, time_point deadline,
                                        std::function<void(std::optional<server_id>)> answer)>;

/// Blocks until `probe` names a leader (asked now, then after 1, 2, 4 ... ms, then every
/// redirect_retry_pause), or fails with timeout. The short first pauses matter: a new
/// cluster on one node elects in a few milliseconds, and a start_cluster that waited
/// 20 ms for its second look was most of B's start time (300 clusters/s on 8 threads).
result<server_id> await_leader(system& sys, const std::string& cluster_name, ms timeout, leader_probe probe) {
  return blocking_call<server_id>(sys, timeout, [timeout, cluster_name, probe](auto* self, auto then) {
    const auto deadline = self->clock().now() + timeout;
    poll<server_id>(
      self, deadline, redirect_retry_pause, [self, deadline, probe](ms, auto answer) { probe(self, deadline, answer); },
      [cluster_name, then](std::optional<server_id> leader) {
        if (!leader) return then(make_api_error(api_errc::timeout, "no leader elected in cluster " + cluster_name));
        then(std::move(*leader));
      },
      ms{1});
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

// -- servers on their own nodes (actors/node_admin.hpp) ---------------------------------------

namespace {

actors::node_server_result on_node(system& sys, actors::server_op op, const server_id& id, ms timeout,
                                   const std::string& cluster_name = {}, const std::string& machine = {},
                                   const std::vector<member>& members = {}, const std::string& machine_args = {}) {
  actors::node_server_request req;
  req.op = static_cast<uint8_t>(op);
  req.id = id;
  req.cluster_name = cluster_name;
  req.machine = machine;
  req.machine_args = machine_args;
  req.members = members;
  return server_request(sys, req, timeout);
}

/// Makes one of `started` (this node's first) enter pre_vote: a server of another node
/// is reached once its proxy is cached (resolve starts the lookup), so retry until then.
status elect_one(system& sys, const std::vector<server_id>& started, ms timeout) {
  std::vector<server_id> order;
  for (auto& id : started)
    if (id.node == sys.name()) order.push_back(id);
  for (auto& id : started)
    if (id.node != sys.name()) order.push_back(id);
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  status last = make_api_error(api_errc::noproc, "no started server");
  while (true) {
    for (auto& id : order) {
      if (!sys.lookup(id)) {
        last = not_running(id);
        continue;
      }
      auto left = std::chrono::duration_cast<ms>(deadline - std::chrono::steady_clock::now());
      last = trigger_election(sys, id, std::max(left, ms{1}));
      if (last) return last;
    }
    if (std::chrono::steady_clock::now() + redirect_retry_pause >= deadline) return last;
    std::this_thread::sleep_for(redirect_retry_pause);
  }
}

}  // namespace

status start_server_on_node(system& sys, const std::string& cluster_name, const server_id& id,
                            const std::string& machine, const std::vector<member>& initial_members,
                            const std::string& machine_args, ms timeout) {
  return to_status(
    on_node(sys, actors::server_op::start, id, timeout, cluster_name, machine, initial_members, machine_args));
}

status restart_server_on_node(system& sys, const server_id& id, ms timeout) {
  return to_status(on_node(sys, actors::server_op::restart, id, timeout));
}

status stop_server_on_node(system& sys, const server_id& id, ms timeout) {
  return to_status(on_node(sys, actors::server_op::stop, id, timeout));
}

status delete_server_on_node(system& sys, const server_id& id, ms timeout) {
  return to_status(on_node(sys, actors::server_op::remove, id, timeout));
}

result<server_presence> server_status_on_node(system& sys, const server_id& id, ms timeout) {
  auto r = on_node(sys, actors::server_op::status, id, timeout);
  if (auto st = to_status(r); !st) return st.error();
  return server_presence{r.known, r.running};
}

result<key_metrics_snapshot> key_metrics_on_node(system& sys, const server_id& id, ms timeout) {
  return to_key_metrics(on_node(sys, actors::server_op::metrics, id, timeout));
}

result<cluster_started> start_cluster(system& sys, const std::string& cluster_name, const std::string& machine,
                                      const std::vector<server_id>& ids, ms timeout,
                                      const std::string& machine_args) {
  const auto started_at = std::chrono::steady_clock::now();
  std::vector<member> initial;
  for (auto& id : ids) initial.push_back(member{id});
  cluster_started out;
  std::string why;
  // This node's members in one call: their configs are saved together (one round of
  // syncs instead of three per server).
  std::vector<system::server_start_request> local;
  for (auto& id : ids)
    if (id.node == sys.name()) local.push_back({cluster_name, id, machine, initial, machine_args});
  auto local_status = sys.start_servers(std::move(local));
  size_t next_local = 0;
  for (auto& id : ids) {
    auto st = id.node == sys.name()
                ? std::move(local_status.at(next_local++))
                : start_server_on_node(sys, cluster_name, id, machine, initial, machine_args,
                                       remaining(started_at, timeout));
    if (st) {
      out.started.push_back(id);
    } else {
      out.not_started.push_back(id);
      out.not_started_errors.push_back(st.error());
      why += (why.empty() ? "" : "; ") + id.to_string() + ": " + st.error().to_string();
    }
  }
  if (out.started.size() < ids.size() / 2 + 1) {
    // Best effort: the error below is what matters.
    for (auto& id : out.started)
      (void)(id.node == sys.name() ? sys.delete_server(id) : delete_server_on_node(sys, id, timeout));
    return make_api_error(api_errc::cluster_not_formed, why);
  }
  if (auto st = elect_one(sys, out.started, remaining(started_at, timeout)); !st) return st.error();
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
  // Which members' nodes know their server (local: the directory; others: asked).
  std::vector<result<server_presence>> presence;
  bool any_known = false;
  for (auto& id : ids) {
    presence.push_back(id.node == sys.name()
                         ? result<server_presence>{server_presence{!sys.uid_of(id.name).empty(), sys.is_running(id.name)}}
                         : server_status_on_node(sys, id, remaining(started_at, timeout)));
    if (presence.back() && presence.back()->known) any_known = true;
  }
  if (!any_known) return start_cluster(sys, cluster_name, machine, ids, remaining(started_at, timeout), machine_args);
  cluster_started out;
  for (size_t i = 0; i < ids.size(); ++i) {
    auto& id = ids[i];
    status st = done{};
    if (!presence[i])
      st = presence[i].error();
    else if (!presence[i]->known)
      st = make_api_error(api_errc::noproc, "node " + id.node + " does not know " + id.to_string());
    else if (!presence[i]->running)
      st = id.node == sys.name() ? sys.restart_server(id) : restart_server_on_node(sys, id, remaining(started_at, timeout));
    if (st) {
      out.started.push_back(id);
    } else {
      out.not_started.push_back(id);
      out.not_started_errors.push_back(st.error());
    }
  }
  if (out.started.empty())
    return make_api_error(api_errc::cluster_not_formed, "no server of " + cluster_name + " restarted");
  // Recovered servers elect by themselves (their election timers are armed): wait until
  // a restarted one knows a leader.
  auto started = std::make_shared<const std::vector<server_id>>(out.started);
  auto leader = await_leader(sys, cluster_name, remaining(started_at, timeout),
                             [sysp = &sys, started](caf::event_based_actor* self, time_point deadline, auto answer) {
                               any_knows_leader(self, *sysp, started, 0, deadline, std::move(answer));
                             });
  if (!leader) return leader.error();
  out.leader = std::move(*leader);
  return out;
}

status delete_cluster(system& sys, const std::vector<server_id>& ids, ms timeout) {
  const auto started_at = std::chrono::steady_clock::now();
  // Members of other nodes that are known there but not running now would never apply
  // the entry: they are deleted there once it committed. (Asked before: a member that
  // applies the entry stops and then deletes its own data, and must not be raced.)
  std::vector<server_id> stopped_remote;
  for (auto& id : ids) {
    if (id.node == sys.name()) continue;
    auto p = server_status_on_node(sys, id, remaining(started_at, timeout));
    if (p && p->known && !p->running) stopped_remote.push_back(id);
  }
  if (auto st = run_blocking<done>(async::delete_cluster, sys, remaining(started_at, timeout), ids); !st) return st;
  for (auto& id : stopped_remote)
    if (auto st = delete_server_on_node(sys, id, remaining(started_at, timeout)); !st) return st;
  // The others delete themselves as they apply the entry: wait for those whose node can
  // be asked (one on a node that is down deletes itself after its restart).
  for (auto& id : ids) {
    if (id.node == sys.name()) continue;
    while (true) {
      auto p = server_status_on_node(sys, id, remaining(started_at, timeout));
      if (!p || !p->known) break;
      if (std::chrono::steady_clock::now() - started_at + redirect_retry_pause >= timeout)
        return make_api_error(api_errc::timeout, "the cluster was deleted but " + id.to_string() + " is not gone yet");
      std::this_thread::sleep_for(redirect_retry_pause);
    }
  }
  return done{};
}

status leave_and_terminate(system& sys, const server_id& id, const server_id& target, ms timeout) {
  return run_blocking<done>(async::leave_and_terminate, sys, timeout, id, target);
}

status leave_and_delete_server(system& sys, const server_id& id, const server_id& target, ms timeout) {
  return run_blocking<done>(async::leave_and_delete_server, sys, timeout, id, target);
}

}  // namespace ra
