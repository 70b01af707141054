// The public API beyond the first slice (api.hpp, "more lifecycle" and below): cluster
// deletion, leave_*, start_or_restart_cluster, commands with reply options, aux commands,
// members_info, member_overview and key_metrics.

#include <thread>

#include <caf/all.hpp>

#include "actors/api.hpp"
#include "actors/api_detail.hpp"
#include "actors/messages.hpp"

namespace ra {

namespace {

using namespace ra::actors;
using clock_type = std::chrono::steady_clock;
using ms = std::chrono::milliseconds;

ms left_until(clock_type::time_point deadline) {
  return std::chrono::duration_cast<ms>(deadline - clock_type::now());
}

api_error not_running(const server_id& id) { return make_api_error(api_errc::noproc, id.to_string() + " is not running"); }

/// Sends `request` (answered with a command_result) to `id`, following leaders by the
/// common rule (api_detail.hpp) until the deadline.
result<command_result> request_following_leader(system& sys, const server_id& id, ms timeout,
                                                const caf::message& request) {
  command_result out;
  auto st = detail::redirecting(sys, id, timeout, [&](caf::scoped_actor& self, const caf::actor& a, ms left) {
    std::optional<api_error> err;
    self->request(a, left, request)
      .receive(
        [&](const command_result& r) {
          if (r.failed)
            err = detail::from_command(r.error);
          else
            out = r;
        },
        [&](caf::error& e) { err = detail::from_caf(e, id); });
    return err;
  });
  if (!st) return *st.error;
  return out;
}

/// Waits until `id`'s last_applied reaches `index`.
status wait_applied(system& sys, const server_id& id, index_t index, ms timeout) {
  auto a = sys.lookup(id);
  if (!a) return not_running(id);
  caf::scoped_actor self{sys.actor_system()};
  std::optional<api_error> err;
  self->request(a, std::max(timeout, ms{1}), wait_applied_atom::value, index)
    .receive([](caf::ok_atom, index_t) {}, [&](caf::error& e) { err = detail::from_caf(e, id); });
  if (err) return *err;
  return done{};
}

bool wait_until(clock_type::time_point deadline, const std::function<bool()>& done_yet) {
  while (!done_yet()) {
    if (left_until(deadline).count() <= 0) return false;
    std::this_thread::sleep_for(ms{5});
  }
  return true;
}

}  // namespace

// -- lifecycle ------------------------------------------------------------------------------

result<cluster_started> start_or_restart_cluster(system& sys, const std::string& cluster_name,
                                                 const std::string& machine, const std::vector<server_id>& ids,
                                                 ms timeout, const std::string& machine_args) {
  const auto deadline = clock_type::now() + timeout;
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
  if (out.started.empty()) return make_api_error(api_errc::cluster_not_formed, "no server of " + cluster_name + " restarted");
  // Recovered servers elect by themselves (their election timers are armed).
  for (;;) {
    auto m = members(sys, out.started.front(), std::max(left_until(deadline), ms{1}));
    if (m && !m->leader.empty()) {
      out.leader = m->leader;
      return out;
    }
    if (left_until(deadline).count() <= 0) return make_api_error(api_errc::timeout, "no leader elected in cluster " + cluster_name);
    std::this_thread::sleep_for(detail::redirect_retry_pause);
  }
}

status force_delete_server(system& sys, const server_id& id, ms timeout) { return sys.delete_server(id, timeout); }

status delete_cluster(system& sys, const std::vector<server_id>& ids, ms timeout) {
  if (ids.empty()) return make_api_error(api_errc::invalid_argument, "delete_cluster needs the cluster's members");
  const auto deadline = clock_type::now() + timeout;
  // Ask the first local member that runs (any member can redirect to the leader).
  server_id ask = ids.front();
  for (auto& id : ids)
    if (sys.lookup(id)) {
      ask = id;
      break;
    }
  auto r = request_following_leader(sys, ask, timeout, caf::make_message(delete_cluster_atom::value));
  if (!r) return *r.error;
  bool gone = wait_until(deadline, [&] {
    for (auto& id : ids)
      if (id.node == sys.name() && (sys.is_running(id.name) || !sys.uid_of(id.name).empty())) return false;
    return true;
  });
  if (!gone) return make_api_error(api_errc::timeout, "the cluster was deleted but not every local member is gone yet");
  return done{};
}

status leave_and_terminate(system& sys, const server_id& id, const server_id& target, ms timeout) {
  const auto deadline = clock_type::now() + timeout;
  if (auto r = remove_member(sys, id, target, timeout); !r) return *r.error;
  if (target.node != sys.name() || !sys.is_running(target.name)) return done{};
  return sys.stop_server(target, std::max(left_until(deadline), ms{1}));
}

status leave_and_delete_server(system& sys, const server_id& id, const server_id& target, ms timeout) {
  const auto deadline = clock_type::now() + timeout;
  if (auto r = remove_member(sys, id, target, timeout); !r) return *r.error;
  if (target.node != sys.name()) return done{};
  return sys.delete_server(target, std::max(left_until(deadline), ms{1}));
}

// -- commands with options ------------------------------------------------------------------

result<raw_reply> process_command_raw(system& sys, const server_id& id, shared_bytes command,
                                      const command_options& opts, ms timeout) {
  const auto deadline = clock_type::now() + timeout;
  if (opts.mode == reply_mode::notify)
    return make_api_error(api_errc::invalid_argument, "reply mode notify: use pipeline_command");
  if (opts.from == reply_from::local && id.node != sys.name())
    return make_api_error(api_errc::invalid_argument, "reply_from local: " + id.to_string() + " is not on this node");
  if (opts.from == reply_from::member && opts.reply_member.empty())
    return make_api_error(api_errc::invalid_argument, "reply_from member needs reply_member");
  if (opts.mode == reply_mode::noreply) {
    auto a = sys.lookup(id);
    if (!a) return not_running(id);
    caf::anon_send(a, command_atom::value, std::move(command), static_cast<uint8_t>(reply_mode::noreply));
    return raw_reply{};
  }
  auto r = request_following_leader(sys, id, timeout,
                                    caf::make_message(command_atom::value, std::move(command),
                                                      static_cast<uint8_t>(opts.mode)));
  if (!r) return *r.error;
  raw_reply out{r->reply, r->leader, r->index, r->term};
  if (opts.mode == reply_mode::await_consensus && opts.from != reply_from::leader) {
    auto from = opts.from == reply_from::local ? id : opts.reply_member;
    if (auto st = wait_applied(sys, from, out.index, std::max(left_until(deadline), ms{1})); !st) return *st.error;
  }
  return out;
}

// -- aux, member details, metrics -------------------------------------------------------------

result<shared_bytes> aux_command_raw(system& sys, const server_id& id, shared_bytes command, ms timeout) {
  auto a = sys.lookup(id);
  if (!a) return not_running(id);
  caf::scoped_actor self{sys.actor_system()};
  std::optional<api_error> err;
  shared_bytes out;
  self->request(a, timeout, aux_atom::value, std::move(command))
    .receive(
      [&](const command_result& r) {
        if (r.failed)
          err = detail::from_command(r.error);
        else
          out = r.reply;
      },
      [&](caf::error& e) { err = detail::from_caf(e, id); });
  if (err) return *err;
  return out;
}

result<nlohmann::json> member_overview(system& sys, const server_id& id, ms timeout) {
  auto a = sys.lookup(id);
  if (!a) return not_running(id);
  caf::scoped_actor self{sys.actor_system()};
  std::optional<api_error> err;
  nlohmann::json out;
  self->request(a, timeout, overview_atom::value)
    .receive([&](const std::string& j) { out = nlohmann::json::parse(j, nullptr, false); },
             [&](caf::error& e) { err = detail::from_caf(e, id); });
  if (err) return *err;
  if (out.is_discarded()) return make_api_error(api_errc::bad_reply, "overview of " + id.to_string() + " is not JSON");
  return out;
}

result<members_detail> members_info(system& sys, const server_id& id, ms timeout) {
  const auto deadline = clock_type::now() + timeout;
  auto m = members(sys, id, timeout);
  if (!m) return *m.error;
  nlohmann::json leader_view;  // stays null if the leader's overview cannot be read
  if (!m->leader.empty())
    if (auto ov = member_overview(sys, m->leader, std::max(left_until(deadline), ms{1}))) leader_view = std::move(*ov);
  return detail::to_members_detail(*m, leader_view);
}

result<key_metrics_snapshot> key_metrics(const server_id& id) {
  auto block = detail::find_key_metrics(id.node, id.name);
  if (!block) return make_api_error(api_errc::noproc, id.to_string() + " never ran in this process");
  return block->read();
}

}  // namespace ra
