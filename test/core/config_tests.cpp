// validate(server_config): a typed config_error that names the field that is wrong.
#include <catch2/catch.hpp>

#include "ra/config.hpp"

using namespace ra;

namespace {

server_config valid() {
  server_config c;
  c.id = server_id{"s1", "n1"};
  c.initial_members = {member{server_id{"s1", "n1"}}, member{server_id{"s2", "n1"}}};
  return c;
}

}  // namespace

TEST_CASE("validate accepts a usable config", "[config]") {
  CHECK(validate(valid()).has_value());
}

TEST_CASE("validate names the field that is wrong", "[config]") {
  struct bad_case {
    const char* field;
    void (*spoil)(server_config&);
  };
  const bad_case cases[] = {
      {"id", [](server_config& c) { c.id = {}; }},
      {"broadcast_time_ms", [](server_config& c) { c.broadcast_time_ms = 0; }},
      {"tick_timeout_ms", [](server_config& c) { c.tick_timeout_ms = 0; }},
      {"max_pipeline_count", [](server_config& c) { c.max_pipeline_count = 0; }},
      {"max_append_entries_rpc_batch_size", [](server_config& c) { c.max_append_entries_rpc_batch_size = 0; }},
      {"snapshot_chunk_size", [](server_config& c) { c.snapshot_chunk_size = 0; }},
      {"low_priority_commands_flush_size", [](server_config& c) { c.low_priority_commands_flush_size = 0; }},
      {"initial_members", [](server_config& c) { c.initial_members.push_back(member{}); }},
      {"max_command_bytes", [](server_config& c) { c.max_command_bytes = 0; }},
      {"detector_poll_ms", [](server_config& c) { c.detector_poll_ms = 0; }},
      {"await_condition_timeout_ms", [](server_config& c) { c.await_condition_timeout_ms = 0; }},
      {"receive_snapshot_timeout_ms", [](server_config& c) { c.receive_snapshot_timeout_ms = 0; }},
      {"initial_members", [](server_config& c) { c.initial_members.erase(c.initial_members.begin()); }},
      {"max_command_bytes", [](server_config& c) { c.max_command_bytes = max_storable_command_bytes + 1; }},
  };
  for (auto& bc : cases) {
    auto c = valid();
    bc.spoil(c);
    auto r = validate(c);
    INFO(bc.field);
    REQUIRE(!r);
    CHECK(r.error().field == bc.field);
    CHECK(!r.error().reason.empty());
    CHECK(r.error().message() == r.error().field + " " + r.error().reason);
  }
}

TEST_CASE("validate reports zero timers as 'must be > 0'", "[config]") {
  auto c = valid();
  c.tick_timeout_ms = 0;
  auto r = validate(c);
  REQUIRE(!r);
  CHECK(r.error().message() == "tick_timeout_ms must be > 0");
}
