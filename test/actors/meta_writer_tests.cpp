// Durable votes on the real runtime (reliability review F11): a server's term and vote go
// to the node's meta writer actor, which commits the votes of many servers with one sync,
// and nothing the server does after a vote leaves it before the vote is durable.

#include <atomic>
#include <string>
#include <thread>

#include "actors/system_core.hpp"
#include "io/file.hpp"
#include "test/actors/runtime_fixture.hpp"

using namespace ra;
using namespace ra::test;

namespace {

std::vector<member> members_of(const std::vector<server_id>& ids) {
  std::vector<member> out;
  for (auto& id : ids) out.push_back(member{id});
  return out;
}

/// The leader `id` knows of, once it knows one.
std::optional<server_id> await_leader(ra::system& sys, const server_id& id) {
  std::optional<server_id> leader;
  eventually([&] {
    auto m = members(sys, id, 1s);
    if (m && !m->leader.name.empty()) leader = m->leader;
    return leader.has_value();
  });
  return leader;
}

}  // namespace

TEST_CASE("actors: the votes of many clusters' elections share meta store syncs", "[actors][meta]") {
  temp_dir dir;
  storage::faulty_file_system fs{storage::file_system::posix()};
  // The meta store's disk is stalled while the elections start: every vote made meanwhile
  // must wait in the meta writer's mailbox, not in a sync of its own (nor block one of
  // the two scheduler threads: then the elections could not even begin).
  std::atomic<int> meta_syncs{0};
  std::atomic<bool> stalled{false};
  fs.set_rule([&](std::string_view op, const std::string& path) {
    if (op == "sync" && path.ends_with("/meta.log")) {
      ++meta_syncs;
      for (int waited = 0; stalled && waited < 5000; ++waited) std::this_thread::sleep_for(1ms);
    }
    return 0;
  });
  auto cfg = make_config("n1", dir.path());
  cfg.fs = &fs;
  spdlog::set_level(spdlog::level::warn);
  auto sys = ra::system::start(cfg);
  REQUIRE(sys);
  constexpr int clusters = 20;
  std::vector<server_id> firsts;
  for (int c = 0; c < clusters; ++c) {
    auto n = std::to_string(c);
    std::vector<server_id> ids{{"a" + n, "n1"}, {"b" + n, "n1"}, {"c" + n, "n1"}};
    for (auto& id : ids) REQUIRE(start_server(**sys, "c" + n, id, "counter", members_of(ids)));
    firsts.push_back(ids.front());
  }
  auto core = detail::find_system("n1");
  REQUIRE(core);
  const uint64_t votes_before = core->meta->votes_written();
  const int syncs_before = meta_syncs.load();
  stalled = true;
  for (auto& f : firsts) CHECK(trigger_election(**sys, f));
  std::this_thread::sleep_for(300ms);  // the candidates' votes queue behind the stalled sync
  stalled = false;
  for (auto& f : firsts) {
    auto leader = await_leader(**sys, f);
    REQUIRE(leader);
    CHECK(add(**sys, *leader, 1) == 1);
  }
  // Every election made at least two votes durable (the candidate's own, and the grant
  // of the follower that completed its majority). One sync per vote (each server syncing
  // on its own, as before the meta writer) would need as many syncs as votes.
  const int syncs = meta_syncs.load() - syncs_before;
  const uint64_t votes = core->meta->votes_written() - votes_before;
  INFO(votes << " votes of " << clusters << " elections in " << syncs << " syncs");
  CHECK(votes >= 2 * clusters);
  CHECK(2 * static_cast<uint64_t>(syncs) <= votes);
}

TEST_CASE("actors: a vote that does not become durable is never acted on, and is retried until it is", "[actors][meta][faults]") {
  temp_dir dir;
  storage::faulty_file_system fs{storage::file_system::posix()};
  auto cfg = make_config("n1", dir.path());
  cfg.fs = &fs;
  cfg.server_defaults.await_condition_timeout_ms = 300;  // a failed transfer ends soon
  spdlog::set_level(spdlog::level::off);  // the failed votes' warnings are expected
  auto sys = ra::system::start(cfg);
  REQUIRE(sys);
  std::vector<server_id> ids{{"s1", "n1"}, {"s2", "n1"}, {"s3", "n1"}};
  auto c = start_cluster(**sys, "c1", "counter", ids, 10s);
  REQUIRE(c);
  const server_id leader = c->leader;
  CHECK(add(**sys, leader, 1) == 1);
  auto term_before = key_metrics(leader);
  REQUIRE(term_before);
  server_id target = ids[0] == leader ? ids[1] : ids[0];
  // From now on no vote can be made durable (a full disk). The transfer makes `target` a
  // candidate in a new term at once (no pre-vote): its term and self-vote fail to
  // persist, so its vote requests must never leave it. Had they left, the other two
  // would adopt the new term and could not persist it either: no leader would remain.
  std::atomic<int> failed_syncs{0};
  fs.set_rule([&](std::string_view op, const std::string& path) {
    if (op == "sync" && path.ends_with("/meta.log")) return ++failed_syncs, ENOSPC;
    return 0;
  });
  // The transfer is refused (not_up_to_date) until `target` has acknowledged the leader's
  // last entry, which the add above did not wait for: ask until the leader accepts.
  CHECK(eventually([&] { return transfer_leadership(**sys, leader, target, 2s).has_value(); }));
  // The old leader leads on in its term once the transfer has timed out.
  CHECK(eventually([&] {
    auto r = process_command<int64_t>(**sys, leader, int64_t{1}, 1s);
    return r.has_value();
  }));
  auto term_after = key_metrics(leader);
  REQUIRE(term_after);
  CHECK(term_after->term == term_before->term);
  // The candidate did not stop: it retries its vote (more than one failed sync), waiting.
  CHECK(eventually([&] { return failed_syncs.load() >= 3; }));
  CHECK((*sys)->is_running(target.name));
  // The disk recovers: the vote becomes durable, the candidate's election goes on, and
  // the cluster serves in a later term.
  fs.clear();
  CHECK(eventually([&] {
    for (auto& id : ids) {
      auto m = key_metrics(id);
      if (!m || m->state != role::leader || m->term <= term_before->term) continue;
      if (process_command<int64_t>(**sys, id, int64_t{1}, 1s)) return true;
    }
    return false;
  }));
  CHECK((*sys)->is_running(target.name));
}
