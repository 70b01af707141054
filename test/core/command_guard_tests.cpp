// What the leader's core refuses before it appends: commands over max_command_bytes
// (also those of remote callers, which no API check has seen), so no entry over the
// storage formats' limit ever reaches the log.
#include <catch2/catch.hpp>

#include "test/core/cluster_harness.hpp"

using namespace ra;
using namespace ra::test;

namespace {

constexpr uint64_t small_limit = 16;

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

  // At the limit it is appended (the machine cannot decode it, which is not this test's
  // business: after_log_append answers once it is in the log).
  auto at_limit = c.next_client();
  c["a"].handle_command(command_request{at_limit, payload_of(small_limit), reply_mode::after_log_append, 0,
                                        command_priority::normal});
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
