// Ra's metrics over HTTP (ra/prometheus.hpp): a running system serves /metrics, a plain
// socket GET reads it, the text format is parsed, and the families, their labels and a
// growing counter are checked.

#include <catch2/catch.hpp>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <limits>
#include <map>
#include <set>
#include <tuple>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include <prometheus/counter.h>
#include <prometheus/registry.h>
#include <prometheus/text_serializer.h>

#include "test/actors/runtime_fixture.hpp"
#include "ra/prometheus.hpp"

using namespace ra;
using namespace ra::test;

namespace {

/// The body of GET /metrics on 127.0.0.1:port (HTTP/1.0: the server closes when done).
std::string http_get_metrics(uint16_t port) {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  REQUIRE(fd >= 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  REQUIRE(::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);
  const std::string request = "GET /metrics HTTP/1.0\r\nHost: localhost\r\n\r\n";
  REQUIRE(::write(fd, request.data(), request.size()) == static_cast<ssize_t>(request.size()));
  std::string response;
  char buf[65536];
  for (ssize_t n; (n = ::read(fd, buf, sizeof buf)) > 0;) response.append(buf, static_cast<size_t>(n));
  ::close(fd);
  REQUIRE(response.rfind("HTTP/1.", 0) == 0);
  REQUIRE(response.find(" 200 ") != std::string::npos);
  auto body = response.find("\r\n\r\n");
  REQUIRE(body != std::string::npos);
  return response.substr(body + 4);
}

/// The text exposition format read exactly enough to compare two writers of it: each
/// family's HELP and TYPE, and every sample (name, unescaped labels, value).
struct exposition {
  std::map<std::string, std::string> help, types;
  std::multiset<std::tuple<std::string, std::map<std::string, std::string>, double>> samples;

  explicit exposition(const std::string& text) {
    std::istringstream in{text};
    for (std::string line; std::getline(in, line);) {
      INFO(line);
      if (line.empty()) continue;
      for (auto [prefix, into] : {std::pair{"# HELP ", &help}, std::pair{"# TYPE ", &types}})
        if (line.rfind(prefix, 0) == 0) {
          auto rest = line.substr(7);
          auto space = rest.find(' ');
          REQUIRE(space != std::string::npos);
          REQUIRE(into->emplace(rest.substr(0, space), rest.substr(space + 1)).second);  // once per family
        }
      if (line[0] == '#') continue;
      size_t pos = line.find_first_of("{ ");
      REQUIRE(pos != std::string::npos);
      std::string name = line.substr(0, pos);
      std::map<std::string, std::string> labels;
      if (line[pos] == '{') {
        ++pos;
        while (line.at(pos) != '}') {
          auto eq = line.find('=', pos);
          REQUIRE(eq != std::string::npos);
          std::string key = line.substr(pos, eq - pos);
          REQUIRE(line.at(eq + 1) == '"');
          std::string value;
          for (pos = eq + 2; line.at(pos) != '"'; ++pos) {
            if (line[pos] != '\\') {
              value += line[pos];
              continue;
            }
            const char e = line.at(++pos);
            REQUIRE((e == '\\' || e == '"' || e == 'n'));
            value += e == 'n' ? '\n' : e;
          }
          REQUIRE(labels.emplace(key, value).second);
          ++pos;  // the closing quote
          if (line.at(pos) == ',') ++pos;
        }
        ++pos;  // the closing brace
      }
      REQUIRE(line.at(pos) == ' ');
      const std::string v = line.substr(pos + 1);
      const double value = v == "+Inf" ? std::numeric_limits<double>::infinity() : std::stod(v);
      samples.emplace(name, std::move(labels), value);
    }
  }

  /// The value of `name` whose labels include `want` (fails if none or several).
  double value(const std::string& name, const std::map<std::string, std::string>& want) const {
    std::vector<double> found;
    for (const auto& [n, labels, v] : samples) {
      bool match = n == name;
      for (auto& [k, x] : want) match = match && labels.count(k) && labels.at(k) == x;
      if (match) found.push_back(v);
    }
    INFO(name);
    REQUIRE(found.size() == 1);
    return found.front();
  }

  /// How many samples are named `name`.
  size_t count_of(const std::string& name) const {
    return static_cast<size_t>(std::count_if(samples.begin(), samples.end(),
                                             [&](const auto& x) { return std::get<0>(x) == name; }));
  }
};

/// A system_metrics with awkward names (quotes, backslashes, a newline) and values.
system_metrics awkward_metrics() {
  system_metrics m;
  m.system = "node \"a\"\\1";
  m.wal.batches = 7;
  m.wal.syncs = 6;
  m.wal.entries = 123456789012;
  m.wal.bytes = uint64_t{1} << 40;
  m.wal.rollovers = 2;
  m.wal.failed_flushes = 1;
  m.wal.slow_syncs = 3;
  for (size_t i = 0; i < m.wal.sync_latency_counts.size(); ++i) m.wal.sync_latency_counts[i] = i * i + 1;
  m.wal.sync_latency_ns_sum = 1'234'567'891;
  m.segments = {4, 1, 9};
  for (int i = 0; i < 3; ++i) {
    server_metrics_row row;
    row.cluster = i == 1 ? "c\nx\\y" : "c" + std::to_string(i);
    row.server = "s\"" + std::to_string(i);
    row.values.commands = 100 + i;
    row.values.commands_rejected = i;
    row.values.elections = 2 * i;
    row.values.term_changes = 3 + i;
    row.values.messages_sent = 1000 * i + 1;
    row.values.messages_received = 999 * i;
    row.values.snapshots_written = i;
    row.values.snapshots_installed = 1;
    row.values.term = 5;
    row.values.last_written_index = 77 + i;
    row.values.commit_index = 70 + i;
    row.values.last_applied = 69 + i;
    row.values.memory_bytes = 4096 * (i + 1);
    row.values.state = i == 2 ? role::leader : role::follower;
    m.servers.push_back(row);
  }
  return m;
}

}  // namespace

TEST_CASE("metrics: a running system serves its counters in Prometheus text format", "[metrics]") {
  temp_dir dir;
  auto sys = start_system("m1", dir.path());
  auto s1 = start_single_counter(*sys);
  add(*sys, s1, 1);
  auto endpoint = serve_metrics(*sys, "127.0.0.1:0");
  REQUIRE(endpoint);
  REQUIRE((*endpoint)->port() != 0);

  const exposition before{http_get_metrics((*endpoint)->port())};
  const std::map<std::string, std::string> server{{"system", "m1"}, {"cluster", "c1"}, {"server", "s1"}};
  const std::map<std::string, std::string> node{{"system", "m1"}};
  for (const char* counter : {"ra_server_commands_total", "ra_server_elections_total", "ra_server_term_changes_total",
                              "ra_server_messages_sent_total", "ra_server_messages_received_total",
                              "ra_server_snapshots_written_total", "ra_server_snapshots_installed_total",
                              "ra_wal_batches_total", "ra_wal_bytes_total", "ra_wal_entries_total",
                              "ra_segment_flushes_total"}) {
    INFO(counter);
    CHECK(before.types.at(counter) == "counter");
  }
  for (const char* gauge : {"ra_server_commit_index", "ra_server_last_applied", "ra_server_last_written_index",
                            "ra_server_term", "ra_server_memory_bytes", "ra_server_leader", "ra_servers"}) {
    INFO(gauge);
    CHECK(before.types.at(gauge) == "gauge");
  }
  CHECK(before.types.at("ra_wal_sync_seconds") == "histogram");
  CHECK(before.value("ra_server_leader", server) == 1);
  CHECK(before.value("ra_server_term_changes_total", server) >= 1);
  CHECK(before.value("ra_servers", node) == 1);
  CHECK(before.value("ra_wal_sync_seconds_bucket", {{"system", "m1"}, {"le", "+Inf"}}) ==
        before.value("ra_wal_sync_seconds_count", node));
  CHECK(before.value("ra_wal_sync_seconds_count", node) >= 1);

  for (int64_t i = 0; i < 5; ++i) add(*sys, s1, 1);
  // The server publishes its counters right after the event that replied: poll.
  const double commands_before = before.value("ra_server_commands_total", server);
  std::optional<exposition> latest;
  CHECK(eventually([&] {
    latest.emplace(http_get_metrics((*endpoint)->port()));
    return latest->value("ra_server_commands_total", server) >= commands_before + 5;
  }));
  const exposition& after = *latest;
  CHECK(after.value("ra_server_commands_total", server) == before.value("ra_server_commands_total", server) + 5);
  CHECK(after.value("ra_server_last_applied", server) >= before.value("ra_server_last_applied", server) + 5);
  CHECK(after.value("ra_server_commit_index", server) >= before.value("ra_server_commit_index", server) + 5);
  CHECK(after.value("ra_wal_entries_total", node) >= before.value("ra_wal_entries_total", node) + 5);
  CHECK(after.value("ra_wal_sync_seconds_count", node) > before.value("ra_wal_sync_seconds_count", node));
  CHECK(after.value("ra_wal_sync_seconds_sum", node) > 0);
}

TEST_CASE("metrics: system::metrics lists running servers with their cluster and new counters", "[metrics]") {
  temp_dir dir;
  auto sys = start_system("m2", dir.path());
  auto ids = ids_of(*sys, {"a", "b", "c"});
  auto c = start_cluster(*sys, "c3", "counter", ids, 10s);
  REQUIRE(c);
  for (int64_t i = 0; i < 10; ++i) add(*sys, ids[0], 1);
  system_metrics m;
  // Followers apply once the next append entries tells them the commit index: poll.
  CHECK(eventually([&] {
    m = sys->metrics();
    return m.servers.size() == 3 &&
           std::all_of(m.servers.begin(), m.servers.end(), [](auto& r) { return r.values.last_applied >= 11; });
  }));
  CHECK(m.system == "m2");
  REQUIRE(m.servers.size() == 3);
  int leaders = 0;
  for (const auto& row : m.servers) {
    INFO(row.server);
    CHECK(row.cluster == "c3");
    CHECK(row.values.messages_sent > 0);
    CHECK(row.values.messages_received > 0);
    CHECK(row.values.term_changes >= 1);
    CHECK(row.values.memory_bytes > 0);  // the entries are still in the mem tables
    if (row.values.state == role::leader) {
      ++leaders;
      CHECK(row.values.commands >= 10);
    }
  }
  CHECK(leaders == 1);
  CHECK(m.servers[0].server == "a");  // ordered by name
  CHECK(m.wal.batches >= 1);
  CHECK(m.wal.entries >= 3 * 11);
  REQUIRE(sys->stop_server(ids[2]));
  CHECK(sys->metrics().servers.size() == 2);
}

TEST_CASE("metrics: an address that cannot be bound is an error naming it", "[metrics]") {
  temp_dir dir;
  auto sys = start_system("m3", dir.path());
  auto first = serve_metrics(*sys, "127.0.0.1:0");
  REQUIRE(first);
  const auto taken = "127.0.0.1:" + std::to_string((*first)->port());
  auto second = serve_metrics(*sys, taken);
  REQUIRE_FALSE(second);
  CHECK(second.error().code == api_errc::invalid_argument);
  CHECK(second.error().message.find(taken) != std::string::npos);
}

TEST_CASE("metrics: the served text has the families, labels and values of prometheus-cpp's serializer",
          "[metrics]") {
  const auto m = awkward_metrics();
  const exposition direct{prometheus_text(m)};
  const exposition reference{prometheus::TextSerializer{}.Serialize(prometheus_families(m))};
  CHECK(direct.help == reference.help);
  CHECK(direct.types == reference.types);
  // The samples one has and the other lacks, as text: empty both ways.
  auto only_in = [](const exposition& a, const exposition& b) {
    std::vector<std::string> out;
    for (const auto& [name, labels, value] : a.samples)
      if (!b.samples.count({name, labels, value})) {
        std::string l;
        for (const auto& [k, v] : labels) l += k + "=" + v + ";";
        out.push_back(name + "{" + l + "} " + std::to_string(value));
      }
    return out;
  };
  CHECK(only_in(direct, reference) == std::vector<std::string>{});
  CHECK(only_in(reference, direct) == std::vector<std::string>{});
  CHECK(direct.samples.size() == reference.samples.size());
  // Not empty by accident: every family, and one sample per server and family.
  CHECK(direct.types.size() == 26);
  CHECK(direct.types.at("ra_wal_sync_seconds") == "histogram");
  CHECK(direct.samples.count({"ra_server_leader", {{"system", m.system}, {"cluster", "c2"}, {"server", "s\"2"}}, 1.0}) == 1);
  CHECK(direct.samples.count({"ra_server_commit_index",
                              {{"system", m.system}, {"cluster", "c\nx\\y"}, {"server", "s\"1"}}, 71.0}) == 1);
  // The buckets hold i * i + 1 for i = 0 .. 14: 1,015 + 15 in all.
  CHECK(direct.samples.count({"ra_wal_sync_seconds_count", {{"system", m.system}}, 1030.0}) == 1);
  CHECK(direct.samples.count({"ra_wal_sync_seconds_bucket", {{"system", m.system}, {"le", "+Inf"}}, 1030.0}) == 1);
  CHECK(direct.samples.count({"ra_wal_sync_seconds_sum", {{"system", m.system}}, 1.234567891}) == 1);
}

TEST_CASE("metrics: an endpoint serves an embedder's collectables after ra's own until removed", "[metrics]") {
  temp_dir dir;
  auto sys = start_system("m4", dir.path());
  auto endpoint = serve_metrics(*sys, "127.0.0.1:0");
  REQUIRE(endpoint);
  auto registry = std::make_shared<prometheus::Registry>();
  auto& requests = prometheus::BuildCounter().Name("app_requests_total").Help("Requests").Register(*registry);
  requests.Add({{"path", "/x"}}).Increment(3);
  (*endpoint)->register_collectable(registry);
  const exposition with{http_get_metrics((*endpoint)->port())};
  CHECK(with.value("app_requests_total", {{"path", "/x"}}) == 3);
  CHECK(with.value("ra_servers", {{"system", "m4"}}) == 0);
  (*endpoint)->remove_collectable(registry);
  const exposition without{http_get_metrics((*endpoint)->port())};
  CHECK(without.count_of("app_requests_total") == 0);
  CHECK(without.value("ra_servers", {{"system", "m4"}}) == 0);
}
