// Round trip of every type ra announces to CAF (wire::for_each_announced_type): each value
// is serialized with CAF 0.17's binary_serializer and read back, on its own and inside a
// caf::message (which also proves the type is announced under its name: a message holding
// an unannounced type does not serialize). Every sample differs from the default value in
// every field, so a field missing from an inspect overload shows up as a mismatch.
//
// A newly announced type needs a sample below, or this file does not compile.

#include <catch2/catch.hpp>

#include <set>
#include <string>
#include <vector>

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/binary_deserializer.hpp>
#include <caf/binary_serializer.hpp>
#include <caf/message.hpp>

#include "wire/announce.hpp"

namespace {

using namespace ra;

template <class T>
struct sample {
  static_assert(sizeof(T) == 0, "an announced type without a sample: add one to test/wire/wire_tests.cpp");
};

server_id sid(const char* name) { return server_id{name, "node-1"}; }
shared_bytes bytes(const char* text) { return shared_bytes::copy_of(text); }

template <> struct sample<server_id> { static server_id make() { return sid("a"); } };
template <> struct sample<index_t> { static index_t make() { return index_t{42}; } };
template <> struct sample<term_t> { static term_t make() { return term_t{7}; } };
template <> struct sample<member> {
  static member make() { return member{sid("b"), membership::promotable, index_t{9}}; }
};
template <> struct sample<std::vector<member>> {
  static std::vector<member> make() {
    return {member{sid("a"), membership::voter, index_t{0}}, sample<member>::make(),
            member{sid("c"), membership::non_voter, index_t{0}}};
  }
};
template <> struct sample<cluster_config> {
  static cluster_config make() { return cluster_config{sample<std::vector<member>>::make()}; }
};
template <> struct sample<shared_bytes> {
  static shared_bytes make() { return shared_bytes{std::vector<char>{'a', '\0', '\xff', 'z'}}; }
};
template <> struct sample<log_entry> {
  static log_entry make() { return log_entry{index_t{5}, term_t{2}, entry_kind::builtin, 1700000000123, bytes("cmd")}; }
};
template <> struct sample<std::vector<log_entry>> {
  static std::vector<log_entry> make() {
    return {sample<log_entry>::make(),
            log_entry{index_t{6}, term_t{3}, entry_kind::cluster_change, -1, bytes("members")}};
  }
};
template <> struct sample<snapshot_meta> {
  static snapshot_meta make() { return snapshot_meta{index_t{100}, term_t{4}, sample<cluster_config>::make(), 3}; }
};
template <> struct sample<command_error> {
  static command_error make() { return command_error{error_code::leadership_lost, sid("leader")}; }
};
template <> struct sample<append_entries_rpc> {
  static append_entries_rpc make() {
    return {term_t{4}, sid("leader"), index_t{10}, index_t{11}, term_t{3}, sample<std::vector<log_entry>>::make()};
  }
};
template <> struct sample<append_entries_reply> {
  static append_entries_reply make() { return {term_t{4}, true, index_t{12}, index_t{11}, term_t{3}, 2}; }
};
template <> struct sample<pre_vote_rpc> {
  static pre_vote_rpc make() { return {term_t{5}, sid("cand"), index_t{20}, term_t{4}, 99, 2}; }
};
template <> struct sample<pre_vote_result> {
  static pre_vote_result make() { return {term_t{5}, 99, true}; }
};
template <> struct sample<request_vote_rpc> {
  static request_vote_rpc make() { return {term_t{5}, sid("cand"), index_t{20}, term_t{4}, true}; }
};
template <> struct sample<request_vote_result> {
  static request_vote_result make() { return {term_t{5}, true}; }
};
template <> struct sample<install_snapshot_rpc> {
  static install_snapshot_rpc make() {
    return {term_t{6}, sid("leader"), sample<snapshot_meta>::make(), 3, true, bytes("chunk"), true, 0xdeadbeefu};
  }
};
template <> struct sample<install_snapshot_result> {
  static install_snapshot_result make() { return {term_t{6}, index_t{100}, 3, index_t{101}, term_t{6}}; }
};
template <> struct sample<heartbeat_rpc> {
  static heartbeat_rpc make() { return {term_t{6}, sid("leader"), 17}; }
};
template <> struct sample<heartbeat_reply> {
  static heartbeat_reply make() { return {term_t{6}, 17}; }
};
template <> struct sample<timeout_now_rpc> {
  static timeout_now_rpc make() { return {term_t{6}, sid("leader")}; }
};
template <> struct sample<actors::command_result> {
  static actors::command_result make() {
    return {index_t{8}, term_t{2}, sid("leader"), bytes("reply"), true, sample<command_error>::make()};
  }
};
template <> struct sample<actors::named_query_result> {
  static actors::named_query_result make() { return {sid("leader"), bytes("value"), true, sample<command_error>::make()}; }
};
template <> struct sample<actors::members_result> {
  static actors::members_result make() { return {sample<std::vector<member>>::make(), sid("leader"), role::candidate}; }
};
template <> struct sample<actors::overview_result> {
  static actors::overview_result make() {
    server_overview o{sid("a"), "cluster", role::leader, term_t{5}, sid("a"), sid("a"), index_t{9}, index_t{8},
                      index_t{10}, index_t{10}, index_t{3}, 2, sample<std::vector<member>>::make(), "stopped",
                      true, {{sid("b"), index_t{11}, index_t{10}, false}, {sid("c"), index_t{4}, index_t{0}, true}},
                      R"({"count":3})"};
    return {true, std::move(o), "uid1", "cluster", "kv"};
  }
};
template <> struct sample<actors::applied_batch> {
  static actors::applied_batch make() { return {sid("leader"), {{1, bytes("one")}, {2, bytes("two")}}}; }
};

template <> struct sample<actors::node_server_request> {
  static actors::node_server_request make() {
    return {static_cast<uint8_t>(actors::server_op::start), sid("a"), "cluster", "kv", "args",
            sample<std::vector<member>>::make()};
  }
};
template <> struct sample<actors::node_server_result> {
  static actors::node_server_result make() { return {true, 5, "unknown machine 'x'", true, false, {3, 0, 7}}; }
};

caf::actor_system_config& announced(caf::actor_system_config& cfg) {
  actors::announce_ra_types(cfg);
  return cfg;
}

}  // namespace

TEST_CASE("every announced type round-trips through CAF's binary serializer", "[wire]") {
  caf::actor_system_config cfg;
  caf::actor_system sys{announced(cfg)};
  std::set<std::string> names;
  wire::for_each_announced_type([&](auto tag, const char* name) {
    using T = typename decltype(tag)::type;
    INFO("announced type " << name);
    CHECK(names.insert(name).second);  // every wire name once
    const T original = sample<T>::make();
    CHECK_FALSE(original == T{});  // a sample must exercise the fields

    // The value alone.
    {
      std::vector<char> buf;
      caf::binary_serializer sink{sys, buf};
      REQUIRE_FALSE(sink(const_cast<T&>(original)));
      T copy{};
      caf::binary_deserializer src{sys, buf};
      REQUIRE_FALSE(src(copy));
      CHECK(src.remaining() == 0);
      CHECK(copy == original);
    }
    // Inside a message, as it travels between nodes (type looked up by its name).
    {
      auto msg = caf::make_message(original);
      std::vector<char> buf;
      caf::binary_serializer sink{sys, buf};
      REQUIRE_FALSE(sink(msg));
      caf::message loaded;
      caf::binary_deserializer src{sys, buf};
      REQUIRE_FALSE(src(loaded));
      REQUIRE(loaded.match_elements<T>());
      CHECK(loaded.get_as<T>(0) == original);
    }
  });
  CHECK(names.size() >= 25);
}

TEST_CASE("a message with a type that is not announced does not survive the trip", "[wire]") {
  // The check above relies on this: without the announcement the message round trip fails.
  caf::actor_system_config cfg;  // nothing announced
  caf::actor_system sys{cfg};
  auto msg = caf::make_message(sample<heartbeat_reply>::make());
  std::vector<char> buf;
  caf::binary_serializer sink{sys, buf};
  auto save_error = sink(msg);
  caf::message loaded;
  caf::binary_deserializer src{sys, buf};
  auto load_error = save_error ? save_error : src(loaded);
  CHECK((load_error || !loaded.match_elements<heartbeat_reply>()));
}
