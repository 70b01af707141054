// ra_prometheus (ra/prometheus.hpp): ra::system::metrics() as Prometheus metric families.

#include <exception>
#include <limits>
#include <utility>

#include <prometheus/metric_family.h>

#include "ra/prometheus.hpp"

namespace ra {
namespace {

using prometheus::ClientMetric;
using prometheus::MetricFamily;
using prometheus::MetricType;

/// One per-server family: its name, help, type and the key metric it reads. Each costs
/// one sample per server per scrape (10,000 servers: 10,000 lines), so only what an
/// operator watches per server is here; the rest of key_metrics stays in
/// system::metrics() and ra-ctl metrics.
struct server_family {
  const char* name;
  const char* help;
  MetricType type;
  uint64_t key_metrics_snapshot::*value;
};

constexpr server_family server_families[] = {
  {"ra_server_commands_total", "Commands accepted as leader", MetricType::Counter, &key_metrics_snapshot::commands},
  {"ra_server_commands_rejected_total", "Committed commands skipped because apply threw", MetricType::Counter,
   &key_metrics_snapshot::commands_rejected},
  {"ra_server_elections_total", "Elections started", MetricType::Counter, &key_metrics_snapshot::elections},
  {"ra_server_term_changes_total", "Times the server's term changed", MetricType::Counter,
   &key_metrics_snapshot::term_changes},
  {"ra_server_messages_sent_total", "Peer messages sent", MetricType::Counter, &key_metrics_snapshot::messages_sent},
  {"ra_server_messages_received_total", "Peer messages handled", MetricType::Counter,
   &key_metrics_snapshot::messages_received},
  {"ra_server_snapshots_written_total", "Snapshots written", MetricType::Counter,
   &key_metrics_snapshot::snapshots_written},
  {"ra_server_snapshots_installed_total", "Snapshots installed from a leader", MetricType::Counter,
   &key_metrics_snapshot::snapshots_installed},
  {"ra_server_term", "Current term", MetricType::Gauge, &key_metrics_snapshot::term},
  {"ra_server_last_written_index", "Last index made durable", MetricType::Gauge,
   &key_metrics_snapshot::last_written_index},
  {"ra_server_commit_index", "Commit index", MetricType::Gauge, &key_metrics_snapshot::commit_index},
  {"ra_server_last_applied", "Last index applied to the machine", MetricType::Gauge,
   &key_metrics_snapshot::last_applied},
  {"ra_server_memory_bytes", "Estimated heap bytes of the log entries held in memory", MetricType::Gauge,
   &key_metrics_snapshot::memory_bytes},
};

void set_value(ClientMetric& m, MetricType type, double v) {
  if (type == MetricType::Counter)
    m.counter.value = v;
  else
    m.gauge.value = v;
}

MetricFamily family(const char* name, const char* help, MetricType type) {
  return MetricFamily{name, help, type, {}};
}

/// A family with one sample labelled system.
MetricFamily system_family(const std::string& system, const char* name, const char* help, MetricType type,
                           double value) {
  auto f = family(name, help, type);
  ClientMetric m;
  m.label = {{"system", system}};
  set_value(m, type, value);
  f.metric.push_back(std::move(m));
  return f;
}

MetricFamily wal_sync_histogram(const system_metrics& sm) {
  auto f = family("ra_wal_sync_seconds", "Time to write one WAL batch and make it durable (write + sync)",
                  MetricType::Histogram);
  ClientMetric m;
  m.label = {{"system", sm.system}};
  uint64_t cumulative = 0;
  for (size_t i = 0; i < wal_sync_latency_bounds.size(); ++i) {
    cumulative += sm.wal.sync_latency_counts[i];
    m.histogram.bucket.push_back({cumulative, wal_sync_latency_bounds[i]});
  }
  cumulative += sm.wal.sync_latency_counts.back();
  m.histogram.bucket.push_back({cumulative, std::numeric_limits<double>::infinity()});
  m.histogram.sample_count = cumulative;
  m.histogram.sample_sum = static_cast<double>(sm.wal.sync_latency_ns_sum) / 1e9;
  f.metric.push_back(std::move(m));
  return f;
}

std::vector<MetricFamily> to_families(const system_metrics& sm) {
  std::vector<MetricFamily> out;
  const auto& sys = sm.system;
  const auto counter = MetricType::Counter;
  const auto& w = sm.wal;
  auto d = [](uint64_t v) { return static_cast<double>(v); };
  out.push_back(system_family(sys, "ra_wal_batches_total", "WAL batches written and made durable", counter, d(w.batches)));
  out.push_back(system_family(sys, "ra_wal_syncs_total", "fsync / fdatasync calls on WAL files", counter, d(w.syncs)));
  out.push_back(system_family(sys, "ra_wal_entries_total", "Entries made durable in the WAL", counter, d(w.entries)));
  out.push_back(system_family(sys, "ra_wal_bytes_total", "Bytes made durable in the WAL", counter, d(w.bytes)));
  out.push_back(system_family(sys, "ra_wal_rollovers_total", "WAL files closed", counter, d(w.rollovers)));
  out.push_back(system_family(sys, "ra_wal_failed_flushes_total", "WAL batches whose write or sync failed", counter,
                              d(w.failed_flushes)));
  out.push_back(system_family(sys, "ra_wal_slow_syncs_total", "WAL batches slower than wal_slow_sync_threshold",
                              counter, d(w.slow_syncs)));
  out.push_back(wal_sync_histogram(sm));
  out.push_back(system_family(sys, "ra_segment_flushes_total", "WAL files moved into segment files", counter,
                              d(sm.segments.flushes)));
  out.push_back(system_family(sys, "ra_segment_failed_flushes_total", "Failed attempts to move a WAL file (retried)",
                              counter, d(sm.segments.failed_flushes)));
  out.push_back(system_family(sys, "ra_segments_written_total", "Segment files written", counter,
                              d(sm.segments.segments_written)));
  out.push_back(system_family(sys, "ra_servers", "Running servers", MetricType::Gauge, d(sm.servers.size())));

  for (const auto& sf : server_families) {
    auto f = family(sf.name, sf.help, sf.type);
    f.metric.resize(sm.servers.size());
    for (size_t i = 0; i < sm.servers.size(); ++i) {
      const auto& row = sm.servers[i];
      auto& m = f.metric[i];
      m.label = {{"system", sys}, {"cluster", row.cluster}, {"server", row.server}};
      set_value(m, sf.type, d(row.values.*sf.value));
    }
    out.push_back(std::move(f));
  }
  auto leader = family("ra_server_leader", "1 if the server is its cluster's leader, else 0", MetricType::Gauge);
  leader.metric.resize(sm.servers.size());
  for (size_t i = 0; i < sm.servers.size(); ++i) {
    const auto& row = sm.servers[i];
    leader.metric[i].label = {{"system", sys}, {"cluster", row.cluster}, {"server", row.server}};
    leader.metric[i].gauge.value = row.values.state == role::leader ? 1 : 0;
  }
  out.push_back(std::move(leader));
  return out;
}

class system_collectable final : public prometheus::Collectable {
 public:
  explicit system_collectable(const system& sys) : sys_(sys) {}
  std::vector<MetricFamily> Collect() const override { return to_families(sys_.metrics()); }

 private:
  const system& sys_;
};

}  // namespace

std::shared_ptr<prometheus::Collectable> make_prometheus_collectable(const system& sys) {
  return std::make_shared<system_collectable>(sys);
}

metrics_endpoint::metrics_endpoint(std::unique_ptr<prometheus::Exposer> exposer,
                                   std::shared_ptr<prometheus::Collectable> collectable)
    : exposer_(std::move(exposer)), collectable_(std::move(collectable)) {
  exposer_->RegisterCollectable(collectable_);
}

metrics_endpoint::~metrics_endpoint() {
  exposer_->RemoveCollectable(collectable_);
}

uint16_t metrics_endpoint::port() const {
  auto ports = exposer_->GetListeningPorts();
  return ports.empty() ? 0 : static_cast<uint16_t>(ports.front());
}

result<std::unique_ptr<metrics_endpoint>> serve_metrics(const system& sys, const std::string& address) {
  std::unique_ptr<prometheus::Exposer> exposer;
  try {
    exposer = std::make_unique<prometheus::Exposer>(address, 1);
  } catch (const std::exception& ex) {
    return make_api_error(api_errc::invalid_argument, "metrics: cannot listen on " + address + ": " + ex.what());
  }
  return std::make_unique<metrics_endpoint>(std::move(exposer), make_prometheus_collectable(sys));
}

}  // namespace ra
