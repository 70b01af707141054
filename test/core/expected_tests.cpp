// ra::expected, the one result type of storage, runtime and API (ra/expected.hpp).

#include <catch2/catch.hpp>

#include <string>
#include <type_traits>

#include "ra/expected.hpp"

namespace {

struct oops {
  int code = 0;
  std::string why;
};

ra::expected<int, oops> parse(bool good) {
  if (!good) return oops{7, "bad"};  // implicit from E: E and T do not convert
  return 42;
}

ra::expected<void, oops> check(bool good) {
  if (!good) return oops{3, "nope"};
  return {};
}

}  // namespace

TEST_CASE("expected holds a value or an error", "[expected]") {
  auto v = parse(true);
  REQUIRE(v);
  CHECK(v.has_value());
  CHECK(*v == 42);
  CHECK(v.value_or(0) == 42);
  auto e = parse(false);
  REQUIRE(!e);
  CHECK(e.error().code == 7);
  CHECK(e.error().why == "bad");
  CHECK(e.value_or(-1) == -1);
  ra::expected<int, oops> u = ra::unexpected{oops{1, "x"}};
  REQUIRE(!u);
  CHECK(u.error().code == 1);
}

TEST_CASE("expected<void, E> is ok or an error", "[expected]") {
  CHECK(check(true).has_value());
  auto r = check(false);
  REQUIRE(!r);
  CHECK(r.error().code == 3);
  CHECK(std::move(r).error().why == "nope");
}

TEST_CASE("expected converts from E only where T and E cannot be confused", "[expected]") {
  STATIC_REQUIRE(std::is_convertible_v<oops, ra::expected<int, oops>>);
  STATIC_REQUIRE(std::is_convertible_v<oops, ra::expected<void, oops>>);
  // T and E both strings: an error must be spelled ra::unexpected.
  STATIC_REQUIRE(std::is_convertible_v<std::string, ra::expected<std::string, std::string>>);
  ra::expected<std::string, std::string> s = std::string("value");
  CHECK(s.has_value());
  ra::expected<std::string, std::string> f = ra::unexpected{std::string("error")};
  CHECK(!f.has_value());
  CHECK(f.error() == "error");
}
