// The actor runtime and the public API under a real actor system (real threads): clusters
// of counter machines in one ra::system on a temp data dir. Every wait is bounded.

#include <catch2/catch.hpp>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <optional>
#include <stdexcept>
#include <thread>

#include <caf/all.hpp>
#include <spdlog/spdlog.h>

#include "ra/api.hpp"
#include "actors/messages.hpp"
#include "ra/effects.hpp"
#include "ra/machines/counter.hpp"
#include "test/actors/runtime_fixture.hpp"

using namespace ra;
using namespace ra::test;
using namespace std::chrono_literals;


TEST_CASE("actors: a 3-member cluster processes commands", "[actors]") {
  temp_dir dir;
  auto sys = start_system("n1", dir.path());
  auto ids = ids_of(*sys, {"s1", "s2", "s3"});
  auto c = start_cluster(*sys, "c1", "counter", ids, 10s);
  REQUIRE(c);
  CHECK(c->started.size() == 3);
  CHECK(c->not_started.empty());
  CHECK(!c->leader.empty());

  // Sent to a follower on purpose: redirected to the leader.
  server_id follower = c->leader == ids[0] ? ids[1] : ids[0];
  auto r1 = process_command<int64_t>(*sys, follower, int64_t{5});
  REQUIRE(r1);
  CHECK(r1->reply == 5);
  CHECK(r1->leader == c->leader);
  auto r2 = process_command<int64_t>(*sys, c->leader, int64_t{7});
  REQUIRE(r2);
  CHECK(r2->reply == 12);
  for (auto& id : ids) CHECK(await_local(*sys, id, 12) == 12);

  auto m = members(*sys, follower);
  REQUIRE(m);
  CHECK(m->members.size() == 3);
  CHECK(m->leader == c->leader);

  auto ov = overview(*sys);
  CHECK(ov["servers"].size() == 3);
  CHECK(ov["servers"]["s1"]["running"] == true);
  sys->stop();
}

TEST_CASE("actors: start_cluster without a majority fails with cluster_not_formed", "[actors]") {
  temp_dir dir;
  auto sys = start_system("n1", dir.path());
  auto ids = ids_of(*sys, {"s1", "s2", "s3"});
  auto c = start_cluster(*sys, "c1", "no_such_machine", ids, 5s);
  REQUIRE(!c);
  CHECK(c.error().code == api_errc::cluster_not_formed);
  CHECK(sys->known_servers().empty());
}

TEST_CASE("actors: a server that cannot start reports a typed error code", "[actors]") {
  temp_dir dir;
  server_id id{"s1", "n1"};
  {
    auto sys = start_system("n1", dir.path());
    REQUIRE(sys->start_server("c1", id, "counter", {member{id}}));
    REQUIRE(stop_server(*sys, id));
    sys->stop();
  }
  // Restarts s1 on a system whose only machine (if any) is `counter`; returns the status.
  auto restart_with = [&](std::optional<machine_factory> counter) {
    auto cfg = make_config("n1", dir.path());
    cfg.machines.clear();
    if (counter) cfg.machines["counter"] = *counter;
    auto s = ra::system::start(cfg);
    REQUIRE(s);
    auto st = restart_server(**s, id);
    CHECK(!(*s)->is_running(id.name));
    return st;
  };
  SECTION("its machine is no longer registered: invalid_argument") {
    auto st = restart_with(std::nullopt);
    REQUIRE(!st);
    CHECK(st.error().code == api_errc::invalid_argument);
    CHECK(st.error().message.find("unknown machine 'counter'") != std::string::npos);
  }
  SECTION("its machine factory fails: storage, whatever the message says") {
    // The kind travels as a code: a failure whose text happens to read "unknown machine"
    // is not taken for a configuration error (the old substring match did).
    auto st = restart_with([](const std::string&) -> std::unique_ptr<machine> {
      throw std::runtime_error("unknown machine state on disk");
    });
    REQUIRE(!st);
    CHECK(st.error().code == api_errc::storage);
    CHECK(st.error().message.find("machine factory failed: unknown machine state on disk") != std::string::npos);
  }
}

TEST_CASE("actors: errors are results, not exceptions", "[actors]") {
  temp_dir dir;
  auto sys = start_system("n1", dir.path());
  auto r = process_command<int64_t>(*sys, server_id{"nobody", "n1"}, int64_t{1}, 1s);
  REQUIRE(!r);
  CHECK(r.error().code == api_errc::noproc);
  auto st = restart_server(*sys, server_id{"nobody", "n1"});
  REQUIRE(!st);
  CHECK(st.error().code == api_errc::noproc);
}

TEST_CASE("actors: stopping the leader elects a new one and commands continue", "[actors]") {
  temp_dir dir;
  auto sys = start_system("n1", dir.path());
  auto ids = ids_of(*sys, {"s1", "s2", "s3"});
  auto c = start_cluster(*sys, "c1", "counter", ids, 10s);
  REQUIRE(c);
  CHECK(add(*sys, c->leader, 5) == 5);
  auto old_leader = c->leader;
  REQUIRE(stop_server(*sys, old_leader));
  CHECK(!sys->is_running(old_leader.name));

  server_id survivor = old_leader == ids[0] ? ids[1] : ids[0];
  auto r = process_command<int64_t>(*sys, survivor, int64_t{7}, 10s);
  REQUIRE(r);
  CHECK(r->reply == 12);
  CHECK(r->leader != old_leader);
  CHECK(add(*sys, survivor, 1) == 13);

  // The old leader comes back from disk and catches up.
  REQUIRE(restart_server(*sys, old_leader));
  CHECK(await_local(*sys, old_leader, 13) == 13);
  CHECK(add(*sys, old_leader, 2) == 15);
}

TEST_CASE("actors: restart_server recovers a stopped follower from disk", "[actors]") {
  temp_dir dir;
  auto sys = start_system("n1", dir.path());
  auto ids = ids_of(*sys, {"s1", "s2", "s3"});
  auto c = start_cluster(*sys, "c1", "counter", ids, 10s);
  REQUIRE(c);
  server_id follower = c->leader == ids[2] ? ids[1] : ids[2];
  for (int i = 1; i <= 10; ++i) add(*sys, c->leader, i);  // 55
  REQUIRE(await_local(*sys, follower, 55) == 55);
  REQUIRE(stop_server(*sys, follower));
  for (int i = 0; i < 5; ++i) add(*sys, c->leader, 100);  // 555 while it is down
  REQUIRE(restart_server(*sys, follower));
  CHECK(await_local(*sys, follower, 555) == 555);
  auto st = restart_server(*sys, follower);
  REQUIRE(!st);
  CHECK(st.error().code == api_errc::invalid_argument);  // already running
}

TEST_CASE("actors: consistent_query sees every acknowledged write", "[actors]") {
  temp_dir dir;
  auto sys = start_system("n1", dir.path());
  auto ids = ids_of(*sys, {"s1", "s2", "s3"});
  auto c = start_cluster(*sys, "c1", "counter", ids, 10s);
  REQUIRE(c);
  int64_t expected = 0;
  for (int i = 1; i <= 20; ++i) {
    expected = add(*sys, ids[i % 3], i);
    // Asked of any member (redirected to the leader).
    auto q = consistent_query<int64_t>(*sys, ids[(i + 1) % 3], [](const int64_t& s) { return s; });
    REQUIRE(q);
    CHECK(q->value >= expected);
    CHECK(q->leader == c->leader);
  }
  CHECK(expected == 210);
  auto lq = leader_query<int64_t>(*sys, ids[0], [](const int64_t& s) { return s * 2; });
  REQUIRE(lq);
  CHECK(lq->value == 420);
}

TEST_CASE("actors: add and remove a member", "[actors]") {
  temp_dir dir;
  auto sys = start_system("n1", dir.path());
  auto ids = ids_of(*sys, {"s1", "s2", "s3"});
  auto c = start_cluster(*sys, "c1", "counter", ids, 10s);
  REQUIRE(c);
  CHECK(add(*sys, c->leader, 40) == 40);

  server_id s4{"s4", sys->name()};
  std::vector<member> with_s4;
  for (auto& id : ids) with_s4.push_back(member{id});
  with_s4.push_back(member{s4});
  REQUIRE(start_server(*sys, "c1", s4, "counter", with_s4));
  auto added = add_member(*sys, ids[0], member{s4}, 10s);
  REQUIRE(added);
  CHECK(*added == c->leader);
  CHECK(add(*sys, ids[1], 2) == 42);
  CHECK(await_local(*sys, s4, 42) == 42);
  auto m = members(*sys, ids[0]);
  REQUIRE(m);
  CHECK(m->members.size() == 4);

  // Remove a follower (not the leader), then the cluster of 3 goes on.
  server_id gone = c->leader == ids[1] ? ids[2] : ids[1];
  auto removed = remove_member(*sys, ids[0], gone, 10s);
  REQUIRE(removed);
  m = members(*sys, c->leader);
  REQUIRE(m);
  CHECK(m->members.size() == 3);
  for (auto& mm : m->members) CHECK(mm.id != gone);
  CHECK(add(*sys, s4, 1) == 43);
}

TEST_CASE("actors: transfer_leadership hands leadership to a caught-up voter", "[actors]") {
  temp_dir dir;
  auto sys = start_system("n1", dir.path());
  auto ids = ids_of(*sys, {"s1", "s2", "s3"});
  auto c = start_cluster(*sys, "c1", "counter", ids, 10s);
  REQUIRE(c);
  CHECK(add(*sys, c->leader, 1) == 1);
  server_id target = c->leader == ids[0] ? ids[1] : ids[0];
  // Wait until the target acknowledged everything (the leader refuses otherwise).
  REQUIRE(await_local(*sys, target, 1) == 1);
  status st = make_api_error(api_errc::timeout);
  for (int i = 0; i < 50 && !st; ++i) {
    st = transfer_leadership(*sys, c->leader, target);
    if (!st) std::this_thread::sleep_for(20ms);
  }
  REQUIRE(st);
  auto deadline = std::chrono::steady_clock::now() + 10s;
  server_id now_leader;
  while (std::chrono::steady_clock::now() < deadline && now_leader != target) {
    if (auto m = members(*sys, target); m) now_leader = m->leader;
    std::this_thread::sleep_for(10ms);
  }
  CHECK(now_leader == target);
  CHECK(add(*sys, ids[2], 1) == 2);
}

TEST_CASE("actors: a system restarted on the same data dir recovers every acknowledged command", "[actors]") {
  temp_dir dir;
  int64_t acked = 0;
  std::vector<server_id> ids;
  {
    auto sys = start_system("n1", dir.path());
    ids = ids_of(*sys, {"s1", "s2", "s3"});
    auto c = start_cluster(*sys, "c1", "counter", ids, 10s);
    REQUIRE(c);
    for (int i = 1; i <= 50; ++i) acked = add(*sys, ids[i % 3], i);
    CHECK(acked == 1275);
    sys->stop();
  }
  auto sys = start_system("n1", dir.path());
  CHECK(sys->known_servers().size() == 3);
  for (auto& id : ids) REQUIRE(restart_server(*sys, id));
  // A recovered cluster elects a leader by itself.
  auto q = consistent_query<int64_t>(*sys, ids[0], [](const int64_t& s) { return s; }, 15s);
  REQUIRE(q);
  CHECK(q->value == acked);
  CHECK(add(*sys, ids[1], 1) == acked + 1);
}

TEST_CASE("actors: pipelined commands are notified in batches", "[actors]") {
  temp_dir dir;
  auto sys = start_system("n1", dir.path());
  auto ids = ids_of(*sys, {"s1", "s2", "s3"});
  auto c = start_cluster(*sys, "c1", "counter", ids, 10s);
  REQUIRE(c);
  caf::scoped_actor self{sys->actor_system()};
  auto me = caf::actor_cast<caf::actor>(self);
  for (uint64_t i = 1; i <= 20; ++i) REQUIRE(pipeline_command(*sys, c->leader, int64_t{1}, i, me));
  std::vector<uint64_t> applied;
  bool timed_out = false;
  while (applied.size() < 20 && !timed_out) {
    self->receive([&](actors::applied_atom, const actors::applied_batch& b) {
                    for (auto& [corr, reply] : b.applied) applied.push_back(corr);
                  },
                  [&](actors::rejected_atom, uint64_t, const command_error&) { FAIL("rejected"); },
                  caf::after(10s) >> [&] { timed_out = true; });
  }
  REQUIRE(applied.size() == 20);
  for (uint64_t i = 0; i < 20; ++i) CHECK(applied[i] == i + 1);
  CHECK(add(*sys, c->leader, 0) == 20);
}

namespace {

/// A counter that throws on the command 13 (a buggy machine).
struct fragile_counter {
  using command_type = int64_t;
  using state_type = int64_t;
  using reply_type = int64_t;
  state_type init() const { return 0; }
  apply_result<state_type, reply_type> apply(const command_meta&, const command_type& c, state_type s) const {
    if (c == 13) throw std::runtime_error("unlucky");
    s += c;
    return {s, s};
  }
};

}  // namespace

TEST_CASE("actors: a machine that throws stops its servers only (apply_failure_policy::stop)", "[actors]") {
  temp_dir dir;
  auto cfg = make_config("n1", dir.path());
  cfg.server_defaults.on_apply_failure = apply_failure_policy::stop;
  cfg.machines["fragile"] = [](const std::string&) { return make_machine<fragile_counter>(); };
  spdlog::set_level(spdlog::level::off);  // the stop is logged as an error
  auto started = ra::system::start(cfg);
  REQUIRE(started);
  auto& sys = **started;
  auto a = ids_of(sys, {"a1", "a2", "a3"});
  auto b = ids_of(sys, {"b1", "b2", "b3"});
  auto ca = start_cluster(sys, "a", "fragile", a, 10s);
  auto cb = start_cluster(sys, "b", "counter", b, 10s);
  REQUIRE(ca);
  REQUIRE(cb);
  CHECK(add(sys, ca->leader, 1) == 1);
  auto r = process_command<int64_t>(sys, ca->leader, int64_t{13}, 3s);
  REQUIRE(!r);
  // The leader applied it and stopped (the followers stop too once they learn that the
  // entry committed; the last one may never learn it).
  auto deadline = std::chrono::steady_clock::now() + 10s;
  while (sys.is_running(ca->leader.name) && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(10ms);
  CHECK(!sys.is_running(ca->leader.name));
  CHECK(add(sys, b[0], 2) == 2);
  spdlog::set_level(spdlog::level::warn);
}

/// Whether process_command<Machine> compiles with a command of type Cmd.
template <class Machine, class Cmd>
concept submittable_to = requires(ra::system& s, server_id id, Cmd c) { process_command<Machine>(s, id, c); };

TEST_CASE("actors: a throwing apply is skipped by every member under the default reject policy", "[actors][poison]") {
  temp_dir dir;
  spdlog::set_level(spdlog::level::warn);
  auto cfg = make_config("n1", dir.path());
  cfg.machines["fragile"] = [](const std::string&) { return make_machine<fragile_counter>(); };
  auto started = ra::system::start(cfg);
  REQUIRE(started);
  auto& sys = **started;
  auto ids = ids_of(sys, {"a1", "a2", "a3"});
  auto c = start_cluster(sys, "a", "fragile", ids, 10s);
  REQUIRE(c);
  CHECK(add(sys, c->leader, 1) == 1);
  auto poison = process_command<int64_t>(sys, c->leader, int64_t{13}, 10s);
  REQUIRE(!poison);
  CHECK(poison.error().is(error_code::apply_failed));
  for (auto& id : ids) {
    INFO(id.name);
    CHECK(eventually([&] {
      auto m = key_metrics(id);
      return m && m->commands_rejected == 1;
    }));
    CHECK(await_local(sys, id, 1) == 1);  // the state as before the poison command
    CHECK(sys.is_running(id.name));
  }
  CHECK(add(sys, c->leader, 2) == 3);
  // A restart applies the log again: the same command is skipped again, nothing stops.
  REQUIRE(stop_server(sys, ids[0]));
  REQUIRE(restart_server(sys, ids[0]));
  CHECK(await_local(sys, ids[0], 3) == 3);
}

TEST_CASE("actors: a command of the wrong type is refused before it is appended", "[actors][poison]") {
  temp_dir dir;
  auto sys = start_system("n1", dir.path());
  const std::vector<server_id> ids{start_single_counter(*sys)};
  CHECK(add(*sys, ids[0], 5) == 5);
  // Typed with the machine: the command type is checked at compile time.
  static_assert(submittable_to<machines::counter, int64_t>);
  static_assert(!submittable_to<machines::counter, std::string>);
  auto typed = process_command<machines::counter>(*sys, ids[0], int64_t{2}, 10s);
  REQUIRE(typed);
  CHECK(typed->reply == 7);
  // Typed by reply only, the mistake compiles: the leader refuses it.
  auto wrong = process_command<int64_t>(*sys, ids[0], std::string("not an increment"), 10s);
  REQUIRE(!wrong);
  CHECK(wrong.error().is(error_code::bad_command));
  CHECK(sys->is_running("s1"));
  CHECK(add(*sys, ids[0], 1) == 8);
}

TEST_CASE("actors: two systems in one process form one cluster", "[actors]") {
  temp_dir d1, d2;
  auto n1 = start_system("n1", d1.path());
  auto n2 = start_system("n2", d2.path());
  server_id s1{"s1", "n1"}, s2{"s2", "n2"}, s3{"s3", "n2"};
  std::vector<member> all{member{s1}, member{s2}, member{s3}};
  REQUIRE(start_server(*n1, "x", s1, "counter", all));
  REQUIRE(start_server(*n2, "x", s2, "counter", all));
  REQUIRE(start_server(*n2, "x", s3, "counter", all));
  REQUIRE(trigger_election(*n1, s1));
  auto r = process_command<int64_t>(*n1, s1, int64_t{5}, 10s);
  REQUIRE(r);
  CHECK(r->reply == 5);
  // Through the other system: redirected across systems to the leader.
  auto r2 = process_command<int64_t>(*n2, s3, int64_t{7}, 10s);
  REQUIRE(r2);
  CHECK(r2->reply == 12);
  CHECK(await_local(*n2, s2, 12) == 12);
  n2->stop();
  n1->stop();
}

TEST_CASE("actors: WAL roll-overs move entries to segments, and restarts read both", "[actors]") {
  temp_dir dir;
  auto cfg = make_config("n1", dir.path());
  cfg.wal.wal_max_entries = 16;  // roll over every few commands: the segment writer works
  cfg.segments.segment_max_entries = 32;
  spdlog::set_level(spdlog::level::warn);
  int64_t acked = 0;
  std::vector<server_id> ids;
  {
    auto started = ra::system::start(cfg);
    REQUIRE(started);
    auto& sys = **started;
    ids = ids_of(sys, {"s1", "s2", "s3"});
    auto c = start_cluster(sys, "c1", "counter", ids, 10s);
    REQUIRE(c);
    server_id follower = c->leader == ids[0] ? ids[1] : ids[0];
    for (int i = 1; i <= 40; ++i) acked = add(sys, c->leader, i);
    REQUIRE(await_local(sys, follower, acked) == acked);
    REQUIRE(stop_server(sys, follower));
    for (int i = 1; i <= 40; ++i) acked = add(sys, c->leader, i);
    REQUIRE(restart_server(sys, follower));
    CHECK(await_local(sys, follower, acked) == acked);
    bool segments = false;
    for (auto& e : std::filesystem::recursive_directory_iterator(dir.path()))
      if (e.path().extension() == ".segment") segments = true;
    CHECK(segments);
  }
  auto started = ra::system::start(cfg);
  REQUIRE(started);
  auto& sys = **started;
  for (auto& id : ids) REQUIRE(restart_server(sys, id));
  auto q = consistent_query<int64_t>(sys, ids[2], [](const int64_t& s) { return s; }, 15s);
  REQUIRE(q);
  CHECK(q->value == acked);
}

TEST_CASE("actors: concurrent clients across a leader stop lose no acknowledged command", "[actors]") {
  temp_dir dir;
  auto sys = start_system("n1", dir.path());
  auto ids = ids_of(*sys, {"s1", "s2", "s3"});
  auto c = start_cluster(*sys, "c1", "counter", ids, 10s);
  REQUIRE(c);
  std::atomic<int64_t> acked{0}, attempted{0};
  std::atomic<bool> go{true};
  std::vector<std::thread> clients;
  for (int t = 0; t < 3; ++t) {
    clients.emplace_back([&, t] {
      while (go) {
        ++attempted;
        // Never the old leader: it is stopped mid-way.
        auto to = ids[t % 3] == c->leader ? ids[(t + 1) % 3] : ids[t % 3];
        if (auto r = process_command<int64_t>(*sys, to, int64_t{1}, 3s)) ++acked;
      }
    });
  }
  std::this_thread::sleep_for(300ms);
  REQUIRE(stop_server(*sys, c->leader));
  std::this_thread::sleep_for(700ms);
  go = false;
  for (auto& th : clients) th.join();
  server_id survivor = c->leader == ids[0] ? ids[1] : ids[0];
  auto q = consistent_query<int64_t>(*sys, survivor, [](const int64_t& s) { return s; }, 10s);
  REQUIRE(q);
  CHECK(q->value >= acked.load());
  CHECK(q->value <= attempted.load());
  CHECK(acked.load() > 0);
}

TEST_CASE("actors: announced peer messages survive CAF serialization", "[actors]") {
  caf::actor_system_config cfg;
  actors::announce_ra_types(cfg);
  cfg.set("scheduler.max-threads", 1);
  caf::actor_system sys{cfg};
  server_id a{"a", "n1"}, b{"b", "n2"};
  install_snapshot_rpc snap{term_t{3}, a,
                            snapshot_meta{index_t{9}, term_t{2},
                                          cluster_config{{member{a}, member{b, membership::non_voter}}}, 1},
                            2, true, shared_bytes::copy_of("state bytes")};
  log_entry e1{index_t{10}, term_t{3}, entry_kind::command, 1234, shared_bytes::copy_of("cmd")};
  append_entries_rpc ae{term_t{3}, a, index_t{9}, index_t{9}, term_t{2}, {e1}};
  auto roundtrip = [&](caf::message msg) {
    std::vector<char> buf;
    caf::binary_serializer sink{sys, buf};
    if (auto err = sink(msg)) FAIL("serialize: " << sys.render(err));
    caf::message out;
    caf::binary_deserializer src{sys, buf};
    if (auto err = src(out)) FAIL("deserialize: " << sys.render(err));
    return out;
  };
  auto m1 = roundtrip(caf::make_message(actors::peer_atom::value, a, snap));
  REQUIRE(m1.match_elements<actors::peer_atom, server_id, install_snapshot_rpc>());
  auto& snap2 = m1.get_as<install_snapshot_rpc>(2);
  CHECK(m1.get_as<server_id>(1) == a);
  CHECK(snap2.term == snap.term);
  CHECK(snap2.meta == snap.meta);
  CHECK(snap2.chunk_no == 2);
  CHECK(snap2.last);
  CHECK(snap2.data == snap.data);
  auto m2 = roundtrip(caf::make_message(actors::peer_atom::value, b, ae));
  REQUIRE(m2.match_elements<actors::peer_atom, server_id, append_entries_rpc>());
  auto& ae2 = m2.get_as<append_entries_rpc>(2);
  CHECK(ae2.prev_log_index == ae.prev_log_index);
  REQUIRE(ae2.entries.size() == 1);
  CHECK(ae2.entries[0] == e1);
  actors::command_result cr{index_t{5}, term_t{1}, a, shared_bytes::copy_of("r"), true,
                            command_error{error_code::not_leader, b}};
  auto m3 = roundtrip(caf::make_message(cr));
  REQUIRE(m3.match_elements<actors::command_result>());
  CHECK(m3.get_as<actors::command_result>(0).error.leader == b);
  CHECK(m3.get_as<actors::command_result>(0).reply == cr.reply);
}

namespace {
/// A counter whose state grows by 200 bytes per command, so its snapshot spans many
/// chunks, and which lets the log go every 5 commands.
struct padded_counter {
  using command_type = int64_t;
  using state_type = std::string;
  using reply_type = int64_t;  ///< commands applied

  state_type init() const { return {}; }
  apply_result<state_type, reply_type> apply(const command_meta& meta, const command_type& n, state_type s) const {
    s.append(200, static_cast<char>('a' + n % 26));
    auto applied = static_cast<int64_t>(s.size() / 200);
    effects effs;
    if (applied % 5 == 0) effs.push_back(effect::release_cursor(meta.index));
    return {std::move(s), applied, std::move(effs)};
  }
};
}  // namespace

TEST_CASE("actors: a follower that was down catches up by a snapshot streamed in many chunks", "[actors][snapshot]") {
  temp_dir dir;
  auto cfg = make_config("n1", dir.path());
  cfg.server_defaults.min_snapshot_interval = 5;
  cfg.server_defaults.snapshot_chunk_size = 512;  // 30 commands: a 6000-byte state, 12 chunks
  cfg.machines["padded"] = [](const std::string&) { return make_machine<padded_counter>(); };
  spdlog::set_level(spdlog::level::warn);
  auto started = ra::system::start(cfg);
  REQUIRE(started);
  auto& sys = **started;
  auto ids = ids_of(sys, {"s1", "s2", "s3"});
  auto c = start_cluster(sys, "c1", "padded", ids, 10s);
  REQUIRE(c);
  server_id follower = c->leader == ids[2] ? ids[1] : ids[2];
  REQUIRE(stop_server(sys, follower));
  for (int64_t i = 1; i <= 30; ++i) {
    auto r = process_command<int64_t>(sys, c->leader, i, 10s);
    REQUIRE(r);
  }
  auto leader_view = member_overview(sys, c->leader);
  REQUIRE(leader_view);
  REQUIRE((*leader_view)["snapshot_index"].get<uint64_t>() > 1);  // the follower's entries are gone

  REQUIRE(restart_server(sys, follower));
  auto size_of = [&](const server_id& id) {
    auto q = local_query<std::string>(sys, id, [](const std::string& s) { return static_cast<int64_t>(s.size()); }, 1s);
    return q ? q->value : int64_t{-1};
  };
  CHECK(eventually([&] { return size_of(follower) == 6000; }));
  auto follower_view = member_overview(sys, follower);
  REQUIRE(follower_view);
  CHECK((*follower_view)["snapshot_index"].get<uint64_t>() > 1);
  // The received snapshot was renamed into place: no temporary file is left behind.
  for (auto& e : std::filesystem::recursive_directory_iterator(dir.path()))
    CHECK_FALSE(e.path().string().ends_with(".receiving"));
}
