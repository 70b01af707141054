// Membership: members, members_info, add_member, remove_member, transfer_leadership.
// The async calls are the implementation; the blocking ones run them (blocking_call.hpp).

#include <algorithm>
#include <chrono>
#include <memory>

#include <caf/all.hpp>

#include "ra/api.hpp"
#include "actors/api/blocking_call.hpp"
#include "actors/api/detail.hpp"
#include "ra/async_api.hpp"

namespace ra {

namespace {

using namespace ra::actors;
using namespace ra::detail;

void change_membership(caf::event_based_actor* self, system& sys, const server_id& id, membership_op op,
                       const member& target, ms timeout, callback<server_id> then) {
  auto leader = std::make_shared<server_id>();
  auto attempt = [self, leader, op, target](const caf::actor& a, const server_id& to, ms left, attempt_done done) {
    auto keep = [leader](const command_result& r) { *leader = r.leader; };
    request_command(self, a, to, left, keep, done, membership_atom::value, static_cast<uint8_t>(op), target);
  };
  redirecting(
    self, sys, id, timeout, attempt,
    [leader, then](status st) {
      if (!st) return then(std::move(st.error()));
      then(*leader);
    },
    // A new leader cannot change the membership before its noop commits: wait for it.
    [](const api_error& e) { return e.is(error_code::cluster_change_not_permitted); });
}

/// members_info's answer from the member list (`m`, from members()) and the leader's
/// member overview (`leader_view`: nullptr if it could not be read; the indexes then stay 0).
/// The leader's peer entries give each follower's replication state; for the leader itself
/// match_index is its last written index and next_index its last index + 1.
members_detail to_members_detail(const cluster_members& m, const server_overview* leader_view) {
  members_detail out;
  out.leader = m.leader;
  for (auto& mem : m.members) {
    member_info info{mem.id, mem.kind, mem.id == m.leader, index_t{0}, index_t{0}};
    if (info.is_leader && leader_view) {
      info.match_index = leader_view->last_written_index;
      info.next_index = index_t{leader_view->last_index.value + 1};
    } else if (auto* p = leader_view ? leader_view->find_peer(mem.id) : nullptr) {
      info.match_index = p->match_index;
      info.next_index = p->next_index;
    }
    out.members.push_back(std::move(info));
  }
  return out;
}

}  // namespace

// -- async -----------------------------------------------------------------------------------

void async::members(caf::event_based_actor* self, system& sys, const server_id& id, ms timeout,
                    callback<cluster_members> then) {
  const auto deadline = self->clock().now() + timeout;
  ask_members(self, sys, id, deadline, [self, sysp = &sys, id, deadline, then](std::optional<members_result> mine) {
    if (!mine) return then(make_api_error(api_errc::noproc, id.to_string() + " is not running or did not answer"));
    if (mine->leader.empty() || mine->leader == id) return then(cluster_members{mine->members, mine->leader});
    // Prefer the leader's view: it has the newest configuration.
    ask_members(self, *sysp, mine->leader, deadline, [mine = *mine, then](std::optional<members_result> theirs) {
      if (theirs && theirs->server_role == role::leader) return then(cluster_members{theirs->members, mine.leader});
      then(cluster_members{mine.members, mine.leader});
    });
  });
}

void async::members_info(caf::event_based_actor* self, system& sys, const server_id& id, ms timeout,
                         callback<members_detail> then) {
  const auto deadline = self->clock().now() + timeout;
  members(self, sys, id, timeout, [self, sysp = &sys, deadline, then](result<cluster_members> m) {
    if (!m) return then(std::move(m.error()));
    if (m->leader.empty()) return then(to_members_detail(*m, nullptr));
    ask_overview(self, *sysp, m->leader, std::max(left_until(self, deadline), ms{1}),
                 [m = *m, then](result<overview_result> ov) {
                   // Without the leader's view the members are still worth reporting.
                   then(to_members_detail(m, ov && ov->has_core ? &ov->core : nullptr));
                 });
  });
}

void async::add_member(caf::event_based_actor* self, system& sys, const server_id& id, const member& new_member,
                       ms timeout, callback<server_id> then) {
  change_membership(self, sys, id, membership_op::add, new_member, timeout, std::move(then));
}

void async::remove_member(caf::event_based_actor* self, system& sys, const server_id& id, const server_id& target,
                          ms timeout, callback<server_id> then) {
  change_membership(self, sys, id, membership_op::remove, member{target}, timeout, std::move(then));
}

void async::transfer_leadership(caf::event_based_actor* self, system& sys, const server_id& id,
                                const server_id& target, ms timeout, callback<done> then) {
  auto attempt = [self, target](const caf::actor& a, const server_id& to, ms left, attempt_done done) {
    request_command(self, a, to, left, {}, done, transfer_atom::value, target);
  };
  redirecting(self, sys, id, timeout, attempt, std::move(then));
}

// -- blocking --------------------------------------------------------------------------------

result<cluster_members> members(system& sys, const server_id& id, ms timeout) {
  return run_blocking<cluster_members>(async::members, sys, timeout, id);
}

result<members_detail> members_info(system& sys, const server_id& id, ms timeout) {
  return run_blocking<members_detail>(async::members_info, sys, timeout, id);
}

result<server_id> add_member(system& sys, const server_id& id, const member& new_member, ms timeout) {
  return run_blocking<server_id>(async::add_member, sys, timeout, id, new_member);
}

result<server_id> remove_member(system& sys, const server_id& id, const server_id& target, ms timeout) {
  return run_blocking<server_id>(async::remove_member, sys, timeout, id, target);
}

result<server_id> join_cluster(system& sys, const server_id& existing, const member& new_member, ms timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  auto left = [&] {
    return std::max(ms{1}, std::chrono::duration_cast<ms>(deadline - std::chrono::steady_clock::now()));
  };
  // The new server runs the cluster's machine under the cluster's name, knowing the
  // current members (it waits for the leader to contact it).
  auto overview = member_overview(sys, existing, left());
  if (!overview) return overview.error();
  auto current = members(sys, existing, left());
  if (!current) return current.error();
  // A peer's answer is data: a field of another type is "not reported", never a throw.
  auto text = [&](const char* key) {
    auto it = overview->find(key);
    return it != overview->end() && it->is_string() ? it->get<std::string>() : std::string{};
  };
  const auto cluster = text("cluster_name");
  const auto machine = text("machine_name");
  if (cluster.empty() || machine.empty())
    return make_api_error(api_errc::invalid_argument, existing.to_string() + " reports no cluster name or machine");
  auto initial = current->members;
  initial.push_back(new_member);
  if (auto started = start_server_on_node(sys, cluster, new_member.id, machine, initial, {}, left()); !started)
    return started.error();
  auto leader = add_member(sys, existing, new_member, left());
  if (!leader) {
    // Not a member: a server nobody will contact must not stay behind.
    (void)delete_server_on_node(sys, new_member.id, left());
    return leader.error();
  }
  return leader;
}

status transfer_leadership(system& sys, const server_id& id, const server_id& target, ms timeout) {
  return run_blocking<done>(async::transfer_leadership, sys, timeout, id, target);
}

}  // namespace ra
