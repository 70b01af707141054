// The kv machine: commands on their own, and through three pure Raft servers.
#include <catch2/catch.hpp>

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "test/core/cluster_harness.hpp"
#include "ra/machines/kv.hpp"

using namespace ra;
using namespace ra::machines;

namespace {

command_meta meta_at(uint64_t index) { return command_meta{index_t{index}, term_t{1}, 0, 0}; }

/// Applies commands at increasing indexes and decodes their replies.
struct kv_driver {
  std::unique_ptr<machine> m;
  uint64_t index = 0;
  explicit kv_driver(kv_options opts = {}) : m(make_kv_machine(opts)) {}

  template <class Cmd>
  typename Cmd::reply_type run(const Cmd& c, effects* effs = nullptr) {
    auto out = m->apply(meta_at(++index), encode_command<kv_protocol>(c));
    if (effs)
      *effs = std::move(out.effs);
    auto reply = decode_reply<Cmd>(out.reply);
    REQUIRE(reply);
    return *reply;
  }
  const kv_state& state() const { return machine_state<kv_state>(*m); }
};

using value = std::optional<std::string>;

}  // namespace

TEST_CASE("kv put and get", "[kv]") {
  kv_driver kv;
  CHECK(kv.run(kv_get{"a"}) == kv_lookup{});
  CHECK(kv.run(kv_put{"a", "1"}) == kv_lookup{});  // no previous value
  CHECK(kv.run(kv_put{"a", "2"}) == kv_lookup{"1"});
  CHECK(kv.run(kv_put{"b", ""}) == kv_lookup{});
  CHECK(kv.run(kv_get{"a"}) == kv_lookup{"2"});
  CHECK(kv.run(kv_get{"b"}) == kv_lookup{""});  // empty is a value, not absence
  CHECK(kv.state().entries == std::map<std::string, std::string>{{"a", "2"}, {"b", ""}});
}

TEST_CASE("kv cas swaps only when the current value is the expected one", "[kv]") {
  kv_driver kv;
  // Expected absent, key absent: creates it.
  CHECK(kv.run(kv_cas{"k", std::nullopt, "v1"}) == kv_cas_result{true, value{"v1"}});
  // Expected absent, key present: fails and says what is there.
  CHECK(kv.run(kv_cas{"k", std::nullopt, "v2"}) == kv_cas_result{false, value{"v1"}});
  // Wrong expectation.
  CHECK(kv.run(kv_cas{"k", value{"v0"}, "v2"}) == kv_cas_result{false, value{"v1"}});
  CHECK(kv.run(kv_get{"k"}) == kv_lookup{"v1"});
  // Right expectation.
  CHECK(kv.run(kv_cas{"k", value{"v1"}, "v2"}) == kv_cas_result{true, value{"v2"}});
  // Expected a value, key absent.
  CHECK(kv.run(kv_cas{"other", value{"x"}, "y"}) == kv_cas_result{false, std::nullopt});
  CHECK(kv.state().entries == std::map<std::string, std::string>{{"k", "v2"}});
}

TEST_CASE("kv delete removes a key and returns its value", "[kv]") {
  kv_driver kv;
  kv.run(kv_put{"a", "1"});
  CHECK(kv.run(kv_delete{"a"}) == kv_lookup{"1"});
  CHECK(kv.run(kv_delete{"a"}) == kv_lookup{});
  CHECK(kv.run(kv_get{"a"}) == kv_lookup{});
  CHECK(kv.state().entries.empty());
}

TEST_CASE("kv emits release_cursor every N applied commands", "[kv]") {
  kv_driver kv{kv_options{3}};
  std::vector<uint64_t> released_at;
  for (int i = 0; i < 7; ++i) {
    effects effs;
    kv.run(kv_put{"k" + std::to_string(i), "v"}, &effs);
    for (auto& e : effs)
      if (auto* rc = std::get_if<release_cursor_effect>(&e))
        released_at.push_back(rc->index.value);
  }
  CHECK(released_at == std::vector<uint64_t>{3, 6});

  kv_driver never{kv_options{0}};
  effects effs;
  for (int i = 0; i < 5; ++i) {
    never.run(kv_get{"x"}, &effs);
    CHECK(effs.empty());
  }
}

TEST_CASE("kv snapshot and restore round trip", "[kv][snapshot]") {
  kv_driver kv{kv_options{10}};
  kv.run(kv_put{"a", "1"});
  kv.run(kv_put{"b", std::string("\0bin\xff", 5)});
  auto snap = kv.m->snapshot();

  kv_driver other;
  REQUIRE(other.m->restore(snap));
  CHECK(other.state() == kv.state());
  CHECK(other.run(kv_get{"b"}) == kv_lookup{std::string("\0bin\xff", 5)});
  CHECK(other.m->overview() == nlohmann::json{{"keys", 2}});
}

// -- through the Raft core -----------------------------------------------------------------

namespace {

/// The core test harness with every member running the kv machine (releasing every 2
/// commands, snapshotting at every release).
std::unique_ptr<test::cluster> kv_cluster() {
  auto c = std::make_unique<test::cluster>(std::vector<std::string>{"a", "b", "c"},
                                           [](server_config& cfg) { cfg.min_snapshot_interval = 2; });
  for (auto name : {"a", "b", "c"}) {
    // Nothing happened yet: a restart just swaps the machine.
    c->crash(name);
    c->set_machine(name, [] { return make_kv_machine(kv_options{2}); });
    c->restart(name);
  }
  return c;
}

template <class Cmd>
client_ref submit(test::cluster& c, const std::string& at, const Cmd& command) {
  auto client = c.next_client();
  c[at].handle_command(command_request{client, encode_command<kv_protocol>(command)});
  c.collect();
  return client;
}

template <class Cmd>
std::optional<typename Cmd::reply_type> reply(const test::cluster& c, client_ref client) {
  auto r = c.reply_for(client);
  if (!r || r->error)
    return std::nullopt;
  return decode_reply<Cmd>(r->reply);
}

const kv_state& state_of(test::cluster& c, const std::string& name) {
  return machine_state<kv_state>(c[name].state_machine());
}

}  // namespace

TEST_CASE("kv commands through three Raft members give the same state everywhere", "[kv][core]") {
  auto cp = kv_cluster();
  auto& c = *cp;
  c.elect("a");
  REQUIRE(c.leader() == "a");

  auto put_x = submit(c, "a", kv_put{"x", "1"});
  auto put_y = submit(c, "a", kv_put{"y", "2"});
  auto cas_ok = submit(c, "a", kv_cas{"x", value{"1"}, "3"});
  auto cas_bad = submit(c, "a", kv_cas{"y", value{"1"}, "9"});
  auto del = submit(c, "a", kv_delete{"y"});
  auto get = submit(c, "a", kv_get{"x"});
  c.run();

  CHECK(reply<kv_put>(c, put_x) == kv_lookup{});
  CHECK(reply<kv_put>(c, put_y) == kv_lookup{});
  CHECK(reply<kv_cas>(c, cas_ok) == kv_cas_result{true, value{"3"}});
  CHECK(reply<kv_cas>(c, cas_bad) == kv_cas_result{false, value{"2"}});
  CHECK(reply<kv_delete>(c, del) == kv_lookup{"2"});
  CHECK(reply<kv_get>(c, get) == kv_lookup{"3"});

  // c misses some commands, then comes back from its durable log and snapshot.
  c.crash("c");
  submit(c, "a", kv_put{"z", "4"});
  submit(c, "a", kv_put{"x", "5"});
  c.run();
  c.restart("c");
  submit(c, "a", kv_get{"x"});  // followers learn the commit index with the next AE
  c.run();

  auto expected = std::map<std::string, std::string>{{"x", "5"}, {"z", "4"}};
  for (auto name : {"a", "b", "c"}) {
    INFO(name);
    CHECK(c[name].last_applied() == c["a"].last_applied());
    CHECK(state_of(c, name).entries == expected);
    CHECK(state_of(c, name) == state_of(c, "a"));
    // release_cursor every 2 commands with min_snapshot_interval 2: every member has a
    // snapshot and dropped the log before it.
    REQUIRE(c.at(name).log.snapshot());
    CHECK(c.at(name).log.first_index() > index_t{1});
  }
}
