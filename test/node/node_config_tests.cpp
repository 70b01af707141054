// The node config (ra/node.hpp): what a JSON file sets, and the errors that name the key.

#include <catch2/catch.hpp>

#include <algorithm>
#include <fstream>
#include <vector>

#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include "test/actors/runtime_fixture.hpp"
#include "actors/node_link.hpp"
#include "ra/api.hpp"
#include "ra/node.hpp"

using namespace ra;

namespace {

/// A file sink at `file` (level info, text format).
log_config file_log(const std::string& file) {
  log_config lc;
  lc.level = "info";
  lc.sink = "file";
  lc.file = file;
  return lc;
}

/// Starts a system named `name` logging with `lc`, runs `body`, stops it, flushes the log.
template <class F>
void run_logged(const std::string& name, const std::string& data_dir, const log_config& lc, F&& body) {
  auto cfg = test::make_config(name, data_dir);
  cfg.logging = lc;
  auto sys = ra::system::start(std::move(cfg));
  REQUIRE(sys);
  body();
  (*sys)->stop();
  spdlog::default_logger()->flush();
}

std::string error_of(const std::string& text) {
  auto c = parse_node_config(nlohmann::json::parse(text));
  return c ? std::string{"(parsed)"} : c.error();
}

}  // namespace

TEST_CASE("node config: every section is read into the system config", "[node]") {
  auto c = parse_node_config(nlohmann::json::parse(R"({
    "name": "n1", "data_dir": "/tmp/x", "listen_host": "0.0.0.0", "listen_port": 7001,
    "peers": {"n2": "10.0.0.2:7002", "n3": "[::1]:7003"},
    "tls": {"certificate": "c.pem", "key": "k.pem", "ca_file": "ca.pem"},
    "allow_insecure_remote": true, "machines": ["kv"], "log_level": "debug", "port_file": "p",
    "node_ping_interval_ms": 200, "node_down_after_ms": 900, "scheduler_threads": 3,
    "wal": {"sync_method": "none", "max_batch_size": 10, "group_commit_window_us": 0},
    "segments": {"max_entries": 64},
    "server": {"broadcast_time_ms": 20, "tick_timeout_ms": 50, "min_snapshot_interval": 7}
  })"));
  REQUIRE(c);
  auto& s = c->system;
  CHECK(s.name == "n1");
  CHECK(s.data_dir == "/tmp/x");
  CHECK(s.distributed);
  CHECK(s.listen_host == "0.0.0.0");
  CHECK(s.listen_port == 7001);
  CHECK(s.peers.at("n2") == std::make_pair(std::string("10.0.0.2"), uint16_t{7002}));
  CHECK(s.peers.at("n3") == std::make_pair(std::string("::1"), uint16_t{7003}));
  CHECK(s.tls_certificate == "c.pem");
  CHECK(s.tls_key == "k.pem");
  CHECK(s.tls_ca_file == "ca.pem");
  CHECK(s.allow_insecure_remote);
  CHECK(s.machines.size() == 1);
  CHECK(s.machines.count("kv") == 1);
  CHECK(c->log.level == "debug");
  CHECK(c->port_file == "p");
  CHECK(s.node_ping_interval_ms == 200);
  CHECK(s.node_down_after_ms == 900);
  CHECK(s.scheduler_threads == 3);
  CHECK(s.wal.wal_sync_method == storage::sync_method::none);
  CHECK(s.wal.wal_max_batch_size == 10);
  CHECK(s.wal.wal_group_commit_window.count() == 0);
  CHECK(s.segments.segment_max_entries == 64);
  CHECK(s.server_defaults.broadcast_time_ms == 20);
  CHECK(s.server_defaults.tick_timeout_ms == 50);
  CHECK(s.server_defaults.min_snapshot_interval == 7);
}

TEST_CASE("node config: defaults host every built-in machine", "[node]") {
  auto c = parse_node_config(nlohmann::json::parse(R"({"name": "n1", "data_dir": "d"})"));
  REQUIRE(c);
  CHECK(c->system.machines.size() == 3);
  for (auto* m : {"counter", "kv", "fifo"}) CHECK(c->system.machines.count(m) == 1);
  CHECK(c->system.machines.at("counter")("") != nullptr);
  CHECK(c->system.listen_host == "127.0.0.1");
  CHECK(c->restart_servers);
}

TEST_CASE("node config: a wrong config is refused with the key that is wrong", "[node]") {
  CHECK(error_of(R"({"data_dir": "d"})").find("name is missing") != std::string::npos);
  CHECK(error_of(R"({"name": "n1"})").find("data_dir is missing") != std::string::npos);
  CHECK(error_of(R"({"name": "n1", "data_dir": "d", "prots": 1})") == "unknown key prots");
  CHECK(error_of(R"({"name": "n1", "data_dir": "d", "wal": {"sync": "x"}})") == "unknown key wal.sync");
  CHECK(error_of(R"({"name": "n1", "data_dir": "d", "listen_port": 70000})").find("listen_port must be in") == 0);
  CHECK(error_of(R"({"name": "n1", "data_dir": "d", "listen_port": "7001"})").find("listen_port must be") == 0);
  CHECK(error_of(R"({"name": "n1", "data_dir": "d", "peers": {"n2": "host"}})").find("peers.n2") == 0);
  CHECK(error_of(R"({"name": "n1", "data_dir": "d", "machines": ["counter", "queue"]})").find("queue") !=
        std::string::npos);
  CHECK(error_of(R"({"name": "n1", "data_dir": "d", "log_level": "loud"})") ==
        "log level must be one of trace, debug, info, warn, error, critical, off (not \"loud\")");
  CHECK(error_of(R"({"name": "n1", "data_dir": "d", "server": {"broadcast_time_ms": 0}})")
          .find("server.broadcast_time_ms must be in") == 0);
  CHECK(error_of(R"([1, 2])").find("must be an object") != std::string::npos);
}

TEST_CASE("node config: the test-only disk fault switch is read, and off by default", "[node]") {
  auto c = parse_node_config(nlohmann::json::parse(R"({"name": "n1", "data_dir": "d", "test_disk_faults_file": "/tmp/x"})"));
  REQUIRE(c);
  CHECK(c->test_disk_faults_file == "/tmp/x");
  auto d = parse_node_config(nlohmann::json::parse(R"({"name": "n1", "data_dir": "d"})"));
  REQUIRE(d);
  CHECK(d->test_disk_faults_file.empty());
  CHECK(d->system.fs == nullptr);
}

TEST_CASE("node config: the log and metrics settings are read and checked", "[node]") {
  auto c = parse_node_config(nlohmann::json::parse(R"({
    "name": "n1", "data_dir": "d", "metrics_listen": "127.0.0.1:9464",
    "log": {"level": "warn", "sink": "file", "file": "/var/log/ra.log", "max_file_bytes": 4096, "max_files": 3,
            "format": "json"},
    "wal": {"slow_sync_threshold_ms": 250}
  })"));
  REQUIRE(c);
  CHECK(c->metrics_listen == "127.0.0.1:9464");
  CHECK(c->log.level == "warn");
  CHECK(c->log.sink == "file");
  CHECK(c->log.file == "/var/log/ra.log");
  CHECK(c->log.max_file_bytes == 4096);
  CHECK(c->log.max_files == 3);
  CHECK(c->log.format == "json");
  CHECK(c->system.wal.wal_slow_sync_threshold == std::chrono::milliseconds{250});
  auto defaults = parse_node_config(nlohmann::json::parse(R"({"name": "n1", "data_dir": "d"})"));
  REQUIRE(defaults);
  CHECK(defaults->metrics_listen.empty());
  CHECK(defaults->log.sink == "stderr");

  const std::string base = R"({"name": "n1", "data_dir": "d", )";
  CHECK(error_of(base + R"("log": {"level": "loud"}})") ==
        "log level must be one of trace, debug, info, warn, error, critical, off (not \"loud\")");
  CHECK(error_of(base + R"("log": {"sink": "printer"}})") == "log sink must be stderr, file or syslog (not \"printer\")");
  CHECK(error_of(base + R"("log": {"sink": "file"}})") == "log sink file needs a log file path");
  CHECK(error_of(base + R"("log": {"format": "xml"}})") == "log format must be text or json (not \"xml\")");
  CHECK(error_of(base + R"("log": {"colour": true}})") == "unknown key log.colour");
  CHECK(error_of(base + R"("metrics_listen": "9464"})").find("metrics_listen must be") == 0);
}

TEST_CASE("logging: a rotating log file gets lines naming the system, rotated at its size", "[node]") {
  test::temp_dir dir;
  log_config lc = file_log(dir.path() + "/ra.log");
  lc.max_file_bytes = 4096;
  lc.max_files = 2;
  run_logged("logged1", dir.path() + "/data", lc, [] {
    for (int i = 0; i < 60; ++i) spdlog::info("[logged1] filler line {} to make the file rotate once", i);
  });
  auto read = [](const std::string& path) {
    std::ifstream in{path};
    return std::string{std::istreambuf_iterator<char>{in}, {}};
  };
  const auto current = read(lc.file);
  const auto rotated = read(dir.path() + "/ra.1.log");
  CHECK(!rotated.empty());
  CHECK(current.size() <= lc.max_file_bytes);
  CHECK(current.find("[info] [logged1] filler line 59") != std::string::npos);
  CHECK(rotated.find("[info] [logged1] system started") != std::string::npos);  // the runtime's own line
  lc.file = dir.path() + "/ra.log/under-a-file.log";
  auto refused = ra::system::start([&] {
    auto cfg = test::make_config("logged2", dir.path() + "/data2");
    cfg.logging = lc;
    return cfg;
  }());
  REQUIRE_FALSE(refused);
  CHECK(refused.error().message.find("cannot open log file") != std::string::npos);
  log_to_stderr("warn");
}

TEST_CASE("logging: the json format writes one parseable object per line, the message escaped", "[node]") {
  test::temp_dir dir;
  log_config lc = file_log(dir.path() + "/ra.json.log");
  lc.format = "json";
  const std::string awkward = "quote \" backslash \\ newline\n tab\t bell\a end";
  run_logged("loggedj", dir.path() + "/data", lc, [&] {
    spdlog::warn("[loggedj] {}", awkward);
    spdlog::debug("[loggedj] below the level: not written");
  });
  std::ifstream in{lc.file};
  std::string line;
  std::vector<nlohmann::json> lines;
  while (std::getline(in, line)) {
    auto j = nlohmann::json::parse(line, nullptr, false);
    INFO("line: " << line);
    REQUIRE_FALSE(j.is_discarded());
    REQUIRE(j.contains("time"));
    REQUIRE(j.contains("level"));
    REQUIRE(j["message"].is_string());
    lines.push_back(std::move(j));
  }
  log_to_stderr("warn");
  auto with = [&](const std::string& message) {
    return std::find_if(lines.begin(), lines.end(), [&](const nlohmann::json& j) { return j["message"] == message; });
  };
  REQUIRE(with("[loggedj] " + awkward) != lines.end());
  CHECK((*with("[loggedj] " + awkward))["level"] == "warning");
  const bool runtime_line = std::any_of(lines.begin(), lines.end(), [](const nlohmann::json& j) {
    return j["message"].get<std::string>().rfind("[loggedj] system started", 0) == 0;
  });
  CHECK(runtime_line);  // the runtime's own line, naming the system
  CHECK(with("[loggedj] below the level: not written") == lines.end());
}

TEST_CASE("node config: a file that is missing or not JSON", "[node]") {
  test::temp_dir dir;
  auto missing = load_node_config(dir.path() + "/none.json");
  REQUIRE(!missing);
  CHECK(missing.error().find("cannot read") != std::string::npos);
  std::ofstream{dir.path() + "/bad.json"} << "{\"name\": ";
  auto bad = load_node_config(dir.path() + "/bad.json");
  REQUIRE(!bad);
  CHECK(bad.error().find("not valid JSON") != std::string::npos);
}

TEST_CASE("node: start_node restarts the servers of its data dir and writes the port file", "[node]") {
  test::temp_dir dir;
  auto cfg = parse_node_config(nlohmann::json{{"name", "n1"}, {"data_dir", dir.path() + "/data"},
                                              {"port_file", dir.path() + "/port"}, {"machines", {"counter"}}});
  REQUIRE(cfg);
  server_id s{"s1", "n1"};
  {
    auto sys = start_node(*cfg);
    REQUIRE(sys);
    REQUIRE(start_cluster(**sys, "c", "counter", {s}, std::chrono::seconds(10)));
    REQUIRE(process_command<int64_t>(**sys, s, int64_t{41}));
    std::ifstream in{dir.path() + "/port"};
    uint32_t port = 0;
    in >> port;
    CHECK(port == node_port(**sys));
    CHECK(port != 0);
  }
  auto again = start_node(*cfg);
  REQUIRE(again);
  CHECK((*again)->is_running("s1"));
  auto r = process_command<int64_t>(**again, s, int64_t{1}, std::chrono::seconds(10));
  REQUIRE(r);
  CHECK(r->reply == 42);
}
