// The core's side of the machine contract beyond plain commands: built-in commands
// (appended by the leader, applied everywhere), effect routing, the aux handler and
// machine-version upgrades (Ra's strategy `all`).
#include <catch2/catch.hpp>

#include "test/core/cluster_harness.hpp"
#include "ra/effects.hpp"

using namespace ra;
using namespace ra::test;

namespace {

/// Records what it applied, as text: "cmd <value> v<machine version>", "down <pid>",
/// "timeout <name>", "version <from>-><to>". Its code supports versions up to `max_version`.
class recording_machine final : public machine {
 public:
  explicit recording_machine(uint32_t max_version) : max_version_(max_version) {}
  std::vector<std::string> log;
  int aux_calls = 0;

  void init() override { log.clear(); }
  apply_output apply(const command_meta& meta, const shared_bytes& cmd) override {
    auto v = decode<int64_t>(cmd).value_or(-1);
    log.push_back("cmd " + std::to_string(v) + " v" + std::to_string(meta.machine_version));
    effects effs;
    if (v == 42) effs.push_back(effect::timer("t", 10));             // leader-only shell effect
    if (v == 43) effs.push_back(effect::make(mod_call_effect{}, true));  // every member
    return {encode(v), std::move(effs)};
  }
  apply_output apply_builtin(const command_meta& meta, const builtin_command& c) override {
    std::visit(
      [&](const auto& x) {
        using T = std::decay_t<decltype(x)>;
        if constexpr (std::is_same_v<T, down_command>) log.push_back("down " + x.who.to_string() + " " + x.reason);
        else if constexpr (std::is_same_v<T, timeout_command>) log.push_back("timeout " + x.name);
        else if constexpr (std::is_same_v<T, machine_version_command>)
          log.push_back("version " + std::to_string(x.from) + "->" + std::to_string(x.to) + " v" +
                        std::to_string(meta.machine_version));
        else log.push_back("node event");
      },
      c);
    return {};
  }
  aux_output handle_aux(role r, const shared_bytes& cmd) override {
    ++aux_calls;
    auto v = decode<int64_t>(cmd).value_or(0);
    if (v < 0) throw std::runtime_error("bad aux");
    return {encode(std::string(to_string(r)) + ":" + std::to_string(aux_calls)), {}};
  }
  uint32_t version() const override { return max_version_; }
  shared_bytes snapshot() const override { return encode(log); }
  bool restore(const shared_bytes& b) override {
    auto l = decode<std::vector<std::string>>(b);
    if (!l) return false;
    log = *l;
    return true;
  }
  const void* state_ptr() const override { return &log; }
  const std::type_info& state_typeid() const override { return typeid(log); }

 private:
  uint32_t max_version_;
};

const std::vector<std::string>& recorded(cluster& c, const std::string& n) {
  return machine_state<std::vector<std::string>>(c[n].state_machine());
}

void use_versions(cluster& c, std::map<std::string, uint32_t> versions) {
  for (auto& [n, v] : versions) {
    c.set_machine(n, [v = v] { return std::make_unique<recording_machine>(v); });
    c.crash(n);
    c.restart(n);
  }
}

size_t effects_on(cluster& c, const std::string& name) {
  size_t n = 0;
  for (auto& [who, a] : c.log_)
    if (who == name && std::holds_alternative<effect_action>(a)) ++n;
  return n;
}

}  // namespace

TEST_CASE("a built-in command is appended only by the leader and applied on every member", "[machine][builtin]") {
  cluster c{{"a", "b", "c"}};
  use_versions(c, {{"a", 0}, {"b", 0}, {"c", 0}});
  c.elect("a");
  CHECK_FALSE(c["b"].handle_builtin(down_command{pid{"n1", 7}, "noproc"}));
  CHECK(c["a"].handle_builtin(down_command{pid{"n1", 7}, "normal"}));
  CHECK(c["a"].handle_builtin(timeout_command{"retry"}));
  c.run();
  for (auto n : {"a", "b", "c"}) {
    CHECK(recorded(c, n) == std::vector<std::string>{"down <n1.7> normal", "timeout retry"});
    CHECK(c[n].last_applied() == index_t{3});
  }
}

TEST_CASE("built-in commands survive a restart: they are replayed from the log", "[machine][builtin]") {
  cluster c{{"a", "b", "c"}};
  use_versions(c, {{"a", 0}, {"b", 0}, {"c", 0}});
  c.elect("a");
  c["a"].handle_builtin(timeout_command{"x"});
  c.run();
  c.crash("b");
  c.restart("b");
  c.command("a", 1);
  c.run();
  CHECK(recorded(c, "b") == std::vector<std::string>{"timeout x", "cmd 1 v0"});
}

TEST_CASE("shell effects run on the leader only unless they are for all members", "[machine][effects]") {
  cluster c{{"a", "b", "c"}};
  use_versions(c, {{"a", 0}, {"b", 0}, {"c", 0}});
  c.elect("a");
  c.log_.clear();
  c.command("a", 42);
  c.run();
  CHECK(effects_on(c, "a") == 1);
  CHECK(effects_on(c, "b") == 0);
  c.log_.clear();
  c.command("a", 43);
  c.run();
  for (auto n : {"a", "b", "c"}) CHECK(effects_on(c, n) == 1);
}

TEST_CASE("the aux handler runs locally on any member and answers its caller", "[machine][aux]") {
  cluster c{{"a", "b", "c"}};
  use_versions(c, {{"a", 0}, {"b", 0}, {"c", 0}});
  c.elect("a");
  auto caller = c.next_client();
  c["b"].handle_aux(caller, encode(int64_t{1}));
  c.collect();
  auto r = c.reply_for(caller);
  REQUIRE(r);
  CHECK_FALSE(r->error);
  CHECK(decode<std::string>(r->reply) == std::string("follower:1"));
  CHECK(c["b"].log().last_index() == c["a"].log().last_index());  // nothing replicated

  auto failing = c.next_client();
  c["b"].handle_aux(failing, encode(int64_t{-1}));
  c.collect();
  REQUIRE(c.reply_for(failing));
  REQUIRE(c.reply_for(failing)->error);
  CHECK(c.reply_for(failing)->error->code == error_code::invalid_argument);
  CHECK(c["b"].current_role() == role::follower);  // an aux failure does not stop the member
}

TEST_CASE("the machine version rises only when every member runs code that supports it", "[machine][version]") {
  cluster c{{"a", "b", "c"}};
  use_versions(c, {{"a", 1}, {"b", 1}, {"c", 0}});
  c.elect("a");
  c.command("a", 1);
  c.run();
  for (auto n : {"a", "b", "c"}) CHECK(c[n].effective_machine_version() == 0);
  CHECK(recorded(c, "a") == std::vector<std::string>{"cmd 1 v0"});

  // Rolling upgrade of the last member: the leader learns it from its next reply.
  use_versions(c, {{"c", 1}});
  c.command("a", 2);
  c.run();
  c.command("a", 3);
  c.run();
  for (auto n : {"a", "b", "c"}) {
    CHECK(c[n].effective_machine_version() == 1);
    auto& log = recorded(c, n);
    REQUIRE(log.size() >= 3);
    CHECK(std::count(log.begin(), log.end(), "version 0->1 v1") == 1);
    CHECK(log.back() == "cmd 3 v1");
  }
}

TEST_CASE("a member whose code is older than the effective version cannot become leader", "[machine][version]") {
  cluster c{{"a", "b", "c"}};
  use_versions(c, {{"a", 1}, {"b", 1}, {"c", 1}});
  c.elect("a");
  c.command("a", 1);
  c.run();
  c.command("a", 2);
  c.run();
  REQUIRE(c["b"].effective_machine_version() == 1);
  // c is downgraded (restarted with old code) and tries to lead: nobody pre-votes for it.
  use_versions(c, {{"c", 0}});
  c.crash("a");
  c["c"].handle_trigger_election();
  c.run();
  CHECK(c["c"].current_role() != role::leader);
  c["b"].handle_trigger_election();
  c.run();
  CHECK(c.leader() == "b");
}

TEST_CASE("delete_cluster stops every member with its data marked for deletion", "[machine][delete]") {
  cluster c{{"a", "b", "c"}};
  c.elect("a");
  c.command("a", 1);
  c.run();
  auto refused = c.next_client();
  c["b"].handle_delete_cluster(refused);
  c.collect();
  REQUIRE(c.reply_for(refused));
  REQUIRE(c.reply_for(refused)->error);
  CHECK(c.reply_for(refused)->error->code == error_code::not_leader);
  CHECK(c.reply_for(refused)->error->leader == sid("a"));

  auto caller = c.next_client();
  c["a"].handle_delete_cluster(caller);
  c.run();
  REQUIRE(c.reply_for(caller));
  CHECK_FALSE(c.reply_for(caller)->error);
  for (auto n : {"a", "b", "c"}) {
    CHECK(c[n].current_role() == role::stopped);
    CHECK(c[n].stop_reason() == "cluster deleted");
    bool deleted = false;
    for (auto& [who, a] : c.log_)
      if (auto* s = std::get_if<stopped_action>(&a); s && who == n) deleted = s->delete_data && !s->failed;
    CHECK(deleted);
  }
}
