// typed_machine's optional hooks: apply_builtin and the aux machine.
#include <catch2/catch.hpp>

#include <string>
#include <vector>

#include "ra/effects.hpp"
#include "ra/typed_machine.hpp"
#include "ra/machines/counter.hpp"

using namespace ra;

namespace {

command_meta meta_at(uint64_t index) { return command_meta{index_t{index}, term_t{1}, 0, 0}; }

/// Remembers which pids went down; apply adds a name.
struct watcher {
  using command_type = std::string;
  using state_type = std::vector<std::string>;
  using reply_type = uint64_t;  ///< entries in the state

  state_type init() const { return {}; }
  apply_result<state_type, reply_type> apply(const command_meta&, const command_type& name, state_type s) const {
    s.push_back(name);
    return {s, s.size()};
  }
  apply_result<state_type, reply_type> apply_builtin(const command_meta&, const builtin_command& c,
                                                     state_type s) const {
    effects effs;
    if (auto* down = std::get_if<down_command>(&c)) {
      s.push_back("down " + down->who.to_string() + " " + down->reason);
      effs.push_back(effect::demonitor(down->who));
    }
    return {s, s.size(), std::move(effs)};
  }
};

/// Aux: counts aux "hits" per member and answers with hits plus the replicated state.
struct with_aux {
  using command_type = int64_t;
  using state_type = int64_t;
  using reply_type = int64_t;
  using aux_command_type = int64_t;  ///< hits to add
  using aux_reply_type = std::string;
  using aux_state_type = int64_t;    ///< hits so far on this member

  state_type init() const { return 0; }
  aux_state_type init_aux() const { return 100; }
  apply_result<state_type, reply_type> apply(const command_meta&, const command_type& c, state_type s) const {
    s += c;
    return {s, s};
  }
  aux_result<aux_reply_type> handle_aux(role r, const aux_command_type& hits, aux_state_type& aux,
                                        const state_type& s) const {
    aux += hits;
    effects effs;
    if (r == role::leader)
      effs.push_back(effect::timer("aux", 10));
    return {std::to_string(aux) + "/" + std::to_string(s), std::move(effs)};
  }
};

}  // namespace

TEST_CASE("a typed machine's apply_builtin hook sees built-in commands", "[typed_machine]") {
  auto m = make_machine<watcher>();
  m->apply(meta_at(1), encode(std::string{"alice"}));
  auto out = m->apply_builtin(meta_at(2), down_command{pid{"n1", 7}, "killed"});
  CHECK(decode<uint64_t>(out.reply) == uint64_t{2});
  auto& state = machine_state<std::vector<std::string>>(*m);
  REQUIRE(state.size() == 2);
  CHECK(state[1] == "down <n1.7> killed");
  REQUIRE(out.effs.size() == 1);
  auto* shell = as_shell_effect(out.effs[0]);
  REQUIRE(shell);
  REQUIRE(std::holds_alternative<demonitor_effect>(*shell));
  CHECK(std::get<demonitor_effect>(*shell).target == pid{"n1", 7});

  // A built-in the machine does not care about leaves the state alone.
  auto ignored = m->apply_builtin(meta_at(3), nodeup_command{"n2"});
  CHECK(decode<uint64_t>(ignored.reply) == uint64_t{2});
  CHECK(machine_state<std::vector<std::string>>(*m).size() == 2);
}

TEST_CASE("a typed machine without apply_builtin ignores built-in commands", "[typed_machine]") {
  auto m = make_machine<machines::counter>();
  m->apply(meta_at(1), encode(int64_t{5}));
  auto out = m->apply_builtin(meta_at(2), timeout_command{"t"});
  CHECK(out.reply.empty());
  CHECK(out.effs.empty());
  CHECK(machine_state<int64_t>(*m) == 5);
}

TEST_CASE("a typed machine's aux handler keeps per-member state outside snapshots", "[typed_machine][aux]") {
  typed_machine<with_aux> m;
  CHECK(m.aux_state() == 100);  // from init_aux
  m.apply(meta_at(1), encode(int64_t{7}));

  auto out = m.handle_aux(role::follower, encode(int64_t{5}));
  CHECK(decode<std::string>(out.reply) == std::string{"105/7"});
  CHECK(out.effs.empty());
  auto lead = m.handle_aux(role::leader, encode(int64_t{1}));
  CHECK(decode<std::string>(lead.reply) == std::string{"106/7"});
  REQUIRE(lead.effs.size() == 1);
  REQUIRE(as_shell_effect(lead.effs[0]));
  CHECK(std::get<timer_effect>(*as_shell_effect(lead.effs[0])).name == "aux");

  // The aux state is not replicated: snapshot/restore and init leave it alone.
  auto snap = m.snapshot();
  m.apply(meta_at(2), encode(int64_t{1}));
  REQUIRE(m.restore(snap));
  CHECK(m.state() == 7);
  m.init();
  CHECK(m.aux_state() == 106);
}

TEST_CASE("an aux command that does not decode throws bad_command", "[typed_machine][aux]") {
  typed_machine<with_aux> m;
  CHECK_THROWS_AS(m.handle_aux(role::leader, shared_bytes::copy_of("xy")), bad_command);
  CHECK(m.aux_state() == 100);
}

TEST_CASE("a typed machine without aux answers aux commands with nothing", "[typed_machine][aux]") {
  auto m = make_machine<machines::counter>();
  auto out = m->handle_aux(role::leader, encode(int64_t{1}));
  CHECK(out.reply.empty());
  CHECK(out.effs.empty());
}

TEST_CASE("the counter machine adds increments and snapshots its value", "[typed_machine][counter]") {
  auto m = make_machine<machines::counter>();
  CHECK(decode<int64_t>(m->apply(meta_at(1), encode(int64_t{3})).reply) == int64_t{3});
  CHECK(decode<int64_t>(m->apply(meta_at(2), encode(int64_t{4})).reply) == int64_t{7});
  auto snap = m->snapshot();
  auto other = make_machine<machines::counter>();
  REQUIRE(other->restore(snap));
  CHECK(machine_state<int64_t>(*other) == 7);
  CHECK_THROWS_AS(m->apply(meta_at(3), shared_bytes::copy_of("x")), bad_command);
}
