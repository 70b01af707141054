#include "actors/api.hpp"

#include <functional>
#include <thread>

#include <caf/all.hpp>

#include "actors/api_detail.hpp"
#include "actors/messages.hpp"

namespace ra {

namespace {

using namespace ra::actors;
using clock_type = std::chrono::steady_clock;
using ms = std::chrono::milliseconds;
// Shared with the async API (actors/async_api.cpp): same errors, same redirect rule.
using detail::from_caf;
using detail::from_command;

constexpr ms retry_pause = detail::redirect_retry_pause;

ms left_until(clock_type::time_point deadline) {
  return std::chrono::duration_cast<ms>(deadline - clock_type::now());
}

}  // namespace

status detail::redirecting(system& sys, server_id target, ms timeout, const attempt_fn& attempt,
                           const std::function<bool(const api_error&)>& retry_also) {
  const auto deadline = clock_type::now() + timeout;
  const server_id original = target;
  caf::scoped_actor self{sys.actor_system()};
  std::optional<api_error> last;
  for (;;) {
    auto left = left_until(deadline);
    if (left.count() <= 0) {
      auto e = make_api_error(api_errc::timeout, "no result from " + original.to_string() + " in time");
      if (last) e.message += " (last: " + last->to_string() + ")";
      return e;
    }
    auto a = sys.lookup(target);
    std::optional<api_error> err =
      a ? attempt(self, a, left) : make_api_error(api_errc::noproc, target.to_string() + " is not running");
    if (!err) return done{};
    last = err;
    auto step = detail::next_redirect_step(*err, target, original, retry_also && retry_also(*err));
    target = step.next;
    if (step.what == detail::redirect_step::kind::give_up) return *err;
    if (step.what == detail::redirect_step::kind::retry_now) continue;
    std::this_thread::sleep_for(std::min(retry_pause, std::max(left_until(deadline), ms{1})));
  }
}

namespace {
using detail::redirecting;
}  // namespace

// -- servers and clusters -----------------------------------------------------------------

status start_server(system& sys, const std::string& cluster_name, const server_id& id, const std::string& machine,
                    const std::vector<member>& initial_members, const std::string& machine_args) {
  return sys.start_server(cluster_name, id, machine, initial_members, machine_args);
}

status stop_server(system& sys, const server_id& id, ms timeout) { return sys.stop_server(id, timeout); }

status restart_server(system& sys, const server_id& id) { return sys.restart_server(id); }

status trigger_election(system& sys, const server_id& id, ms timeout) {
  auto a = sys.lookup(id);
  if (!a) return make_api_error(api_errc::noproc, id.to_string() + " is not running");
  caf::scoped_actor self{sys.actor_system()};
  std::optional<api_error> err;
  self->request(a, timeout, election_atom::value)
    .receive([](caf::ok_atom) {}, [&](caf::error& e) { err = from_caf(e, id); });
  if (err) return *err;
  return done{};
}

result<cluster_started> start_cluster(system& sys, const std::string& cluster_name, const std::string& machine,
                                      const std::vector<server_id>& ids, ms timeout,
                                      const std::string& machine_args) {
  const auto deadline = clock_type::now() + timeout;
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
      why += (why.empty() ? "" : "; ") + id.to_string() + ": " + st.error->to_string();
    }
  }
  if (out.started.size() < ids.size() / 2 + 1) {
    for (auto& id : out.started) sys.delete_server(id);
    return make_api_error(api_errc::cluster_not_formed, why);
  }
  if (auto st = trigger_election(sys, out.started.front(), std::max(left_until(deadline), ms{1})); !st)
    return *st.error;
  // Wait until a started member is leader.
  caf::scoped_actor self{sys.actor_system()};
  while (left_until(deadline).count() > 0) {
    for (auto& id : out.started) {
      auto a = sys.lookup(id);
      if (!a) continue;
      self->request(a, std::max(left_until(deadline), ms{1}), members_atom::value)
        .receive(
          [&](const members_result& r) {
            if (r.server_role == role::leader) out.leader = id;
          },
          [](caf::error&) {});
      if (!out.leader.empty()) return out;
    }
    std::this_thread::sleep_for(retry_pause);
  }
  return make_api_error(api_errc::timeout, "no leader elected in cluster " + cluster_name);
}

// -- commands ------------------------------------------------------------------------------

result<raw_reply> process_command_raw(system& sys, const server_id& id, shared_bytes command, ms timeout) {
  return process_command_raw(sys, id, std::move(command), command_options{}, timeout);  // api_admin.cpp
}

status pipeline_command_raw(system& sys, const server_id& id, shared_bytes command, uint64_t correlation,
                            const caf::actor& notify, command_priority priority) {
  auto a = sys.lookup(id);
  if (!a) return make_api_error(api_errc::noproc, id.to_string() + " is not running");
  caf::anon_send(a, pipeline_atom::value, std::move(command), correlation, static_cast<uint8_t>(priority), notify);
  return done{};
}

// -- queries ---------------------------------------------------------------------------------

result<query_reply<std::any>> query_raw(system& sys, const server_id& id, query_kind kind, query_fn fn, ms timeout) {
  query_reply<std::any> out;
  auto attempt = [&](caf::scoped_actor& self, const caf::actor& a, ms left) -> std::optional<api_error> {
    // A query carries a function: it cannot be serialised to another process.
    if (a.node() != self->system().node())
      return make_api_error(api_errc::invalid_argument,
                            "queries run in the caller's process: the server (or its leader) is on another node");
    std::optional<api_error> err;
    self->request(a, left, query_atom::value, query_msg{kind, fn})
      .receive(
        [&](const query_result& r) {
          if (r.failed)
            err = from_command(r.error);
          else
            out = query_reply<std::any>{r.value, r.leader};
        },
        [&](caf::error& e) { err = from_caf(e, id); });
    return err;
  };
  status st = done{};
  if (kind == query_kind::local) {
    auto a = sys.lookup(id);
    if (!a) return make_api_error(api_errc::noproc, id.to_string() + " is not running");
    caf::scoped_actor self{sys.actor_system()};
    if (auto err = attempt(self, a, timeout)) st = *err;
  } else {
    st = redirecting(sys, id, timeout, attempt);
  }
  if (!st) return *st.error;
  return out;
}

// -- membership ------------------------------------------------------------------------------

result<cluster_members> members(system& sys, const server_id& id, ms timeout) {
  const auto deadline = clock_type::now() + timeout;
  caf::scoped_actor self{sys.actor_system()};
  auto ask = [&](const server_id& who) -> std::optional<members_result> {
    auto a = sys.lookup(who);
    if (!a) return std::nullopt;
    std::optional<members_result> out;
    self->request(a, std::max(left_until(deadline), ms{1}), members_atom::value)
      .receive([&](const members_result& r) { out = r; }, [](caf::error&) {});
    return out;
  };
  auto mine = ask(id);
  if (!mine) return make_api_error(api_errc::noproc, id.to_string() + " is not running or did not answer");
  if (!mine->leader.empty() && mine->leader != id)
    if (auto theirs = ask(mine->leader); theirs && theirs->server_role == role::leader)
      return cluster_members{theirs->members, mine->leader};
  return cluster_members{mine->members, mine->leader};
}

namespace {

result<server_id> change_membership(system& sys, const server_id& id, membership_op op, const member& target,
                                    ms timeout) {
  server_id leader;
  auto st = redirecting(
    sys, id, timeout,
    [&](caf::scoped_actor& self, const caf::actor& a, ms left) {
      std::optional<api_error> err;
      self->request(a, left, membership_atom::value, static_cast<uint8_t>(op), target)
        .receive(
          [&](const command_result& r) {
            if (r.failed)
              err = from_command(r.error);
            else
              leader = r.leader;
          },
          [&](caf::error& e) { err = from_caf(e, id); });
      return err;
    },
    // A new leader cannot change the membership before its noop commits: wait for it.
    [](const api_error& e) { return e.is(error_code::cluster_change_not_permitted); });
  if (!st) return *st.error;
  return leader;
}

}  // namespace

result<server_id> add_member(system& sys, const server_id& id, const member& new_member, ms timeout) {
  return change_membership(sys, id, membership_op::add, new_member, timeout);
}

result<server_id> remove_member(system& sys, const server_id& id, const server_id& target, ms timeout) {
  return change_membership(sys, id, membership_op::remove, member{target}, timeout);
}

status transfer_leadership(system& sys, const server_id& id, const server_id& target, ms timeout) {
  return redirecting(sys, id, timeout, [&](caf::scoped_actor& self, const caf::actor& a, ms left) {
    std::optional<api_error> err;
    self->request(a, left, transfer_atom::value, target)
      .receive(
        [&](const command_result& r) {
          if (r.failed) err = from_command(r.error);
        },
        [&](caf::error& e) { err = from_caf(e, id); });
    return err;
  });
}

nlohmann::json overview(system& sys, ms timeout) { return sys.overview(timeout); }

}  // namespace ra
