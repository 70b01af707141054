// ra-bench dist: throughput of one 3-member cluster whose members run in three node
// processes on 127.0.0.1 (ra-bench itself, `dist --node`), driven by this process as a
// fourth node with pipeline_command, over plain TCP and over mutual TLS. The two modes
// alternate for --rounds rounds, so each TLS figure has a plain one measured next to it
// (machines are noisy); the summary gives the median and range of each and the ratio.
//
//   ra-bench dist [--seconds 5] [--rounds 3] [--window 1000] [--payload 16] [--data-dir DIR]
//
// Certificates (a CA, n1..n3 and the client, CN = the node name) are made at run time
// with the openssl command line.

#include "tools/ra-bench/bench_dist.hpp"
#include "tools/ra-bench/option_checks.hpp"

#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <thread>

#include <caf/io/middleman.hpp>
#include <spdlog/spdlog.h>

#include "actors/node_link.hpp"
#include "tools/ra-bench/bench_common.hpp"
#include "tools/ra-bench/child_process.hpp"

namespace ra::bench {

namespace {

namespace fs = std::filesystem;
using peer_map = std::map<std::string, std::pair<std::string, uint16_t>>;

const std::vector<std::string> node_names{"n1", "n2", "n3"};
const std::string cluster = "dist";

std::vector<member> members() {
  std::vector<member> all;
  for (size_t i = 0; i < node_names.size(); ++i)
    all.push_back(member{server_id{"s" + std::to_string(i + 1), node_names[i]}});
  return all;
}

system_config node_config(const std::string& name, const std::string& dir, const std::string& certs, peer_map peers,
                          size_t scheduler_threads) {
  system_config c;
  c.name = name;
  c.data_dir = dir;
  c.scheduler_threads = scheduler_threads;
  add_bench_machine(c);
  c.configure_caf = [](caf::actor_system_config& caf_cfg) { caf_cfg.load<caf::io::middleman>(); };
  c.distributed = true;
  c.listen_host = "127.0.0.1";
  c.listen_port = 0;
  c.peers = std::move(peers);
  c.in_process_resolution = false;
  if (!certs.empty()) {
    c.tls_certificate = certs + "/" + name + ".pem";
    c.tls_key = certs + "/" + name + ".key";
    c.tls_ca_file = certs + "/ca.pem";
  }
  return c;
}

peer_map parse_peers(const std::string& text) {
  peer_map peers;
  size_t start = 0;
  while (start < text.size()) {
    auto end = text.find(',', start);
    auto item = text.substr(start, end == std::string::npos ? std::string::npos : end - start);
    auto eq = item.find('=');
    if (eq == std::string::npos) throw std::runtime_error("bad --peers item " + item + " (name=port)");
    peers[item.substr(0, eq)] = {"127.0.0.1", static_cast<uint16_t>(std::stoi(item.substr(eq + 1)))};
    if (end == std::string::npos) break;
    start = end + 1;
  }
  return peers;
}

void make_certs(const std::string& dir) {
  const std::string script = dir + "/make-certs.sh";
  {
    std::ofstream out(script);
    out << "set -e\ncd \"$1\"\n"
           "openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=ca -keyout ca.key -out ca.pem\n"
           "for n in n1 n2 n3 client; do\n"
           "  openssl req -newkey rsa:2048 -nodes -subj /CN=$n -keyout $n.key -out $n.csr\n"
           "  openssl x509 -req -in $n.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 2 -out $n.pem\n"
           "done\n";
  }
  if (std::system(("sh '" + script + "' '" + dir + "' >/dev/null 2>&1").c_str()) != 0)
    throw std::runtime_error("making test certificates with the openssl command line failed");
}

/// One measurement: three node processes, this process as the client node.
double measure(const dist_options& o, const std::string& scratch, const std::string& certs) {
  const bool tls = !certs.empty();
  std::vector<child_process> nodes;
  std::string peers_text;
  auto kill_all = [&] {
    for (auto& c : nodes) {
      ::kill(c.pid, SIGKILL);
      wait_child(c);
    }
  };
  peer_map client_peers;
  try {
    for (auto& name : node_names) {
      std::vector<std::string> args{"dist", "--node", name, "--dir", scratch + "/" + name, "--log-level", o.log_level,
                                    "--scheduler-threads", std::to_string(o.scheduler_threads)};
      if (!peers_text.empty()) args.insert(args.end(), {"--peers", peers_text});
      if (tls) args.insert(args.end(), {"--certs", certs});
      nodes.push_back(spawn_self(args));
      const auto port = read_tagged_line(nodes.back(), "PORT");
      peers_text += (peers_text.empty() ? "" : ",") + name + "=" + port;
      client_peers[name] = {"127.0.0.1", static_cast<uint16_t>(std::stoi(port))};
    }
    for (auto& c : nodes) read_tagged_line(c, "READY");

    auto started = ra::system::start(node_config("client", scratch + "/client", certs, client_peers, o.scheduler_threads));
    if (!started) throw std::runtime_error("client system: " + started.error().to_string());
    auto& sys = **started;
    const auto all = members();
    const auto deadline = clock_type::now() + std::chrono::seconds(20);
    std::optional<server_id> leader;
    while (!leader && clock_type::now() < deadline) {
      if (connected_nodes(sys).size() == node_names.size() && trigger_election(sys, all.front().id, std::chrono::milliseconds{2000}))
        if (auto m = ra::members(sys, all.front().id, std::chrono::milliseconds{2000}); m && !m->leader.empty()) leader = m->leader;
      if (!leader) std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    if (!leader) throw std::runtime_error("no leader across the node processes in 20 s");

    auto counters = std::make_shared<client_counters>();
    client_config cc;
    cc.target = *leader;
    cc.command = make_command(o.payload);
    cc.window = o.window;
    auto client = spawn_client(sys, cc, counters);
    std::this_thread::sleep_for(std::chrono::milliseconds(500));
    const uint64_t applied0 = counters->applied.load();
    const auto start = clock_type::now();
    std::this_thread::sleep_for(std::chrono::duration<double>(o.seconds));
    const double ops = (counters->applied.load() - applied0) / seconds_since(start);
    drain(*counters, std::chrono::seconds(10));
    stop_client(client);
    sys.stop();
    kill_all();
    return ops;
  } catch (...) {
    kill_all();
    throw;
  }
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v.size() % 2 ? v[v.size() / 2] : (v[v.size() / 2 - 1] + v[v.size() / 2]) / 2;
}

int run_node(const dist_options& o) {
  spdlog::set_level(spdlog::level::from_str(o.log_level));
  auto started = ra::system::start(node_config(o.node, o.dir, o.certs, parse_peers(o.peers), o.scheduler_threads));
  if (!started) {
    std::cerr << "ra-bench dist --node " << o.node << ": " << started.error().to_string() << '\n';
    return 1;
  }
  auto& sys = **started;
  std::cout << "PORT " << node_port(sys) << std::endl;
  const auto all = members();
  auto me = std::find_if(all.begin(), all.end(), [&](const member& m) { return m.id.node == o.node; });
  if (me == all.end()) {
    std::cerr << "ra-bench dist: " << o.node << " is not one of n1, n2, n3\n";
    return 1;
  }
  if (auto s = start_server(sys, cluster, me->id, bench_machine, all); !s) {
    std::cerr << "ra-bench dist --node " << o.node << ": start_server: " << s.error().to_string() << '\n';
    return 1;
  }
  std::cout << "READY " << o.node << std::endl;
  // Runs until the parent kills it.
  for (;;) ::pause();
}

}  // namespace

void add_dist_options(CLI::App& sub, dist_options& o) {
  sub.add_option("--seconds", o.seconds, "measured seconds per run (default 5)")->check(measured_seconds());
  sub.add_option("--rounds", o.rounds, "rounds of (plain, TLS) runs (default 3)")->check(CLI::Range(1, 100));
  sub.add_option("--window", o.window, "commands in flight (default 1000)")->check(count_up_to(1'000'000));
  sub.add_option("--payload", o.payload, "payload bytes (default 16)")->check(count_up_to(size_t{16} << 20));
  sub.add_option("--data-dir", o.data_dir, "parent of the run's scratch directory (default /tmp)");
  sub.add_option("--log-level", o.log_level, "runtime log level (default warn)")->check(log_levels());
  sub.add_option("--scheduler-threads", o.scheduler_threads, "CAF scheduler threads per process (default 2)")
    ->check(count_up_to(1024));
  sub.add_option("--node", o.node, "internal: run as node process n1, n2 or n3");
  sub.add_option("--dir", o.dir, "internal: the node's data dir");
  sub.add_option("--peers", o.peers, "internal: name=port,... of the nodes started before");
  sub.add_option("--certs", o.certs, "internal: the certificates' dir (TLS)");
}

int run_dist_bench(const dist_options& o) try {
  if (!o.node.empty()) return run_node(o);
  spdlog::set_level(spdlog::level::from_str(o.log_level));
  const fs::path scratch = fs::path(o.data_dir) / ("ra-bench-dist-" + std::to_string(::getpid()));
  fs::create_directories(scratch / "certs");
  make_certs((scratch / "certs").string());
  std::vector<double> plain, tls, ratios;
  for (int round = 1; round <= o.rounds; ++round) {
    for (bool with_tls : {false, true}) {
      const auto dir = scratch / (std::to_string(round) + (with_tls ? "-tls" : "-plain"));
      fs::create_directories(dir);
      double ops = measure(o, dir.string(), with_tls ? (scratch / "certs").string() : std::string{});
      fs::remove_all(dir);
      (with_tls ? tls : plain).push_back(ops);
      std::cout << "round " << round << (with_tls ? " TLS:   " : " plain: ") << thousands(ops) << " ops/s" << std::endl;
    }
    ratios.push_back(tls.back() / plain.back());
  }
  fs::remove_all(scratch);
  auto range = [](const std::vector<double>& v) {
    auto [lo, hi] = std::minmax_element(v.begin(), v.end());
    return thousands(*lo) + " .. " + thousands(*hi);
  };
  std::cout << "dist: 1 cluster of 3 across 3 node processes, pipeline_command from a 4th, " << o.payload << " B, "
            << o.window << " in flight, " << o.rounds << " rounds of " << o.seconds << " s\n"
            << "  plain TCP   median " << thousands(median(plain)) << " ops/s (" << range(plain) << ")\n"
            << "  mutual TLS  median " << thousands(median(tls)) << " ops/s (" << range(tls) << ")\n"
            << "  TLS / plain median of the rounds' ratios " << printf_string("%.2f", median(ratios)) << " (";
  for (size_t i = 0; i < ratios.size(); ++i) std::cout << (i ? ", " : "") << printf_string("%.2f", ratios[i]);
  std::cout << ")\n";
  return 0;
} catch (const std::exception& e) {
  std::cerr << "ra-bench dist: " << e.what() << '\n';
  return 1;
}

}  // namespace ra::bench
