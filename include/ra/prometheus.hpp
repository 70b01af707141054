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
// The endpoint writes the text itself (prometheus_text below: at 10,000 servers a scrape
// is 140,000 samples, several times cheaper than prometheus-cpp's families and
// serializer) and appends what the embedder registers on it (register_collectable).
//
// The families (docs/runtime.md, "Metrics"): per server, labelled system, cluster and
// server: ra_server_commands_total, ..._messages_sent_total, ra_server_commit_index, ...;
// per system, labelled system: ra_wal_*, ra_wal_sync_seconds (histogram),
// ra_segment_*, ra_servers.

#include <memory>
#include <string>
#include <vector>

#include <prometheus/collectable.h>
#include <prometheus/metric_family.h>

#include "ra/result.hpp"
#include "ra/system.hpp"
#include "ra/system_metrics.hpp"

namespace ra {

/// Collects `sys`'s metrics at every scrape. `sys` must outlive every exposer the
/// collectable is registered with (remove it, or destroy the exposer, first).
std::shared_ptr<prometheus::Collectable> make_prometheus_collectable(const system& sys);

/// `m` as the collectable returns it: one family per metric, samples labelled.
std::vector<prometheus::MetricFamily> prometheus_families(const system_metrics& m);

/// `m` in Prometheus' text exposition format (0.0.4): the same families, samples and
/// labels as prometheus_families(m), written directly (label values escaped, values as
/// integers, the histogram's bounds as the shortest decimal that reads back exactly).
std::string prometheus_text(const system_metrics& m);
/// prometheus_text(m) appended to `out`.
void append_prometheus_text(const system_metrics& m, std::string& out);

/// An HTTP endpoint serving a system's metrics at /metrics (made by serve_metrics).
class metrics_endpoint {
 public:
  /// The HTTP server and its handler (internal).
  struct impl;
  /// Takes over a running server (serve_metrics makes one; `impl` is not public).
  explicit metrics_endpoint(std::unique_ptr<impl> i);
  /// Stops the HTTP server; no scrape runs after it returns.
  ~metrics_endpoint();
  metrics_endpoint(const metrics_endpoint&) = delete;
  metrics_endpoint& operator=(const metrics_endpoint&) = delete;
  /// The port it listens on (the one chosen when the address said port 0).
  uint16_t port() const;
  /// Serves `c`'s families after ra's own at every scrape (an embedder's own metrics),
  /// until removed. `c` must not repeat a family name of ra's.
  void register_collectable(std::shared_ptr<prometheus::Collectable> c);
  /// Stops serving `c` (registered before); the next scrape no longer collects it.
  void remove_collectable(const std::shared_ptr<prometheus::Collectable>& c);

 private:
  std::unique_ptr<impl> impl_;
};

/// Listens on `address` ("HOST:PORT"; port 0 picks a free one) and serves /metrics.
/// Fails with api_errc::invalid_argument when the address cannot be bound. The endpoint
/// must be destroyed before `sys`.
result<std::unique_ptr<metrics_endpoint>> serve_metrics(const system& sys, const std::string& address);

}  // namespace ra
