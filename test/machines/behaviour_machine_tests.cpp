// Behaviour machines: dispatch by command type, the wire tag, versions and upgrades.
#include <catch2/catch.hpp>

#include <string>
#include <vector>

#include "ra/behaviour_machine.hpp"
#include "ra/effects.hpp"

using namespace ra;

namespace {

struct add {
  using reply_type = int64_t;
  int64_t amount = 0;
};
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, add& x) {
  return f(x.amount);
}

struct set_name {
  using reply_type = std::string;  ///< the old name
  std::string name;
};
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, set_name& x) {
  return f(x.name);
}

/// Added in version 1.
struct reset {
  using reply_type = bool;
};
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, reset&) {
  return f();
}

using test_protocol = protocol<add, set_name, reset>;

struct test_state {
  int64_t total = 0;
  std::string name = "none";
  std::vector<std::string> log;
  bool operator==(const test_state&) const = default;
};
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, test_state& x) {
  return f(x.total, x.name, x.log);
}

using test_behaviour = behaviour<test_protocol, test_state>;

command_meta meta_at(uint64_t index, uint32_t version = 0) {
  return command_meta{index_t{index}, term_t{1}, 0, version};
}

/// Version 0: add adds. Version 1: add adds ten times the amount, reset exists, and the
/// upgrade handler upper-cases the name (a state migration).
test_behaviour version0() {
  return test_behaviour{
    [](const command_meta&, const add& c, test_state& s) -> handled<int64_t> {
      s.total += c.amount;
      return {s.total};
    },
    [](const command_meta& meta, const set_name& c, test_state& s) {
      auto old = std::exchange(s.name, c.name);
      s.log.push_back("set_name@" + std::to_string(meta.index.value));
      return handled<std::string>{old, {effect::release_cursor(meta.index)}};
    },
    [](const command_meta&, const down_command& c, test_state& s) -> effects {
      s.log.push_back("down " + c.who.to_string());
      return {};
    },
    [](const command_meta&, const machine_version_command&, test_state& s) -> effects {
      s.log.push_back("v0 upgrade");  // must never run: upgrades go to the new version
      return {};
    },
    [](role r, const test_state& s) -> effects {
      if (r != role::leader)
        return {};
      return {effect::timer(s.name, 5)};
    },
    [](const test_state& s) { return nlohmann::json{{"total", s.total}}; },
  };
}

test_behaviour version1() {
  return version0().with(
    [](const command_meta&, const add& c, test_state& s) -> handled<int64_t> {
      s.total += 10 * c.amount;
      return {s.total};
    },
    [](const command_meta&, const reset&, test_state& s) -> bool {
      s.total = 0;
      return true;
    },
    [](const command_meta&, const machine_version_command& c, test_state& s) -> effects {
      for (auto& ch : s.name)
        ch = static_cast<char>(std::toupper(static_cast<unsigned char>(ch)));
      s.log.push_back("upgrade " + std::to_string(c.from) + "->" + std::to_string(c.to));
      return {};
    });
}

using test_machine = behaviour_machine<test_protocol, test_state>;

test_machine two_versions() { return test_machine{test_state{}, {version0(), version1()}}; }

}  // namespace

TEST_CASE("a command's tag is its position in the protocol", "[behaviour]") {
  STATIC_REQUIRE(test_protocol::tag_of<add>() == 0);
  STATIC_REQUIRE(test_protocol::tag_of<set_name>() == 1);
  STATIC_REQUIRE(test_protocol::tag_of<reset>() == 2);
  auto bytes = encode_command<test_protocol>(set_name{"x"});
  // The tag comes first, then the command exactly as ra::encode writes it.
  auto body = encode(set_name{"x"});
  auto tag = encode(uint32_t{1});
  CHECK(bytes.view() == std::string{tag.view()} + std::string{body.view()});
}

TEST_CASE("a behaviour machine dispatches each command to the handler of its type", "[behaviour]") {
  auto m = two_versions();
  auto added = m.apply(meta_at(1), encode_command<test_protocol>(add{5}));
  CHECK(decode_reply<add>(added.reply) == int64_t{5});
  CHECK(added.effs.empty());

  auto renamed = m.apply(meta_at(2), encode_command<test_protocol>(set_name{"bob"}));
  CHECK(decode_reply<set_name>(renamed.reply) == std::string{"none"});
  REQUIRE(renamed.effs.size() == 1);
  REQUIRE(std::holds_alternative<release_cursor_effect>(renamed.effs[0]));
  CHECK(std::get<release_cursor_effect>(renamed.effs[0]).index == index_t{2});

  CHECK(m.state().total == 5);
  CHECK(m.state().name == "bob");
  CHECK(m.state().log == std::vector<std::string>{"set_name@2"});
}

TEST_CASE("a behaviour machine rejects what it cannot dispatch with bad_command", "[behaviour]") {
  auto m = two_versions();
  // Tag 7 is not in the protocol.
  std::vector<char> unknown_tag(encode(uint32_t{7}).vec());
  auto body = encode(add{1}).vec();
  unknown_tag.insert(unknown_tag.end(), body.begin(), body.end());
  CHECK_THROWS_AS(m.apply(meta_at(1), shared_bytes{unknown_tag}), bad_command);
  // No tag at all, a truncated body, trailing garbage.
  CHECK_THROWS_AS(m.apply(meta_at(1), shared_bytes{}), bad_command);
  auto good = encode_command<test_protocol>(set_name{"abcdef"}).vec();
  CHECK_THROWS_AS(m.apply(meta_at(1), shared_bytes{std::vector<char>(good.begin(), good.end() - 2)}), bad_command);
  auto longer = good;
  longer.push_back('!');
  CHECK_THROWS_AS(m.apply(meta_at(1), shared_bytes{longer}), bad_command);
  // reset is in the protocol but version 0 has no handler for it.
  CHECK_THROWS_AS(m.apply(meta_at(1, 0), encode_command<test_protocol>(reset{})), bad_command);
  CHECK(m.state() == test_state{});
}

TEST_CASE("the effective machine version picks the handler set", "[behaviour][version]") {
  auto m = two_versions();
  CHECK(m.version() == 1);
  m.apply(meta_at(1, 0), encode_command<test_protocol>(add{2}));
  CHECK(m.state().total == 2);
  m.apply(meta_at(2, 1), encode_command<test_protocol>(add{2}));
  CHECK(m.state().total == 22);
  CHECK(m.effective_version() == 1);
  auto r = m.apply(meta_at(3, 1), encode_command<test_protocol>(reset{}));
  CHECK(decode_reply<reset>(r.reply) == true);
  CHECK(m.state().total == 0);
  // A version newer than the code is a broken cluster: the server must stop.
  CHECK_THROWS(m.apply(meta_at(4, 2), encode_command<test_protocol>(add{1})));
}

TEST_CASE("machine_version_command runs the new version's upgrade handler only", "[behaviour][version]") {
  auto m = two_versions();
  m.apply(meta_at(1, 0), encode_command<test_protocol>(set_name{"bob"}));
  m.apply_builtin(meta_at(2, 1), machine_version_command{0, 1});
  CHECK(m.state().name == "BOB");
  CHECK(m.state().log == std::vector<std::string>{"set_name@1", "upgrade 0->1"});
  CHECK(m.effective_version() == 1);
}

TEST_CASE("built-in commands go to their handler or are ignored", "[behaviour]") {
  auto m = two_versions();
  m.apply_builtin(meta_at(1), down_command{pid{"n", 3}, "normal"});
  CHECK(m.state().log == std::vector<std::string>{"down <n.3>"});
  auto out = m.apply_builtin(meta_at(2), nodedown_command{"n"});
  CHECK(out.reply.empty());
  CHECK(out.effs.empty());
  CHECK(m.state().log.size() == 1);
}

TEST_CASE("state_enter and overview come from the effective version's behaviour", "[behaviour]") {
  auto m = two_versions();
  m.apply(meta_at(1), encode_command<test_protocol>(set_name{"t1"}));
  CHECK(m.state_enter(role::follower).empty());
  auto effs = m.state_enter(role::leader);
  REQUIRE(effs.size() == 1);
  REQUIRE(as_shell_effect(effs[0]));
  CHECK(std::get<timer_effect>(*as_shell_effect(effs[0])).name == "t1");
  m.apply(meta_at(2), encode_command<test_protocol>(add{4}));
  CHECK(m.overview() == nlohmann::json{{"total", 4}});
}

TEST_CASE("a behaviour machine's snapshot keeps the state and the effective version", "[behaviour][snapshot]") {
  auto m = two_versions();
  m.apply(meta_at(1, 0), encode_command<test_protocol>(add{3}));
  m.apply_builtin(meta_at(2, 1), machine_version_command{0, 1});
  m.apply(meta_at(3, 1), encode_command<test_protocol>(set_name{"z"}));
  auto snap = m.snapshot();

  auto other = two_versions();
  REQUIRE(other.restore(snap));
  CHECK(other.state() == m.state());
  CHECK(other.effective_version() == 1);
  CHECK_FALSE(other.restore(shared_bytes::copy_of("garbage")));
  CHECK(other.state() == m.state());
  // A snapshot taken at a version this code does not have is refused.
  auto v0_only = test_machine{test_state{}, {version0()}};
  CHECK_FALSE(v0_only.restore(snap));
  other.init();
  CHECK(other.state() == test_state{});
  CHECK(other.effective_version() == 0);
}

TEST_CASE("two handlers for one command in one behaviour are an error", "[behaviour]") {
  auto handler = [](const command_meta&, const add&, test_state&) -> int64_t { return 0; };
  CHECK_THROWS_AS(test_behaviour(handler, handler), std::logic_error);
  CHECK_NOTHROW(test_behaviour(handler).with(handler));
}

TEST_CASE("optional_field round-trips present and absent values", "[behaviour][codec]") {
  for (auto value : {std::optional<std::string>{}, std::optional<std::string>{"v"}, std::optional<std::string>{""}}) {
    std::vector<char> buf;
    caf::binary_serializer sink{nullptr, buf};
    auto out = optional_field{value};
    REQUIRE_FALSE(sink(out));
    std::optional<std::string> back{"sentinel"};
    caf::binary_deserializer src{nullptr, buf};
    auto in = optional_field{back};
    REQUIRE_FALSE(src(in));
    CHECK(src.remaining() == 0);
    CHECK(back == value);
  }
}
