// What the leader's core refuses before it appends: commands over max_command_bytes
// (also those of remote callers, which no API check has seen), so no entry over the
// storage formats' limit ever reaches the log.
#include <catch2/catch.hpp>

#include "test/core/cluster_harness.hpp"

using namespace ra;
using namespace ra::test;

namespace {

constexpr uint64_t small_limit = 8;  // an encoded int64_t, list_machine's command

cluster three_with_small_limit() {
  return cluster{{"a", "b", "c"}, [](server_config& c) { c.max_command_bytes = small_limit; }};
}

shared_bytes payload_of(size_t size) { return shared_bytes::copy_of(std::string(size, 'x')); }

}  // namespace

TEST_CASE("the leader refuses a command over max_command_bytes and appends nothing", "[replication][limits]") {
  auto c = three_with_small_limit();
  c.elect("a");
  c.run();
  const auto before = c["a"].log().last_index();

  auto too_large = c.next_client();
  c["a"].handle_command(command_request{too_large, payload_of(small_limit + 1), reply_mode::await_consensus, 0,
                                        command_priority::normal});
  c.run();
  auto r = c.reply_for(too_large);
  REQUIRE(r);
  REQUIRE(r->error);
  CHECK(r->error->code == error_code::command_too_large);
  CHECK(c["a"].log().last_index() == before);
  CHECK(c["b"].log().last_index() == before);

  // At the limit it is appended.
  auto at_limit = c.next_client();
  auto command = encode(int64_t{3});
  REQUIRE(command.size() == small_limit);
  c["a"].handle_command(command_request{at_limit, command, reply_mode::after_log_append, 0, command_priority::normal});
  c.collect();
  auto ok = c.reply_for(at_limit);
  REQUIRE(ok);
  CHECK(!ok->error);
  CHECK(c["a"].log().last_index() == before + 1);
}

TEST_CASE("a pipelined command over the limit is rejected to its notify target", "[replication][limits]") {
  auto c = three_with_small_limit();
  c.elect("a");
  c.run();
  const auto before = c["a"].log().last_index();
  c["a"].handle_command(command_request{c.next_client(), payload_of(small_limit + 1), reply_mode::notify, 42,
                                        command_priority::low});
  c.run();
  REQUIRE(c.rejections_.size() == 1);
  CHECK(c.rejections_[0].correlation == 42);
  CHECK(c.rejections_[0].error.code == error_code::command_too_large);
  CHECK(c["a"].log().last_index() == before);
}

// -- poison commands: a command of the wrong type, an apply that throws -------------------

namespace {

/// A sum that throws on -999. Its state is trivially copyable, so the typed machine
/// applies to a copy and a throw leaves the state as it was.
struct fragile_sum {
  using command_type = int64_t;
  using state_type = int64_t;
  using reply_type = int64_t;
  state_type init() const { return 0; }
  apply_result<state_type, reply_type> apply(const command_meta&, const command_type& c, state_type s) const {
    if (c == -999) throw std::runtime_error("poisoned command");
    s += c;
    return {s, s};
  }
};

/// Three members running fragile_sum under `policy`, with "a" elected.
void start_fragile(cluster& c) {
  for (auto& n : c.names()) {
    c.set_machine(n, [] { return make_machine<fragile_sum>(); });
    c.crash(n);
    c.restart(n);
  }
  c.elect("a");
  c.run();
}

auto with_policy(apply_failure_policy policy) {
  return [policy](server_config& cfg) { cfg.on_apply_failure = policy; };
}

int64_t sum_of(cluster& c, const std::string& name) { return machine_state<int64_t>(c[name].state_machine()); }

}  // namespace

TEST_CASE("reject: a throwing apply is skipped on every member, state unchanged, caller told", "[machine][poison]") {
  cluster c{{"a", "b", "c"}, with_policy(apply_failure_policy::reject)};
  start_fragile(c);
  c.command("a", 5);
  c.run();
  auto poison = c.command("a", -999);
  c.run();
  auto r = c.reply_for(poison);
  REQUIRE(r);
  REQUIRE(r->error);
  CHECK(r->error->code == error_code::apply_failed);
  for (auto& n : c.names()) {
    INFO(n);
    CHECK(c[n].current_role() != role::stopped);
    CHECK(sum_of(c, n) == 5);
    CHECK(c[n].metrics().commands_rejected == 1);
    CHECK(c[n].last_applied() == c["a"].commit_index());  // skipped, not stuck
  }
  // The cluster carries on.
  auto next = c.command("a", 7);
  c.run();
  REQUIRE(c.reply_for(next));
  CHECK(!c.reply_for(next)->error);
  for (auto& n : c.names()) CHECK(sum_of(c, n) == 12);
}

TEST_CASE("reject: a pipelined command whose apply throws is rejected to its notify target", "[machine][poison]") {
  cluster c{{"a", "b", "c"}, with_policy(apply_failure_policy::reject)};
  start_fragile(c);
  c.command("a", -999, reply_mode::notify, command_priority::normal, 77);
  c.run();
  REQUIRE(c.rejections_.size() == 1);
  CHECK(c.rejections_[0].correlation == 77);
  CHECK(c.rejections_[0].error.code == error_code::apply_failed);
}

TEST_CASE("stop: a throwing apply stops the server, as in Ra", "[machine][poison]") {
  cluster c{{"a", "b", "c"}, with_policy(apply_failure_policy::stop)};
  start_fragile(c);
  c.command("a", -999);
  c.run();
  CHECK(c["a"].current_role() == role::stopped);
  CHECK(c["a"].stop_reason().find("poisoned command") != std::string::npos);
  CHECK(c["a"].metrics().commands_rejected == 0);
}

TEST_CASE("reject: a machine that gave its state away stops anyway", "[machine][poison]") {
  // list_machine's state (a vector) is moved into apply: after a throw it is gone, so
  // skipping the command would leave this member with a wrong state.
  cluster c{{"a"}, with_policy(apply_failure_policy::reject)};
  c.elect("a");
  c.command("a", -999);
  c.run();
  CHECK(c["a"].current_role() == role::stopped);
  CHECK(c["a"].stop_reason().find("poisoned command") != std::string::npos);
}

TEST_CASE("a command that does not decode as the machine's command type is refused, not appended", "[machine][poison]") {
  cluster c{{"a", "b", "c"}};
  c.elect("a");
  c.run();
  const auto before = c["a"].log().last_index();
  auto wrong = c.next_client();
  c["a"].handle_command(command_request{wrong, encode(std::string("not an int64")), reply_mode::await_consensus, 0,
                                        command_priority::normal});
  c.run();
  auto r = c.reply_for(wrong);
  REQUIRE(r);
  REQUIRE(r->error);
  CHECK(r->error->code == error_code::bad_command);
  CHECK(c["a"].log().last_index() == before);
  for (auto& n : c.names()) CHECK(c[n].current_role() != role::stopped);
}

// -- machine callbacks besides apply (F14): a throw stops only that server, cleanly ----------

namespace {

/// A sum whose `fail_in` callback throws: "state_enter" (on becoming leader) or "tick".
struct throwing_callbacks {
  using command_type = int64_t;
  using state_type = int64_t;
  using reply_type = int64_t;
  std::string fail_in;

  state_type init() const { return 0; }
  apply_result<state_type, reply_type> apply(const command_meta&, const command_type& c, state_type s) const {
    return {s + c, s + c};
  }
  effects state_enter(role r, const state_type&) const {
    if (fail_in == "state_enter" && r == role::leader) throw std::runtime_error("state_enter broke");
    return {};
  }
  effects tick(int64_t, const state_type&) const {
    if (fail_in == "tick") throw 42;  // not even a std::exception
    return {};
  }
};

void run_throwing(cluster& c, const std::string& fail_in) {
  for (auto& n : c.names()) {
    c.set_machine(n, [fail_in] { return make_machine<throwing_callbacks>(throwing_callbacks{fail_in}); });
    c.crash(n);
    c.restart(n);
  }
}

}  // namespace

TEST_CASE("a throwing state_enter stops the new leader with the reason, at the end of the event", "[machine][callbacks]") {
  cluster c{{"a", "b", "c"}};
  run_throwing(c, "state_enter");
  c["a"].handle_trigger_election();
  c.run();  // would throw out of the harness without the guard
  CHECK(c["a"].current_role() == role::stopped);
  CHECK(c["a"].stop_reason() == "machine state_enter failed: state_enter broke");
}

TEST_CASE("a tick that throws anything stops the leader with the reason", "[machine][callbacks]") {
  cluster c{{"a", "b", "c"}};
  run_throwing(c, "tick");
  c.elect("a");
  REQUIRE(c["a"].current_role() == role::leader);
  c.fire("a", timer_kind::tick);
  CHECK(c["a"].current_role() == role::stopped);
  CHECK(c["a"].stop_reason().find("machine tick failed") != std::string::npos);
}
