// The simulator itself: determinism, fault runs that pass, a fault-free run where every
// write commits, and proof that each invariant check can fail.

#include <catch2/catch.hpp>

#include <sstream>

#include "libra/memory_log.hpp"
#include "lincheck/checker.hpp"
#include "lincheck/history.hpp"
#include "sim/invariants.hpp"
#include "sim/clients.hpp"
#include "sim/simulator.hpp"

using namespace ra::sim;

namespace {

std::string jepsen_text(const ra::lincheck::history& h) {
  std::ostringstream os;
  ra::lincheck::write_jepsen(os, h);
  return os.str();
}

sim_options quick(uint64_t seed, uint64_t steps = 4000) {
  sim_options o;
  o.seed = seed;
  o.steps = steps;
  return o;
}

ra::log_entry entry(uint64_t index, uint64_t term, std::string_view payload) {
  ra::log_entry e;
  e.index = ra::index_t{index};
  e.term = ra::term_t{term};
  e.payload = ra::shared_bytes::copy_of(payload);
  return e;
}

}  // namespace

TEST_CASE("the same seed replays the same run", "[sim]") {
  for (uint64_t seed : {3u, 11u}) {
    const sim_result a = run_simulation(quick(seed));
    const sim_result b = run_simulation(quick(seed));
    INFO(summarize(a));
    CHECK(a.ok);
    CHECK(a.steps == b.steps);
    CHECK(a.trace_hash == b.trace_hash);
    CHECK(jepsen_text(a.history) == jepsen_text(b.history));
    CHECK(a.failure == b.failure);
  }
}

TEST_CASE("different seeds give different runs", "[sim]") {
  const sim_result a = run_simulation(quick(1, 1000));
  const sim_result b = run_simulation(quick(2, 1000));
  CHECK(a.trace_hash != b.trace_hash);
}

TEST_CASE("runs with every fault kind keep every invariant", "[sim]") {
  uint64_t crashes = 0, faults = 0, dropped = 0;
  for (uint64_t seed = 100; seed < 106; ++seed) {
    sim_options o = quick(seed, 8000);
    o.all_faults = true;
    const sim_result r = run_simulation(o);
    INFO(summarize(r));
    CHECK(r.ok);
    CHECK(r.stats.ops_ok > 0);
    crashes += r.stats.crashes;
    faults += r.stats.faults_injected;
    dropped += r.stats.messages_dropped;
  }
  CHECK(crashes > 0);
  CHECK(faults > 0);
  CHECK(dropped > 0);
}

TEST_CASE("without faults every client write commits", "[sim]") {
  for (uint64_t seed : {5u, 6u}) {
    sim_options o = quick(seed, 6000);
    o.faults = false;
    const sim_result r = run_simulation(o);
    INFO(summarize(r));
    REQUIRE(r.ok);
    CHECK(r.stats.ops_info == 0);
    CHECK(r.stats.crashes == 0);
    size_t writes = 0;
    for (const auto& e : r.history) {
      if (e.type == ra::lincheck::event_type::invoke)
        continue;
      if (e.f == ra::lincheck::op_kind::write) {
        ++writes;
        CHECK(e.type == ra::lincheck::event_type::ok);
      } else if (e.f == ra::lincheck::op_kind::read) {
        CHECK(e.type == ra::lincheck::event_type::ok);
      } else {
        CHECK(e.type != ra::lincheck::event_type::info);  // cas: ok, or fail when it did not match
      }
    }
    CHECK(writes > 10);
    CHECK(r.stats.commit_index > writes);
  }
}

TEST_CASE("a simulated history survives the Jepsen format and re-checks", "[sim]") {
  const sim_result r = run_simulation(quick(7));
  REQUIRE(r.ok);
  std::istringstream in(jepsen_text(r.history));
  std::string error;
  const auto parsed = ra::lincheck::parse_jepsen(in, &error);
  REQUIRE(parsed);
  CHECK(jepsen_text(*parsed) == jepsen_text(r.history));
  CHECK(ra::lincheck::check_register(*parsed) == ra::lincheck::verdict::linearizable);

  // Tampering with one successful read (a value nobody wrote) must be caught.
  ra::lincheck::history tampered = r.history;
  bool changed = false;
  for (auto& e : tampered)
    if (!changed && e.type == ra::lincheck::event_type::ok && e.f == ra::lincheck::op_kind::read) {
      e.value = -42;
      changed = true;
    }
  REQUIRE(changed);
  CHECK(ra::lincheck::check_register(tampered) == ra::lincheck::verdict::not_linearizable);
}

TEST_CASE("servers that forget their storage on a crash are caught", "[sim]") {
  // Sabotage breaks Raft's durability assumption; some seed must trip an invariant.
  int caught = 0;
  std::string first_failure;
  for (uint64_t seed = 1; seed <= 40 && caught == 0; ++seed) {
    sim_options o = quick(seed, 10000);
    o.all_faults = true;
    o.sabotage_amnesia = true;
    o.storage = storage_mode::memory;  // amnesia wipes memory_log; the real stack has no such switch
    const sim_result r = run_simulation(o);
    if (!r.ok) {
      ++caught;
      first_failure = r.failure;
    }
  }
  INFO(first_failure);
  CHECK(caught > 0);
}

TEST_CASE("stale local reads are caught by the linearizability check", "[sim]") {
  std::string failure;
  for (uint64_t seed = 1; seed <= 40 && failure.empty(); ++seed) {
    sim_options o = quick(seed, 10000);
    o.all_faults = true;
    o.sabotage_local_reads = true;
    const sim_result r = run_simulation(o);
    if (!r.ok)
      failure = r.failure;
  }
  INFO(failure);
  CHECK_THAT(failure, Catch::StartsWith("linearizability"));
}

// -- the invariant checker on fabricated observations ------------------------------------

TEST_CASE("election safety: two leaders in one term", "[invariants]") {
  safety_checker c;
  CHECK(c.on_leader("s1", 3));
  CHECK(c.on_leader("s1", 3));
  CHECK(c.on_leader("s2", 4));
  CHECK(c.ok());
  CHECK_FALSE(c.on_leader("s2", 3));
  CHECK_FALSE(c.ok());
  CHECK_THAT(c.failure(), Catch::Contains("election safety") && Catch::Contains("term 3"));
}

TEST_CASE("log matching: same index and term, different content", "[invariants]") {
  safety_checker c;
  CHECK(c.on_log_entry("s1", 5, 2, 111, 2));
  CHECK(c.on_log_entry("s2", 5, 2, 111, 2));
  CHECK_FALSE(c.on_log_entry("s3", 5, 2, 222, 2));
  CHECK_THAT(c.failure(), Catch::Contains("log matching"));
}

TEST_CASE("log matching: same entry after different predecessors", "[invariants]") {
  safety_checker c;
  CHECK(c.on_log_entry("s1", 5, 3, 111, 2));
  CHECK_FALSE(c.on_log_entry("s2", 5, 3, 111, 1));
  CHECK_THAT(c.failure(), Catch::Contains("log matching"));
}

TEST_CASE("log matching: terms must not decrease along a log", "[invariants]") {
  safety_checker c;
  CHECK_FALSE(c.on_log_entry("s1", 5, 2, 111, 3));
  CHECK_FALSE(c.ok());
}

TEST_CASE("log matching: whole logs that diverge below a matching entry", "[invariants]") {
  ra::memory_log a, b;
  a.append({entry(1, 1, "x"), entry(2, 1, "y"), entry(3, 2, "z")});
  b.append({entry(1, 1, "x"), entry(2, 1, "DIFFERENT"), entry(3, 2, "z")});
  safety_checker c;
  CHECK(c.check_log("s1", a));
  CHECK_FALSE(c.check_log("s2", b));
  CHECK_THAT(c.failure(), Catch::Contains("index 2"));
}

TEST_CASE("committed entries are final", "[invariants]") {
  safety_checker c;
  CHECK(c.on_committed("s1", 4, 2, 2));
  CHECK(c.on_committed("s2", 4, 2, 3));
  CHECK_FALSE(c.on_committed("s3", 4, 3, 3));
  CHECK_THAT(c.failure(), Catch::Contains("index 4"));
}

TEST_CASE("an acknowledged write overwritten later is caught", "[invariants]") {
  safety_checker c;
  CHECK(c.on_acknowledged("client 1", 7, 2));
  CHECK_FALSE(c.on_committed("s2", 7, 3, 3));
  CHECK_THAT(c.failure(), Catch::Contains("client 1"));
}

TEST_CASE("leader completeness: a later leader without a committed entry", "[invariants]") {
  safety_checker c;
  CHECK(c.on_committed("s1", 1, 1, 1));
  CHECK(c.on_committed("s1", 2, 1, 1));
  ra::memory_log stale;
  stale.append({entry(1, 1, "a")});  // lacks index 2
  ra::memory_log good;
  good.append({entry(1, 1, "a"), entry(2, 1, "b")});

  SECTION("a leader of an earlier term is not held to it") {
    CHECK(c.check_leader_log("s3", 0, stale) > 0);
    CHECK(c.ok());
  }
  SECTION("a complete leader passes, also when it compacted the entries") {
    CHECK(c.check_leader_log("s2", 2, good) == 3);
    ra::memory_log compacted;
    REQUIRE(compacted.install_snapshot(ra::stored_snapshot{ra::snapshot_meta{ra::index_t{2}, ra::term_t{1}, {}, 0}, {}}));
    CHECK(c.check_leader_log("s2", 2, compacted) == 3);
    CHECK(c.ok());
  }
  SECTION("a later leader missing it fails") {
    c.check_leader_log("s3", 2, stale);
    CHECK_FALSE(c.ok());
    CHECK_THAT(c.failure(), Catch::Contains("leader completeness") && Catch::Contains("index 2"));
  }
  SECTION("a later leader with another entry there fails") {
    ra::memory_log other;
    other.append({entry(1, 1, "a"), entry(2, 2, "b")});
    c.check_leader_log("s3", 2, other);
    CHECK_FALSE(c.ok());
  }
}

TEST_CASE("state-machine safety: different commands applied at one index", "[invariants]") {
  safety_checker c;
  CHECK(c.on_apply("s1", 3, 1, 99));
  CHECK(c.on_apply("s2", 3, 1, 99));
  CHECK_FALSE(c.on_apply("s3", 3, 1, 98));
  CHECK_THAT(c.failure(), Catch::Contains("state-machine safety"));
}

TEST_CASE("state-machine safety: applies go forward unless the machine was reset", "[invariants]") {
  safety_checker c;
  CHECK(c.on_apply("s1", 3, 1, 99));
  c.on_machine_reset("s1");
  CHECK(c.on_apply("s1", 3, 1, 99));  // replay after a restart
  CHECK_FALSE(c.on_apply("s1", 2, 1, 98));
  CHECK_FALSE(c.ok());
}

TEST_CASE("history pruning: an unknown write that was read becomes an ok write before the read", "[sim][lincheck]") {
  using namespace ra::lincheck;
  auto ev = [](int p, event_type t, op_kind f, std::optional<int64_t> v) { return event{p, t, f, v, 0}; };
  history h{
    ev(0, event_type::invoke, op_kind::write, 7),
    ev(1, event_type::invoke, op_kind::write, 8),
    ev(2, event_type::invoke, op_kind::read, std::nullopt),
    ev(2, event_type::ok, op_kind::read, 7),
    ev(0, event_type::info, op_kind::write, 7),   // outcome unknown, but 7 was read
    ev(1, event_type::info, op_kind::write, 8),   // unknown and never observed: dropped
  };
  auto p = ra::sim::prune_unobserved_unknowns(h);
  REQUIRE(p.size() == 4);
  CHECK(p[0].process == 0);
  CHECK(p[1].type == event_type::invoke);
  CHECK(p[1].process == 2);
  CHECK(p[2].type == event_type::ok);  // the write, completed before the read that saw it
  CHECK(p[2].process == 0);
  CHECK(p[3].type == event_type::ok);
  CHECK(p[3].process == 2);
  CHECK(check_register(p) == verdict::linearizable);
  // A read of 7 completing before the write was even invoked stays impossible.
  history bad{
    ev(2, event_type::invoke, op_kind::read, std::nullopt),
    ev(2, event_type::ok, op_kind::read, 7),
    ev(0, event_type::invoke, op_kind::write, 7),
    ev(0, event_type::info, op_kind::write, 7),
  };
  CHECK(check_register(ra::sim::prune_unobserved_unknowns(bad)) == verdict::not_linearizable);
}

TEST_CASE("snapshot contents: a snapshot must hold the state of the log up to its index", "[invariants]") {
  safety_checker c;
  CHECK(c.on_state("s1", 4, 40));
  CHECK(c.on_state("s1", 7, 70));
  CHECK(c.check_snapshot("s2", 3, 12345));  // no command at or below 3 reported: unchecked
  CHECK(c.check_snapshot("s2", 4, 40));
  CHECK(c.check_snapshot("s2", 6, 40));  // 5 and 6 are no-ops: still the state after 4
  CHECK(c.snapshots_checked() == 2);
  CHECK_FALSE(c.check_snapshot("s3", 7, 40));  // misses the command at 7
  CHECK_THAT(c.failure(), Catch::Contains("snapshot contents"));
}

TEST_CASE("state-machine determinism: members reach the same state at an index", "[invariants]") {
  safety_checker c;
  CHECK(c.on_state("s1", 4, 40));
  CHECK(c.on_state("s2", 4, 40));
  CHECK_FALSE(c.on_state("s3", 4, 41));
  CHECK_THAT(c.failure(), Catch::Contains("state-machine determinism"));
}

TEST_CASE("real storage: a seed replays the same run and exercises the whole stack", "[sim][real_storage]") {
  for (uint64_t seed : {4u, 6u}) {
    sim_options o = quick(seed);
    o.storage = storage_mode::real;
    const sim_result a = run_simulation(o);
    const sim_result b = run_simulation(o);
    INFO(summarize(a));
    CHECK(a.ok);
    CHECK(a.real_storage);
    CHECK(a.trace_hash == b.trace_hash);
    CHECK(a.stats.wal_rollovers > 0);
    CHECK(a.stats.segment_flushes > 0);
    CHECK(a.stats.snapshots_checked > 0);
    CHECK(a.stats.crashes > 0);
  }
  sim_options memory = quick(4);
  memory.storage = storage_mode::memory;
  CHECK_FALSE(run_simulation(memory).real_storage);
}

TEST_CASE("real storage: crashes tear pages, undo directory changes and cut the power inside I/O",
          "[sim][real_storage]") {
  uint64_t torn_or_lost = 0, undone = 0, power_cuts = 0;
  for (uint64_t seed = 2; seed <= 20; seed += 2) {
    sim_options o = quick(seed);
    o.storage = storage_mode::real;
    const sim_result r = run_simulation(o);
    INFO(summarize(r));
    CHECK(r.ok);
    torn_or_lost += r.stats.pages_torn + r.stats.pages_lost;
    undone += r.stats.dir_changes_undone;
    power_cuts += r.stats.power_cuts;
  }
  CHECK(torn_or_lost > 0);
  CHECK(undone > 0);
  CHECK(power_cuts > 0);
}
