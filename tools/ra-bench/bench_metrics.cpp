// ra-bench metrics (bench_metrics.hpp).

#include "tools/ra-bench/bench_metrics.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <fstream>
#include <iostream>
#include <thread>

#include <prometheus/text_serializer.h>

#include "ra/prometheus.hpp"

namespace ra::bench {

namespace {

/// GET /metrics over HTTP/1.0 on 127.0.0.1:port: the whole response ("" on failure).
std::string http_get_metrics(uint16_t port) {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return {};
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  std::string response;
  const std::string request = "GET /metrics HTTP/1.0\r\nHost: localhost\r\n\r\n";
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0 &&
      ::write(fd, request.data(), request.size()) == static_cast<ssize_t>(request.size())) {
    char buf[1 << 16];
    for (ssize_t n; (n = ::read(fd, buf, sizeof buf)) > 0;) response.append(buf, static_cast<size_t>(n));
  }
  ::close(fd);
  return response;
}

struct spread {
  double median = 0, min = 0, max = 0;
};
spread spread_of(std::vector<double> v) {
  if (v.empty()) return {};
  std::sort(v.begin(), v.end());
  return {v[v.size() / 2], v.front(), v.back()};
}
json to_json(const spread& s) { return {{"median", s.median}, {"min", s.min}, {"max", s.max}}; }

/// Starts `n` 3-member clusters with 8 threads; returns how many started.
size_t start_clusters(ra::system& sys, size_t n) {
  std::atomic<size_t> next{0}, started{0};
  std::vector<std::thread> workers;
  for (int w = 0; w < 8; ++w)
    workers.emplace_back([&] {
      for (size_t i; (i = next.fetch_add(1)) < n;) {
        const std::string name = "m" + std::to_string(i);
        if (ra::start_cluster(sys, name, bench_machine, cluster_ids(name, sys.name()), std::chrono::seconds(60)))
          ++started;
      }
    });
  for (auto& t : workers) t.join();
  return started.load();
}

json scrape_cost(const metrics_bench_options& o, run_frame& frame) {
  frame.progress("scrape: starting " + thousands(o.clusters) + " clusters of 3");
  auto sys = start_system(o.run, frame.subdir("scrape"));
  const size_t started = start_clusters(*sys, o.clusters);
  auto endpoint = serve_metrics(*sys, "127.0.0.1:0");
  if (!endpoint) throw std::runtime_error(endpoint.error().to_string());
  frame.progress("scrape: " + std::to_string(o.scrapes) + " scrapes of " + thousands(3 * started) + " servers");
  std::vector<double> http_s, cpu_s, read_s, text_s, collect_s, serialize_s;
  auto collectable = make_prometheus_collectable(*sys);
  size_t bytes = 0, samples = 0;
  for (size_t i = 0; i < o.scrapes; ++i) {
    // CPU time as well as wall time: on a loaded machine the wall time is mostly waiting.
    const double cpu0 = cpu_seconds();
    auto t0 = clock_type::now();
    auto response = http_get_metrics((*endpoint)->port());
    http_s.push_back(seconds_since(t0));
    cpu_s.push_back(cpu_seconds() - cpu0);
    if (response.find(" 200 ") == std::string::npos) throw std::runtime_error("scrape failed");
    bytes = response.size();
    samples = static_cast<size_t>(std::count(response.begin(), response.end(), '\n'));
    // Where the time goes: reading the counters, then the text the endpoint serves;
    // beside it, what the prometheus-cpp path of an embedder's exposer costs (building
    // the families, prometheus-cpp's serializer).
    t0 = clock_type::now();
    auto m = sys->metrics();
    read_s.push_back(seconds_since(t0));
    t0 = clock_type::now();
    auto served = prometheus_text(m);
    text_s.push_back(seconds_since(t0));
    t0 = clock_type::now();
    auto families = collectable->Collect();
    collect_s.push_back(seconds_since(t0));
    t0 = clock_type::now();
    auto text = prometheus::TextSerializer{}.Serialize(families);
    serialize_s.push_back(seconds_since(t0));
  }
  endpoint->reset();
  sys->stop();
  return {{"clusters", started},
          {"servers", 3 * started},
          {"scrape_seconds", to_json(spread_of(http_s))},
          {"scrape_cpu_seconds", to_json(spread_of(cpu_s))},
          {"system_metrics_seconds", to_json(spread_of(read_s))},
          {"text_seconds", to_json(spread_of(text_s))},
          {"collect_seconds", to_json(spread_of(collect_s))},
          {"serialize_seconds", to_json(spread_of(serialize_s))},
          {"response_bytes", bytes},
          {"lines", samples}};
}

/// A2's ops/s for o.run.seconds, with the endpoint scraped meanwhile if `scraped`.
double a2_ops(ra::system& sys, const server_id& leader, const metrics_bench_options& o, bool scraped) {
  std::unique_ptr<metrics_endpoint> endpoint;
  std::atomic<bool> stop{false};
  std::thread scraper;
  if (scraped) {
    auto e = serve_metrics(sys, "127.0.0.1:0");
    if (!e) throw std::runtime_error(e.error().to_string());
    endpoint = std::move(*e);
    scraper = std::thread([&, port = endpoint->port()] {
      while (!stop.load()) {
        http_get_metrics(port);
        for (size_t waited = 0; waited < o.scrape_interval_ms && !stop.load(); waited += 10)
          std::this_thread::sleep_for(std::chrono::milliseconds(10));
      }
    });
  }
  auto counters = std::make_shared<client_counters>();
  client_config cc;
  cc.target = leader;
  cc.command = make_command(16);
  cc.priority = parse_priority(o.run.priority);
  cc.window = 1000;
  auto client = spawn_client(sys, cc, counters);
  std::this_thread::sleep_for(std::chrono::duration<double>(std::min(0.5, o.run.seconds / 10)));
  const uint64_t applied0 = counters->applied.load();
  const auto start = clock_type::now();
  std::this_thread::sleep_for(std::chrono::duration<double>(o.run.seconds));
  const double ops = (counters->applied.load() - applied0) / seconds_since(start);
  drain(*counters, std::chrono::seconds(30));
  stop_client(client);
  stop = true;
  if (scraper.joinable()) scraper.join();
  return ops;
}

json a2_overhead(const metrics_bench_options& o, run_frame& frame) {
  frame.progress("a2: without and with metrics scraped every " + std::to_string(o.scrape_interval_ms) + " ms, " +
                 std::to_string(o.rounds) + " rounds");
  auto sys = start_system(o.run, frame.subdir("a2"));
  auto ids = cluster_ids("a2", sys->name());
  auto r = ra::start_cluster(*sys, "a2", bench_machine, ids, std::chrono::seconds(30));
  if (!r) throw std::runtime_error("start_cluster: " + r.error().to_string());
  size_t idle = 0;
  if (o.a2_idle_clusters > 0) {
    frame.progress("a2: starting " + thousands(o.a2_idle_clusters) + " idle clusters beside it");
    idle = start_clusters(*sys, o.a2_idle_clusters);
  }
  std::vector<double> without, with, ratios;
  for (size_t round = 0; round < o.rounds; ++round) {
    // Alternate the order so that a drift over the run does not favour one side.
    double a = 0, b = 0;
    if (round % 2 == 0) {
      a = a2_ops(*sys, r->leader, o, false);
      b = a2_ops(*sys, r->leader, o, true);
    } else {
      b = a2_ops(*sys, r->leader, o, true);
      a = a2_ops(*sys, r->leader, o, false);
    }
    without.push_back(a);
    with.push_back(b);
    ratios.push_back(b / a);
    frame.status(printf_string("round %zu: %s ops/s without, %s with", round + 1, thousands(a).c_str(),
                               thousands(b).c_str()));
  }
  sys->stop();
  return {{"without_ops_per_s", to_json(spread_of(without))},
          {"with_ops_per_s", to_json(spread_of(with))},
          {"with_over_without", to_json(spread_of(ratios))},
          {"scrape_interval_ms", o.scrape_interval_ms},
          {"idle_clusters", idle},
          {"servers_scraped", 3 * (idle + 1)},
          {"seconds_per_measurement", o.run.seconds}};
}

}  // namespace

void add_metrics_options(CLI::App& sub, metrics_bench_options& o) {
  add_common_options(sub, o.run);
  sub.add_option("--clusters", o.clusters, "3-member clusters running while scraping (default 3334: 10,002 servers)");
  sub.add_option("--scrapes", o.scrapes, "scrapes timed (default 3)");
  sub.add_option("--rounds", o.rounds, "A2 measurements without and with metrics (default 3 each)");
  sub.add_option("--scrape-interval-ms", o.scrape_interval_ms, "scrape period during A2 (default 1000)");
  sub.add_option("--a2-idle-clusters", o.a2_idle_clusters,
                 "idle 3-member clusters running beside A2's, scraped with it (default 0)");
}

int run_metrics_bench(const metrics_bench_options& o) {
  run_frame frame{"metrics", o.run, 2};
  json scrape = scrape_cost(o, frame);
  json a2 = a2_overhead(o, frame);
  auto s = [](const json& j, double scale) {
    return printf_string("median %.3f (%.3f .. %.3f)", j["median"].get<double>() * scale,
                         j["min"].get<double>() * scale, j["max"].get<double>() * scale);
  };
  std::cout << "\nmetrics: scrape of " << thousands(scrape["servers"].get<double>()) << " servers over HTTP: "
            << s(scrape["scrape_seconds"], 1) << " s (CPU " << s(scrape["scrape_cpu_seconds"], 1) << " s), " << thousands(scrape["response_bytes"].get<double>())
            << " bytes, " << thousands(scrape["lines"].get<double>()) << " lines; of which system::metrics() "
            << s(scrape["system_metrics_seconds"], 1000) << " ms, the served text (prometheus_text) "
            << s(scrape["text_seconds"], 1000) << " ms; an embedder's prometheus-cpp path: Collect() (with the read) "
            << s(scrape["collect_seconds"], 1000) << " ms, prometheus-cpp's serialisation " << s(scrape["serialize_seconds"], 1000)
            << " ms\n"
            << "metrics: A2 16 B (" << thousands(a2["servers_scraped"].get<double>())
            << " servers in the system) without metrics " << s(a2["without_ops_per_s"], 1) << " ops/s, scraped every "
            << o.scrape_interval_ms << " ms " << s(a2["with_ops_per_s"], 1) << " ops/s; with / without "
            << s(a2["with_over_without"], 1) << "\n";
  frame.write_json({{"clusters", o.clusters}, {"scrapes", o.scrapes}, {"rounds", o.rounds}},
                   {{"scrape", scrape}, {"a2", a2}});
  return 0;
}

}  // namespace ra::bench
