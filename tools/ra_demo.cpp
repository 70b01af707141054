// ra-demo: a three-member cluster running a counter, in the deterministic simulator,
// told in plain words: election, commands, the leader killed, a new election, more
// commands, the dead member restarted and caught up, and finally every member holding
// the sum of all acknowledged increments.
//
//   ra-demo [--verbose]     (--verbose adds the simulator's full event log)
//
// Exit status 0 if nothing was lost, 1 if the demo failed, 2 on a usage error.

#include <iostream>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

#include "ra/codec.hpp"
#include "ra/typed_machine.hpp"
#include "ra/machines/counter.hpp"
#include "ra/version.hpp"
#include "sim/cluster.hpp"

namespace {

using ra::sim::sim_cluster;

/// Prints role changes that matter to a reader and collects command replies.
class narrator final : public ra::sim::cluster_observer {
 public:
  explicit narrator(sim_cluster& c) : cluster_(c) {}

  void on_role_change(int node, const ra::role_change_action& a) override {
    if (a.to == ra::role::leader)
      say(cluster_.node(node).name() + " was elected leader for term " + std::to_string(a.term.value));
  }
  void on_client_action(int, const ra::action& a) override {
    if (const auto* r = std::get_if<ra::reply_action>(&a))
      replies_[r->to.id] = *r;
  }

  void say(const std::string& what) const { std::cout << cluster_.stamp() << " " << what << std::endl; }
  std::optional<ra::reply_action> take_reply(uint64_t ref) {
    auto it = replies_.find(ref);
    if (it == replies_.end())
      return std::nullopt;
    auto r = it->second;
    replies_.erase(it);
    return r;
  }

 private:
  sim_cluster& cluster_;
  std::map<uint64_t, ra::reply_action> replies_;
};

class demo {
 public:
  demo() : cluster_(2024, [](int) { return ra::make_machine<ra::machines::counter>(); }), narrator_(cluster_) {
    cluster_.set_observer(&narrator_);
    std::vector<ra::member> members;
    for (const char* name : {"ra1", "ra2", "ra3"})
      members.push_back(ra::member{ra::server_id{name, ""}, ra::membership::voter, ra::index_t{0}});
    for (const auto& m : members) {
      ra::server_config c;
      c.id = m.id;
      c.cluster_name = "demo";
      c.initial_members = members;
      c.broadcast_time_ms = 50;
      c.detector_poll_ms = 500;
      c.tick_timeout_ms = 200;
      cluster_.add_node(c);
    }
    cluster_.net().set_profile(ra::sim::network_profile{1, 5, 0, 0, 0, 0});
  }

  void trace_events(std::ostream& out) { cluster_.set_trace(&out); }

  int run() {
    for (int i = 0; i < 3; ++i)
      cluster_.start(i);
    narrator_.say("started members ra1, ra2, ra3 (counter machine, value 0)");
    // As ra:start_cluster: a brand-new cluster waits until one member is told to elect.
    cluster_.invoke(0, [](ra::server& s) { s.handle_trigger_election(); });
    if (!await_leader(std::nullopt))
      return fail("no leader was elected");

    for (int64_t inc = 1; inc <= 5; ++inc)
      if (!increment(inc))
        return fail("increment " + std::to_string(inc) + " was not acknowledged");

    const int old_leader = *cluster_.leader();
    narrator_.say("killing the leader " + name(old_leader) + " (a crash: anything not yet on its disk is lost)");
    cluster_.crash(old_leader);
    if (!await_leader(old_leader))
      return fail("no new leader after the crash");

    for (int64_t inc = 10; inc <= 50; inc += 10)
      if (!increment(inc))
        return fail("increment " + std::to_string(inc) + " was not acknowledged");

    narrator_.say("restarting " + name(old_leader) + " from its disk");
    cluster_.restart(old_leader);
    const bool caught_up = cluster_.run_until([&] { return converged(); }, cluster_.now() + 20000);
    if (!caught_up)
      return fail("the members did not converge");
    narrator_.say(name(old_leader) + " caught up: every member applied up to index " +
                  std::to_string(cluster_.node(old_leader).server->last_applied().value));

    bool all_equal = true;
    for (int i = 0; i < 3; ++i) {
      const int64_t value = ra::machine_state<int64_t>(cluster_.node(i).server->state_machine());
      narrator_.say("  " + name(i) + ": counter = " + std::to_string(value));
      all_equal = all_equal && value == acknowledged_sum_;
    }
    if (!all_equal)
      return fail("a member's counter differs from the sum of acknowledged increments (" +
                  std::to_string(acknowledged_sum_) + ")");
    narrator_.say("every member holds " + std::to_string(acknowledged_sum_) +
                  ", the sum of all acknowledged increments: nothing lost");
    return 0;
  }

 private:
  std::string name(int i) const { return cluster_.node(i).name(); }

  int fail(const std::string& why) {
    narrator_.say("FAILED: " + why);
    return 1;
  }

  bool await_leader(std::optional<int> not_this) {
    return cluster_.run_until(
      [&] {
        auto l = cluster_.leader();
        return l && l != not_this;
      },
      cluster_.now() + 20000);
  }

  /// Submits one increment to the leader, retrying on redirects, until acknowledged.
  bool increment(int64_t inc) {
    const ra::sim::sim_time deadline = cluster_.now() + 20000;
    while (cluster_.now() < deadline) {
      if (!await_leader(std::nullopt))
        return false;
      const uint64_t ref = next_ref_++;
      cluster_.invoke(*cluster_.leader(), [&](ra::server& s) {
        s.handle_command(ra::command_request{ra::client_ref{ref}, ra::encode(inc)});
      });
      std::optional<ra::reply_action> reply;
      cluster_.run_until([&] { return (reply = narrator_.take_reply(ref)).has_value(); }, cluster_.now() + 5000);
      if (!reply)
        return false;
      if (reply->error) {
        // Only a refusal is safe to retry: after e.g. leadership_lost the increment may
        // still commit, and sending it again could count it twice.
        if (reply->error->code != ra::error_code::not_leader)
          return false;
        cluster_.run_until([] { return false; }, cluster_.now() + 20);
        continue;
      }
      const auto value = ra::decode<int64_t>(reply->reply);
      acknowledged_sum_ += inc;
      narrator_.say("+" + std::to_string(inc) + " committed at index " + std::to_string(reply->index.value) +
                    " by leader " + reply->leader.to_string() + ": counter = " + (value ? std::to_string(*value) : "?"));
      return true;
    }
    return false;
  }

  bool converged() const {
    const auto leader = cluster_.leader();
    if (!leader)
      return false;
    const ra::index_t commit = cluster_.node(*leader).server->commit_index();
    for (int i = 0; i < 3; ++i)
      if (!cluster_.running(i) || cluster_.node(i).server->last_applied() < commit)
        return false;
    return true;
  }

  sim_cluster cluster_;
  narrator narrator_;
  uint64_t next_ref_ = 1;
  int64_t acknowledged_sum_ = 0;
};

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"ra-demo: a 3-member counter cluster in the deterministic simulator, through a leader crash\n"
               "Exit status: 0 nothing was lost, 1 the demo failed, 2 usage error."};
  bool verbose = false;
  app.add_flag("--verbose", verbose, "also print every simulated event (messages, timers, disk syncs)");
  app.set_version_flag("--version", "ra-demo " RA_VERSION_STRING);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? 0 : 2;
  }
  demo d;
  if (verbose)
    d.trace_events(std::cout);
  return d.run();
}
