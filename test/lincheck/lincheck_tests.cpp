#include <algorithm>
#include <catch2/catch.hpp>
#include <chrono>
#include <fstream>
#include <map>
#include <random>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

#include "lincheck/checker.hpp"
#include "lincheck/history.hpp"

namespace lc = ra::lincheck;
using lc::event;
using lc::event_type;
using lc::history;
using lc::op_kind;
using lc::verdict;

namespace {

bool same_event(const event& a, const event& b) {
  return a.process == b.process && a.type == b.type && a.f == b.f && a.value == b.value &&
         a.cas_to == b.cas_to;
}

bool same_history(const history& a, const history& b) {
  return std::equal(a.begin(), a.end(), b.begin(), b.end(), same_event);
}

/// Parses a history written one event per line as `PROCESS TYPE F VALUE` (space separated,
/// the Jepsen logger prefix is added here so the tests stay readable).
history events(const std::string& lines) {
  std::istringstream in(lines);
  std::ostringstream prefixed;
  std::string line;
  while (std::getline(in, line)) {
    if (line.find_first_not_of(" \t") == std::string::npos) continue;
    prefixed << "INFO  jepsen.util - " << line.substr(line.find_first_not_of(" \t")) << '\n';
  }
  std::istringstream text(prefixed.str());
  std::string error;
  const auto parsed = lc::parse_jepsen(text, &error);
  INFO(error);
  REQUIRE(parsed.has_value());
  return *parsed;
}

verdict check(const std::string& lines) { return lc::check_register(events(lines)); }

std::string read_file(const std::string& path) {
  std::ifstream in(path);
  REQUIRE(in.good());
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

}  // namespace

TEST_CASE("to_string names every verdict", "[lincheck]") {
  CHECK(std::string(lc::to_string(verdict::linearizable)) == "linearizable");
  CHECK(std::string(lc::to_string(verdict::not_linearizable)) == "not-linearizable");
  CHECK(std::string(lc::to_string(verdict::timeout)) == "timeout");
}

TEST_CASE("an empty history is linearizable", "[lincheck]") {
  CHECK(lc::check_register({}) == verdict::linearizable);
}

TEST_CASE("a sequential history of ok operations is linearizable", "[lincheck]") {
  CHECK(check(R"(
    0 :invoke :read nil
    0 :ok :read nil
    0 :invoke :write 1
    0 :ok :write 1
    1 :invoke :read nil
    1 :ok :read 1
    1 :invoke :cas [1 2]
    1 :ok :cas [1 2]
    0 :invoke :read nil
    0 :ok :read 2
  )") == verdict::linearizable);
}

TEST_CASE("a stale read after a completed write is not linearizable", "[lincheck]") {
  CHECK(check(R"(
    0 :invoke :write 1
    0 :ok :write 1
    0 :invoke :write 2
    0 :ok :write 2
    1 :invoke :read nil
    1 :ok :read 1
  )") == verdict::not_linearizable);
}

TEST_CASE("a nil read after a completed write is not linearizable", "[lincheck]") {
  CHECK(check(R"(
    0 :invoke :write 1
    0 :ok :write 1
    1 :invoke :read nil
    1 :ok :read nil
  )") == verdict::not_linearizable);
}

TEST_CASE("a read concurrent with a write may see either value", "[lincheck]") {
  const std::string before = R"(
    0 :invoke :write 1
    0 :ok :write 1
    0 :invoke :write 2
    1 :invoke :read nil
    1 :ok :read )";
  const std::string after = R"(
    0 :ok :write 2
  )";
  CHECK(check(before + "1" + after) == verdict::linearizable);  // read before the write
  CHECK(check(before + "2" + after) == verdict::linearizable);  // read after the write
  CHECK(check(before + "3" + after) == verdict::not_linearizable);
}

TEST_CASE("a read of a value never written is not linearizable", "[lincheck]") {
  CHECK(check(R"(
    0 :invoke :write 1
    1 :invoke :read nil
    1 :ok :read 7
    0 :ok :write 1
  )") == verdict::not_linearizable);
}

TEST_CASE("an info write that a later read observes took effect", "[lincheck]") {
  CHECK(check(R"(
    0 :invoke :write 1
    0 :ok :write 1
    1 :invoke :write 2
    1 :info :write :timed-out
    2 :invoke :read nil
    2 :ok :read 2
    2 :invoke :read nil
    2 :ok :read 2
  )") == verdict::linearizable);
}

TEST_CASE("an info write cannot take effect before its invoke", "[lincheck]") {
  CHECK(check(R"(
    2 :invoke :read nil
    2 :ok :read 2
    1 :invoke :write 2
    1 :info :write :timed-out
  )") == verdict::not_linearizable);
}

TEST_CASE("an info write that is never observed need not take effect", "[lincheck]") {
  CHECK(check(R"(
    0 :invoke :write 1
    0 :ok :write 1
    1 :invoke :write 2
    1 :info :write :timed-out
    2 :invoke :read nil
    2 :ok :read 1
    2 :invoke :read nil
    2 :ok :read 1
  )") == verdict::linearizable);
}

TEST_CASE("an info write takes effect at most once", "[lincheck]") {
  // Once 2 is visible, 1 cannot come back: nothing else writes 1 after it.
  CHECK(check(R"(
    0 :invoke :write 1
    0 :ok :write 1
    1 :invoke :write 2
    1 :info :write :timed-out
    2 :invoke :read nil
    2 :ok :read 2
    2 :invoke :read nil
    2 :ok :read 1
  )") == verdict::not_linearizable);
}

TEST_CASE("a write that never completes is treated like an info write", "[lincheck]") {
  const std::string prefix = R"(
    0 :invoke :write 1
    0 :ok :write 1
    1 :invoke :write 2
    2 :invoke :read nil
  )";
  CHECK(check(prefix + "2 :ok :read 2") == verdict::linearizable);
  CHECK(check(prefix + "2 :ok :read 1") == verdict::linearizable);
  CHECK(check(prefix + "2 :ok :read 3") == verdict::not_linearizable);
}

TEST_CASE("a failed write or cas does not take effect", "[lincheck]") {
  const std::string failed_cas = R"(
    0 :invoke :write 1
    0 :ok :write 1
    1 :invoke :cas [1 2]
    1 :fail :cas [1 2]
    2 :invoke :read nil
  )";
  CHECK(check(failed_cas + "2 :ok :read 1") == verdict::linearizable);
  CHECK(check(failed_cas + "2 :ok :read 2") == verdict::not_linearizable);

  const std::string failed_write = R"(
    0 :invoke :write 1
    0 :ok :write 1
    1 :invoke :write 2
    1 :fail :write 2
    2 :invoke :read nil
  )";
  CHECK(check(failed_write + "2 :ok :read 1") == verdict::linearizable);
  CHECK(check(failed_write + "2 :ok :read 2") == verdict::not_linearizable);
}

TEST_CASE("an info read constrains nothing", "[lincheck]") {
  CHECK(check(R"(
    0 :invoke :write 1
    0 :ok :write 1
    1 :invoke :read nil
    1 :info :read :timed-out
    0 :invoke :read nil
    0 :ok :read 1
  )") == verdict::linearizable);
}

TEST_CASE("cas chains", "[lincheck]") {
  SECTION("sequential swaps follow each other") {
    CHECK(check(R"(
      0 :invoke :write 0
      0 :ok :write 0
      0 :invoke :cas [0 1]
      0 :ok :cas [0 1]
      1 :invoke :cas [1 2]
      1 :ok :cas [1 2]
      0 :invoke :read nil
      0 :ok :read 2
    )") == verdict::linearizable);
  }
  SECTION("the same swap cannot succeed twice") {
    CHECK(check(R"(
      0 :invoke :write 0
      0 :ok :write 0
      0 :invoke :cas [0 1]
      0 :ok :cas [0 1]
      1 :invoke :cas [0 1]
      1 :ok :cas [0 1]
    )") == verdict::not_linearizable);
  }
  SECTION("concurrent swaps are ordered by their values, not their invokes") {
    CHECK(check(R"(
      0 :invoke :write 0
      0 :ok :write 0
      1 :invoke :cas [1 2]
      2 :invoke :cas [0 1]
      2 :ok :cas [0 1]
      1 :ok :cas [1 2]
      0 :invoke :read nil
      0 :ok :read 2
    )") == verdict::linearizable);
  }
  SECTION("a swap from nil succeeds only on an unset register") {
    const std::string prefix = R"(
      0 :invoke :cas [nil 5]
      0 :ok :cas [nil 5]
      0 :invoke :read nil
      0 :ok :read 5
    )";
    CHECK(check(prefix) == verdict::linearizable);
    CHECK(check("0 :invoke :write 1\n0 :ok :write 1\n" + prefix) == verdict::not_linearizable);
  }
  SECTION("an info cas may or may not take effect, but only from its expected value") {
    const std::string prefix = R"(
      0 :invoke :write 0
      0 :ok :write 0
      1 :invoke :cas [0 1]
      1 :info :cas :timed-out
      0 :invoke :read nil
    )";
    CHECK(check(prefix + "0 :ok :read 1") == verdict::linearizable);
    CHECK(check(prefix + "0 :ok :read 0") == verdict::linearizable);
    const std::string wrong_expectation = R"(
      0 :invoke :write 0
      0 :ok :write 0
      1 :invoke :cas [3 1]
      1 :info :cas :timed-out
      0 :invoke :read nil
      0 :ok :read 1
    )";
    CHECK(check(wrong_expectation) == verdict::not_linearizable);
  }
}

TEST_CASE("malformed histories are rejected", "[lincheck]") {
  CHECK_THROWS_AS(check("0 :ok :write 1"), std::invalid_argument);
  CHECK_THROWS_AS(check("0 :invoke :write 1\n0 :invoke :write 2"), std::invalid_argument);
  CHECK_THROWS_AS(check("0 :invoke :write 1\n0 :ok :read 1"), std::invalid_argument);
}

TEST_CASE("the timeout option stops a search that would run for ages", "[lincheck]") {
  // Forty concurrent writes and then a read of a value nobody wrote: refuting it means
  // trying every subset of the writes, far beyond any reasonable time.
  history h;
  constexpr int writers = 40;
  for (int p = 0; p < writers; ++p) h.push_back({p, event_type::invoke, op_kind::write, p, 0});
  for (int p = 0; p < writers; ++p) h.push_back({p, event_type::ok, op_kind::write, p, 0});
  h.push_back({writers, event_type::invoke, op_kind::read, std::nullopt, 0});
  h.push_back({writers, event_type::ok, op_kind::read, 1000, 0});

  const auto start = std::chrono::steady_clock::now();
  CHECK(lc::check_register(h, {.timeout_seconds = 0.2}) == verdict::timeout);
  const std::chrono::duration<double> elapsed = std::chrono::steady_clock::now() - start;
  CHECK(elapsed.count() >= 0.2);
  CHECK(elapsed.count() < 5.0);
}

// ---------------------------------------------------------------------------------------
// Many concurrent operations of unknown outcome (client timeouts), the shape of the
// simulator's histories: unique written values, most unknown writes never observed.

namespace {

/// `unknown` writes of the values 0..unknown-1, invoked together and never completed
/// (process p writes p), then one ok read per value in `reads`, one after the other
/// (a negative value reads nil).
history unknown_writes_then_reads(int unknown, const std::vector<int64_t>& reads) {
  history h;
  for (int p = 0; p < unknown; ++p) h.push_back({p, event_type::invoke, op_kind::write, p, 0});
  for (int p = 0; p < unknown; ++p) h.push_back({p, event_type::info, op_kind::write, p, 0});
  int reader = unknown;
  for (const int64_t v : reads) {
    h.push_back({reader, event_type::invoke, op_kind::read, std::nullopt, 0});
    h.push_back({reader, event_type::ok, op_kind::read,
                 v < 0 ? std::nullopt : std::optional<int64_t>(v), 0});
    ++reader;
  }
  return h;
}

/// Decides `h` with a generous timeout and checks that it took well under a second.
verdict decide_quickly(const history& h) {
  const auto start = std::chrono::steady_clock::now();
  const verdict v = lc::check_register(h, {.timeout_seconds = 20});
  const std::chrono::duration<double> elapsed = std::chrono::steady_clock::now() - start;
  CHECK(v != verdict::timeout);
  CHECK(elapsed.count() < 1.0);
  return v;
}

}  // namespace

TEST_CASE("many concurrent unknown writes are decided quickly", "[lincheck][unknown]") {
  // Before the canonical form the search linearized every unknown write it met, in every
  // subset: the reads of 0, 1, ... below refuted each greedy choice in turn, 2^40 of them.
  SECTION("reads in invoke order") {
    std::vector<int64_t> reads;
    for (int64_t v = 0; v < 40; ++v) reads.push_back(v);
    CHECK(decide_quickly(unknown_writes_then_reads(40, reads)) == verdict::linearizable);
  }
  SECTION("reads in reverse order, some values never read") {
    std::vector<int64_t> reads;
    for (int64_t v = 39; v >= 0; v -= 3) reads.push_back(v);
    CHECK(decide_quickly(unknown_writes_then_reads(40, reads)) == verdict::linearizable);
  }
  SECTION("the same value read twice in a row") {
    CHECK(decide_quickly(unknown_writes_then_reads(40, {7, 7, 39, 39, 0})) ==
          verdict::linearizable);
  }
  SECTION("a chain of unknown swaps observed at its end") {
    // write 0 (ok), then cas 0->1, 1->2, ... 29->30 all unknown and concurrent, then read 30.
    history h{{0, event_type::invoke, op_kind::write, 0, 0}, {0, event_type::ok, op_kind::write, 0, 0}};
    for (int p = 1; p <= 30; ++p) h.push_back({p, event_type::invoke, op_kind::cas, p - 1, p});
    for (int p = 1; p <= 30; ++p) h.push_back({p, event_type::info, op_kind::cas, p - 1, p});
    h.push_back({31, event_type::invoke, op_kind::read, std::nullopt, 0});
    h.push_back({31, event_type::ok, op_kind::read, 30, 0});
    CHECK(decide_quickly(h) == verdict::linearizable);
  }
}

TEST_CASE("non-linearizable histories with many concurrent unknown ops are still refuted",
          "[lincheck][unknown]") {
  SECTION("an unknown write observed again after it was overwritten") {
    // 5 after 9 after 5: write 5 would have to take effect twice.
    CHECK(decide_quickly(unknown_writes_then_reads(40, {5, 9, 5})) == verdict::not_linearizable);
  }
  SECTION("a value read back before anyone wrote it, among unknown writes") {
    CHECK(decide_quickly(unknown_writes_then_reads(40, {3, 41})) == verdict::not_linearizable);
  }
  SECTION("nil read after an unknown write was observed") {
    CHECK(decide_quickly(unknown_writes_then_reads(40, {12, 20, -1})) ==
          verdict::not_linearizable);
  }
  SECTION("a chain of unknown swaps cannot run backwards") {
    history h{{0, event_type::invoke, op_kind::write, 0, 0}, {0, event_type::ok, op_kind::write, 0, 0}};
    for (int p = 1; p <= 30; ++p) h.push_back({p, event_type::invoke, op_kind::cas, p - 1, p});
    for (int p = 1; p <= 30; ++p) h.push_back({p, event_type::info, op_kind::cas, p - 1, p});
    for (const int64_t v : {30, 15}) {
      h.push_back({31 + static_cast<int>(v), event_type::invoke, op_kind::read, std::nullopt, 0});
      h.push_back({31 + static_cast<int>(v), event_type::ok, op_kind::read, v, 0});
    }
    CHECK(decide_quickly(h) == verdict::not_linearizable);
  }
  SECTION("concurrent ok and unknown writes, a read only an unknown one explains, then a stale read") {
    // 10 ok writes (values 100..109) and 30 unknown ones (0..29), all concurrent; then
    // reads of 4 (an unknown write: fine), then 105 (an ok write, after 4: fine), then 4
    // again while the ok writes are still running: write 4 cannot take effect twice.
    // (The ok writes stay few: which subset of them went first is still searched.)
    history h;
    for (int p = 0; p < 30; ++p) h.push_back({p, event_type::invoke, op_kind::write, p, 0});
    for (int p = 30; p < 40; ++p) h.push_back({p, event_type::invoke, op_kind::write, 70 + p, 0});
    for (int p = 0; p < 30; ++p) h.push_back({p, event_type::info, op_kind::write, p, 0});
    for (int p = 40; p < 43; ++p) {
      h.push_back({p, event_type::invoke, op_kind::read, std::nullopt, 0});
      if (p == 42) {
        for (int q = 30; q < 40; ++q) h.push_back({q, event_type::ok, op_kind::write, 70 + q, 0});
      }
      h.push_back({p, event_type::ok, op_kind::read, p == 41 ? 105 : 4, 0});
    }
    CHECK(decide_quickly(h) == verdict::not_linearizable);
    // The same without the last read is linearizable.
    h.erase(h.end() - 12, h.end());
    for (int q = 30; q < 40; ++q) h.push_back({q, event_type::ok, op_kind::write, 70 + q, 0});
    CHECK(decide_quickly(h) == verdict::linearizable);
  }
}

TEST_CASE("parse_jepsen reads events and skips noise", "[lincheck][history]") {
  std::istringstream in(
      "INFO  jepsen.core - Running test\n"
      "INFO  jepsen.util - 3\t:invoke\t:cas\t[1 4]\n"
      "INFO  jepsen.util - :nemesis\t:info\t:start\tnil\n"
      "some unrelated line\n"
      "2024 lines of prose may start with a number\n"
      "\n"
      "INFO  jepsen.util - 3\t:info\t:cas\t:timed-out\r\n"
      "12\t:ok\t:read\t-7\n"
      "INFO  jepsen.util - 4\t:ok\t:read\tnil\n");
  std::string error;
  const auto h = lc::parse_jepsen(in, &error);
  INFO(error);
  REQUIRE(h.has_value());
  const history expected = {
      {3, event_type::invoke, op_kind::cas, 1, 4},
      {3, event_type::info, op_kind::cas, std::nullopt, 0},
      {12, event_type::ok, op_kind::read, -7, 0},
      {4, event_type::ok, op_kind::read, std::nullopt, 0},
  };
  CHECK(same_history(*h, expected));
}

TEST_CASE("parse_jepsen reads events behind a timestamp before the logger's prefix", "[lincheck][history]") {
  // ra-nemesis (and Jepsen's own log4j layout) puts the wall-clock time first.
  std::istringstream in(
      "2026-12-06T05:01:02.123456Z INFO  jepsen.util - 5\t:invoke\t:write\t9\n"
      "2026-12-06 05:01:02,200{GMT}\tINFO  jepsen.util - 5\t:ok\t:write\t9\n"
      "2026-12-06T05:01:03.000000Z nemesis kill -9 n2\n");
  std::string error;
  const auto h = lc::parse_jepsen(in, &error);
  INFO(error);
  REQUIRE(h.has_value());
  const history expected = {
      {5, event_type::invoke, op_kind::write, 9, 0},
      {5, event_type::ok, op_kind::write, 9, 0},
  };
  CHECK(same_history(*h, expected));
}

TEST_CASE("parse_jepsen reports a malformed event line", "[lincheck][history]") {
  const auto rejects = [](const std::string& text, const std::string& expected_in_error) {
    std::istringstream in(text);
    std::string error;
    CHECK_FALSE(lc::parse_jepsen(in, &error).has_value());
    INFO(error);
    CHECK(error.find(expected_in_error) != std::string::npos);
  };
  rejects("INFO  jepsen.util - 0\t:invoke\t:read\tnil\nINFO  jepsen.util - 0\t:done\t:read\tnil",
          "line 2");
  rejects("INFO  jepsen.util - 0\t:invoke\t:append\t1", ":append");
  rejects("INFO  jepsen.util - 0\t:invoke\t:write\tnil", "nil");
  rejects("INFO  jepsen.util - 0\t:invoke\t:cas\t[1]", "[1]");
  rejects("INFO  jepsen.util - 0\t:invoke\t:read", "VALUE");
}

TEST_CASE("write_jepsen output parses back to the same history", "[lincheck][history]") {
  const history original = {
      {0, event_type::invoke, op_kind::read, std::nullopt, 0},
      {0, event_type::ok, op_kind::read, 5, 0},
      {1, event_type::invoke, op_kind::write, -3, 0},
      {1, event_type::info, op_kind::write, std::nullopt, 0},
      {2, event_type::invoke, op_kind::cas, 4, 9},
      {2, event_type::fail, op_kind::cas, 4, 9},
      {3, event_type::invoke, op_kind::cas, std::nullopt, 1},
      {3, event_type::ok, op_kind::cas, std::nullopt, 1},
      {4, event_type::invoke, op_kind::cas, 7, 8},
      {4, event_type::info, op_kind::cas, std::nullopt, 0},
      {5, event_type::ok, op_kind::read, std::nullopt, 0},
  };
  std::ostringstream out;
  lc::write_jepsen(out, original);
  std::istringstream in(out.str());
  std::string error;
  const auto parsed = lc::parse_jepsen(in, &error);
  INFO(error << "\n" << out.str());
  REQUIRE(parsed.has_value());
  CHECK(same_history(*parsed, original));
}

namespace {

struct known_verdict {
  std::string file;
  std::string verdict_name;
};

std::vector<known_verdict> jepsen_verdicts() {
  std::ifstream in(std::string(RA_JEPSEN_DIR) + "/verdicts.tsv");
  INFO("data set: " RA_JEPSEN_DIR);
  REQUIRE(in.good());
  std::vector<known_verdict> result;
  std::string file, name;
  while (in >> file >> name) result.push_back({file, name});
  return result;
}

}  // namespace

TEST_CASE("the Jepsen etcd logs survive a write_jepsen round trip byte for byte",
          "[lincheck][history][jepsen]") {
  const auto known = jepsen_verdicts();
  REQUIRE(known.size() == 50);
  for (const auto& [file, name] : known) {
    INFO(file);
    const std::string text = read_file(std::string(RA_JEPSEN_DIR) + "/" + file);
    std::istringstream in(text);
    const auto parsed = lc::parse_jepsen(in);
    REQUIRE(parsed.has_value());
    CHECK(!parsed->empty());
    std::ostringstream out;
    lc::write_jepsen(out, *parsed);
    CHECK(out.str() == text);
  }
}

TEST_CASE("every Jepsen etcd history gets its known verdict", "[lincheck][jepsen]") {
  const auto known = jepsen_verdicts();
  REQUIRE(known.size() == 50);
  std::size_t linearizable_count = 0;
  for (const auto& [file, name] : known) {
    INFO(file);
    std::ifstream in(std::string(RA_JEPSEN_DIR) + "/" + file);
    REQUIRE(in.good());
    std::string error;
    const auto h = lc::parse_jepsen(in, &error);
    INFO(error);
    REQUIRE(h.has_value());
    const verdict result = lc::check_register(*h, {.timeout_seconds = 30});
    CHECK(std::string(lc::to_string(result)) == name);
    if (name == "linearizable") ++linearizable_count;
  }
  // Both verdicts occur, so a checker answering always the same would fail above.
  CHECK(linearizable_count > 0);
  CHECK(linearizable_count < known.size());
}

// ---------------------------------------------------------------------------------------
// Cross-check against a brute-force oracle on small random histories.

namespace {

struct oracle_op {
  event invocation;
  std::optional<int64_t> read_value;
  std::size_t call_time = 0;
  std::size_t return_time = 0;  // SIZE_MAX = unknown outcome
  bool required = true;
};

/// Linearizable iff some order of all completed ops plus any subset of the unknown ones
/// respects real time and the register's sequential behaviour.
bool brute_force_linearizable(const history& h) {
  std::vector<oracle_op> ops;
  std::map<int, std::size_t> open;  // process -> index in ops
  for (std::size_t t = 0; t < h.size(); ++t) {
    const event& ev = h[t];
    if (ev.type == event_type::invoke) {
      open[ev.process] = ops.size();
      ops.push_back({ev, std::nullopt, t, SIZE_MAX, false});
      continue;
    }
    oracle_op& op = ops[open.at(ev.process)];
    open.erase(ev.process);
    if (ev.type == event_type::ok) {
      op.return_time = t;
      op.required = true;
      op.read_value = ev.value;
    } else if (ev.type == event_type::fail) {
      op.call_time = SIZE_MAX;  // marks "drop"
    }
  }
  std::vector<oracle_op> kept;
  for (const oracle_op& op : ops) {
    if (op.call_time == SIZE_MAX) continue;                             // failed
    if (!op.required && op.invocation.f == op_kind::read) continue;     // unknown read
    kept.push_back(op);
  }
  std::vector<std::size_t> unknown;
  for (std::size_t i = 0; i < kept.size(); ++i) {
    if (!kept[i].required) unknown.push_back(i);
  }
  for (uint64_t subset = 0; subset < (uint64_t{1} << unknown.size()); ++subset) {
    std::vector<std::size_t> chosen;
    for (std::size_t i = 0; i < kept.size(); ++i) {
      const auto pos = std::find(unknown.begin(), unknown.end(), i);
      if (pos == unknown.end() || (subset >> (pos - unknown.begin())) & 1) chosen.push_back(i);
    }
    std::sort(chosen.begin(), chosen.end());
    do {
      bool legal = true;
      std::optional<int64_t> state;
      for (std::size_t k = 0; k < chosen.size() && legal; ++k) {
        const oracle_op& op = kept[chosen[k]];
        for (std::size_t later = k + 1; later < chosen.size(); ++later) {
          if (kept[chosen[later]].return_time < op.call_time) legal = false;
        }
        switch (op.invocation.f) {
          case op_kind::read: legal = legal && state == op.read_value; break;
          case op_kind::write: state = op.invocation.value; break;
          case op_kind::cas:
            legal = legal && state == op.invocation.value;
            state = op.invocation.cas_to;
            break;
        }
      }
      if (legal) return true;
    } while (std::next_permutation(chosen.begin(), chosen.end()));
  }
  return false;
}

/// With `unique_values`, as in the simulator: every write and cas writes a fresh value,
/// reads and cas expectations pick among the values written so far (or nil), and more
/// operations end unknown, so chains of unknown swaps occur.
history random_history(std::mt19937& rng, bool unique_values = false) {
  const auto uniform = [&](int lo, int hi) { return std::uniform_int_distribution<>(lo, hi)(rng); };
  int next_value = 0;
  const auto old_value = [&]() -> std::optional<int64_t> {
    const int v = uniform(-1, next_value - 1);
    return v < 0 ? std::nullopt : std::optional<int64_t>(v);
  };
  history h;
  constexpr int processes = 4;
  std::vector<std::optional<event>> pending(processes);
  // A process whose call never completes stays blocked: it must not invoke again.
  std::vector<bool> blocked(processes, false);
  const int operations = uniform(1, 8);
  int started = 0;
  const auto can_act = [&](int p) { return !blocked[p] && (pending[p] || started < operations); };
  while (true) {
    std::vector<int> ready;
    for (int p = 0; p < processes; ++p) {
      if (can_act(p)) ready.push_back(p);
    }
    if (ready.empty()) break;
    const int p = ready[uniform(0, static_cast<int>(ready.size()) - 1)];
    if (!pending[p]) {
      ++started;
      event call{p, event_type::invoke, static_cast<op_kind>(uniform(0, 2)), std::nullopt, 0};
      if (unique_values) {
        if (call.f == op_kind::write) call.value = next_value++;
        if (call.f == op_kind::cas) {
          call.value = old_value();
          if (!call.value) call.value = 0;  // (the generator has no cas from nil here)
          call.cas_to = next_value++;
        }
      } else {
        if (call.f != op_kind::read) call.value = uniform(0, 2);
        if (call.f == op_kind::cas) call.cas_to = uniform(0, 2);
      }
      h.push_back(call);
      pending[p] = call;
      continue;
    }
    const int outcome = uniform(0, 9);
    if (outcome == 0) {
      blocked[p] = true;
      continue;
    }
    event done = *pending[p];
    pending[p].reset();
    const int info_from = unique_values ? 5 : 7;
    done.type = outcome < info_from ? event_type::ok : outcome < 9 ? event_type::info : event_type::fail;
    if (done.f == op_kind::read && done.type == event_type::ok) {
      if (unique_values) {
        done.value = old_value();
      } else {
        const int seen = uniform(-1, 2);
        done.value = seen < 0 ? std::nullopt : std::optional<int64_t>(seen);
      }
    }
    h.push_back(done);
  }
  return h;
}

}  // namespace

TEST_CASE("the checker agrees with a brute-force oracle on random small histories",
          "[lincheck][random]") {
  // Without a memo budget the search remembers nothing: only slower, so the same answers.
  const bool with_memo = GENERATE(true, false);
  const bool unique_values = GENERATE(false, true);
  lc::check_options options;
  if (!with_memo) options.memo_budget_bytes = 0;
  INFO("with memo: " << with_memo << ", unique values: " << unique_values);

  std::mt19937 rng(20240611);
  int linearizable_count = 0;
  constexpr int rounds = 10000;
  for (int round = 0; round < rounds; ++round) {
    const history h = random_history(rng, unique_values);
    const bool expected = brute_force_linearizable(h);
    std::ostringstream text;
    lc::write_jepsen(text, h);
    INFO("round " << round << "\n" << text.str());
    REQUIRE((lc::check_register(h, options) == verdict::linearizable) == expected);
    linearizable_count += expected ? 1 : 0;
  }
  // The generator must produce both kinds, or the comparison would prove little.
  CHECK(linearizable_count > rounds / 10);
  CHECK(linearizable_count < rounds * 9 / 10);
}

TEST_CASE("a spent memo budget does not change Jepsen verdicts", "[lincheck][jepsen]") {
  // Room for the first 512 remembered pairs of these ~85-operation histories, no more: the
  // search then goes on without the memo, which some histories need to finish in time.
  lc::check_options options;
  options.memo_budget_bytes = 40 * 1024;
  options.timeout_seconds = 1;
  std::size_t concluded = 0;
  for (const auto& [file, name] : jepsen_verdicts()) {
    INFO(file);
    std::ifstream in(std::string(RA_JEPSEN_DIR) + "/" + file);
    const auto h = lc::parse_jepsen(in);
    REQUIRE(h.has_value());
    const verdict result = lc::check_register(*h, options);
    if (result == verdict::timeout) continue;
    ++concluded;
    CHECK(std::string(lc::to_string(result)) == name);
  }
  CHECK(concluded >= 40);
}
