// start_node and run_node (ra/node.hpp): a node in the foreground, stopped by a signal.

#include <csignal>
#include <cstdio>
#include <fstream>

#include <pthread.h>

#include <caf/io/middleman.hpp>
#include <spdlog/spdlog.h>

#include "actors/node_link.hpp"
#include "node/disk_fault_switch.hpp"
#include "ra/api.hpp"
#include "ra/node.hpp"
#include "ra/prometheus.hpp"

namespace ra {

bool log_to_stderr(const std::string& level) {
  log_config c;
  c.level = level;
  return apply_log_config(c).has_value();
}

result<std::unique_ptr<system>> start_node(node_config cfg) {
  cfg.system.distributed = true;
  auto user_caf = std::move(cfg.system.configure_caf);
  cfg.system.configure_caf = [user_caf](caf::actor_system_config& c) {
    c.load<caf::io::middleman>();
    if (user_caf) user_caf(c);
  };
  const auto name = cfg.system.name;
  if (!cfg.test_disk_faults_file.empty()) {
    spdlog::warn("[{}] TEST ONLY: disk faults switched by {}", name, cfg.test_disk_faults_file);
    cfg.system.fs = &detail::process_disk_fault_switch(cfg.test_disk_faults_file);
  }
  auto sys = system::start(std::move(cfg.system));
  if (!sys) return sys.error();
  auto& s = **sys;
  if (cfg.restart_servers) {
    size_t restarted = 0;
    for (auto& server : s.known_servers()) {
      if (s.is_running(server)) continue;
      if (auto st = restart_server(s, server_id{server, name}); st)
        ++restarted;
      else
        spdlog::error("[{}] cannot restart server {}: {}", name, server, st.error().to_string());
    }
    spdlog::info("[{}] restarted {} of {} known servers", name, restarted, s.known_servers().size());
  }
  if (!cfg.port_file.empty()) {
    // Written whole, then renamed: a reader never sees a partial port.
    const auto tmp = cfg.port_file + ".tmp";
    {
      std::ofstream out{tmp, std::ios::trunc};
      out << node_port(s) << "\n";
      if (!out.flush()) return make_api_error(api_errc::storage, "cannot write port file " + tmp);
    }
    if (std::rename(tmp.c_str(), cfg.port_file.c_str()) != 0)
      return make_api_error(api_errc::storage, "cannot write port file " + cfg.port_file);
  }
  return sys;
}

int run_node(node_config cfg) {
  // Before any thread starts: every thread inherits the mask, and sigwait below is the
  // only place the signals are taken.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGTERM);
  sigaddset(&stop_signals, SIGINT);
  // A background job of a non-interactive shell starts with SIGINT ignored, and POSIX may
  // discard an ignored signal even while it is blocked: take both back first.
  std::signal(SIGTERM, SIG_DFL);
  std::signal(SIGINT, SIG_DFL);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);
  if (auto logging = apply_log_config(cfg.log); !logging) {
    std::fprintf(stderr, "ra-node: %s\n", logging.error().c_str());
    return 1;
  }
  const auto name = cfg.system.name;
  const auto metrics_listen = cfg.metrics_listen;
  auto sys = start_node(std::move(cfg));
  if (!sys) {
    spdlog::critical("[{}] the node did not start: {}", name, sys.error().to_string());
    return 1;
  }
  std::unique_ptr<metrics_endpoint> metrics;
  if (!metrics_listen.empty()) {
    auto served = serve_metrics(**sys, metrics_listen);
    if (!served) {
      spdlog::critical("[{}] {}", name, served.error().to_string());
      (*sys)->stop();
      return 1;
    }
    metrics = std::move(*served);
    spdlog::info("[{}] Prometheus metrics at http://{}:{}/metrics", name,
                 metrics_listen.substr(0, metrics_listen.rfind(':')), metrics->port());
  }
  spdlog::info("[{}] running (port {}); SIGTERM or SIGINT stops it", name, node_port(**sys));
  int sig = 0;
  sigwait(&stop_signals, &sig);
  spdlog::info("[{}] {}: stopping", name, sig == SIGTERM ? "SIGTERM" : "SIGINT");
  metrics.reset();  // before the system it reads
  (*sys)->stop();
  spdlog::info("[{}] stopped", name);
  return 0;
}

}  // namespace ra
