// Named queries (ra/named_query.hpp) on typed and behaviour machines, without actors: the
// machine runs a query by name over its current state with an encoded argument.

#include <catch2/catch.hpp>

#include "ra/machines/counter.hpp"
#include "ra/machines/fifo.hpp"
#include "ra/machines/kv.hpp"
#include "ra/named_query.hpp"

using namespace ra;

namespace {

command_meta meta_at(uint64_t i) {
  command_meta m;
  m.index = index_t{i};
  m.term = term_t{1};
  return m;
}

}  // namespace

TEST_CASE("named queries: a typed machine runs its registered queries over the current state", "[machine][query]") {
  auto m = make_machine<machines::counter>();
  CHECK(decode<int64_t>(m->named_query("value", {})) == int64_t{0});
  m->apply(meta_at(1), encode(int64_t{7}));
  m->apply(meta_at(2), encode(int64_t{5}));
  CHECK(decode<int64_t>(m->named_query("value", {})) == int64_t{12});
  CHECK(m->query_names() == std::vector<std::string>{"value"});
  CHECK_THROWS_AS(m->named_query("nope", {}), bad_query);
  // A machine without queries knows none.
  auto plain = make_simple_machine<int64_t, int64_t>([](const int64_t& c, int64_t s) { return s + c; }, 0);
  CHECK(plain->query_names().empty());
  CHECK_THROWS_AS(plain->named_query("value", {}), std::invalid_argument);
}

TEST_CASE("named queries: arguments are decoded as the query's type, or refused", "[machine][query]") {
  auto m = machines::make_kv_machine();
  m->apply(meta_at(1), encode_command<machines::kv_protocol>(machines::kv_put{"a", "1"}));
  m->apply(meta_at(2), encode_command<machines::kv_protocol>(machines::kv_put{"b", "2"}));
  auto a = decode<machines::kv_lookup>(m->named_query("get", encode(std::string("a"))));
  REQUIRE(a);
  CHECK(a->value == std::optional<std::string>{"1"});
  auto missing = decode<machines::kv_lookup>(m->named_query("get", encode(std::string("zz"))));
  REQUIRE(missing);
  CHECK(!missing->value);
  CHECK(decode<uint64_t>(m->named_query("size", {})) == uint64_t{2});
  CHECK_THROWS_AS(m->named_query("get", encode(int64_t{1})), bad_query);  // not a string
  CHECK_THROWS_AS(m->named_query("get", {}), bad_query);                  // no argument
  CHECK(m->query_names() == std::vector<std::string>{"get", "size"});
  auto fifo = machines::make_fifo_machine();
  fifo->apply(meta_at(1), encode_command<machines::fifo_protocol>(machines::fifo_enqueue{"x"}));
  CHECK(decode<uint64_t>(fifo->named_query("ready", {})) == uint64_t{1});
  CHECK(decode<uint64_t>(fifo->named_query("consumers", {})) == uint64_t{0});
}

TEST_CASE("named queries: a table refuses two queries of one name", "[machine][query]") {
  query_table<int64_t> t;
  t.add("v", [](const int64_t& s) { return s; });
  CHECK_THROWS_AS(t.add("v", [](const int64_t& s) { return s + 1; }), std::logic_error);
  CHECK(decode<int64_t>(t.run("v", int64_t{4}, {})) == int64_t{4});
}
