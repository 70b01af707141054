#pragma once
// Ra's metrics in Prometheus form (library ra_prometheus; needs prometheus-cpp, Debian's
// prometheus-cpp-dev, find_package(prometheus-cpp)). Every value comes from
// ra::system::metrics() (ra/system_metrics.hpp), read when Prometheus scrapes: nothing
// is counted twice and the servers' hot path is unchanged.
//
// An embedder with an exposer of its own registers the collectable next to its other
// metrics:
//
//   prometheus::Exposer exposer{"0.0.0.0:9464"};
//   auto ra_metrics = ra::make_prometheus_collectable(*sys);   // keep it alive
//   exposer.RegisterCollectable(ra_metrics);                    // GET /metrics
//
// or lets ra serve it: auto endpoint = ra::serve_metrics(*sys, "127.0.0.1:9464");
//
// The families (docs/runtime.md, "Metrics"): per server, labelled system, cluster and
// server: ra_server_commands_total, ..._messages_sent_total, ra_server_commit_index, ...;
// per system, labelled system: ra_wal_*, ra_wal_sync_seconds (histogram),
// ra_segment_*, ra_servers.

#include <memory>
#include <string>

#include <prometheus/collectable.h>
#include <prometheus/exposer.h>

#include "ra/result.hpp"
#include "ra/system.hpp"

namespace ra {

/// Collects `sys`'s metrics at every scrape. `sys` must outlive every exposer the
/// collectable is registered with (remove it, or destroy the exposer, first).
std::shared_ptr<prometheus::Collectable> make_prometheus_collectable(const system& sys);

/// An HTTP endpoint serving `sys`'s metrics at /metrics.
class metrics_endpoint {
 public:
  /// Serves `collectable` on `exposer`, registered until the endpoint is destroyed.
  metrics_endpoint(std::unique_ptr<prometheus::Exposer> exposer, std::shared_ptr<prometheus::Collectable> collectable);
  ~metrics_endpoint();
  metrics_endpoint(const metrics_endpoint&) = delete;
  metrics_endpoint& operator=(const metrics_endpoint&) = delete;
  /// The port it listens on (the one chosen when the address said port 0).
  uint16_t port() const;
  /// The HTTP server, to register further collectables (an embedder's own metrics) on it.
  prometheus::Exposer& exposer() { return *exposer_; }

 private:
  std::unique_ptr<prometheus::Exposer> exposer_;
  std::shared_ptr<prometheus::Collectable> collectable_;
};

/// Listens on `address` ("HOST:PORT"; port 0 picks a free one) and serves /metrics.
/// Fails with api_errc::invalid_argument when the address cannot be bound. The endpoint
/// must be destroyed before `sys`.
result<std::unique_ptr<metrics_endpoint>> serve_metrics(const system& sys, const std::string& address);

}  // namespace ra
