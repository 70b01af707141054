// ra_prometheus (ra/prometheus.hpp): ra::system::metrics() as prometheus-cpp metric
// families (for an embedder's exposer), and serve_metrics: an HTTP endpoint (civetweb,
// which prometheus-cpp's exposer runs on too) that answers /metrics with the direct text
// writer (prometheus_text.cpp) plus whatever collectables the embedder adds to it.

#include <algorithm>
#include <exception>
#include <limits>
#include <mutex>
#include <utility>
#include <vector>

#include <CivetServer.h>
#include <prometheus/metric_family.h>
#include <prometheus/text_serializer.h>

#include "metrics/metric_families.hpp"
#include "ra/prometheus.hpp"

namespace ra {
namespace {

using prometheus::ClientMetric;
using prometheus::MetricFamily;
using prometheus::MetricType;

MetricType type_of(metrics_detail::family_type t) {
  return t == metrics_detail::family_type::counter ? MetricType::Counter : MetricType::Gauge;
}

void set_value(ClientMetric& m, MetricType type, double v) {
  if (type == MetricType::Counter)
    m.counter.value = v;
  else
    m.gauge.value = v;
}

/// A family with one sample labelled system.
MetricFamily system_family(const metrics_detail::system_family& f, const system_metrics& sm) {
  MetricFamily out{f.name, f.help, type_of(f.type), {}};
  ClientMetric m;
  m.label = {{"system", sm.system}};
  set_value(m, out.type, static_cast<double>(f.value(sm)));
  out.metric.push_back(std::move(m));
  return out;
}

MetricFamily wal_sync_histogram(const system_metrics& sm) {
  MetricFamily f{metrics_detail::wal_sync_name, metrics_detail::wal_sync_help, MetricType::Histogram, {}};
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
  for (const auto& f : metrics_detail::wal_families) out.push_back(system_family(f, sm));
  out.push_back(wal_sync_histogram(sm));
  for (const auto& f : metrics_detail::node_families) out.push_back(system_family(f, sm));
  for (const auto& sf : metrics_detail::server_families) {
    MetricFamily f{sf.name, sf.help, type_of(sf.type), {}};
    f.metric.resize(sm.servers.size());
    for (size_t i = 0; i < sm.servers.size(); ++i) {
      const auto& row = sm.servers[i];
      auto& m = f.metric[i];
      m.label = {{"system", sm.system}, {"cluster", row.cluster}, {"server", row.server}};
      set_value(m, f.type, static_cast<double>(sf.value(row.values)));
    }
    out.push_back(std::move(f));
  }
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

std::vector<prometheus::MetricFamily> prometheus_families(const system_metrics& m) { return to_families(m); }

// -- the endpoint ------------------------------------------------------------------------

/// GET /metrics: ra's text, then each added collectable through prometheus-cpp's serializer.
/// civetweb runs it on its worker thread (one: scrapes do not overlap).
struct metrics_endpoint::impl final : CivetHandler {
  explicit impl(const system& s) : sys(s) {}

  bool handleGet(CivetServer*, mg_connection* conn) override {
    std::string body;
    try {
      append_prometheus_text(sys.metrics(), body);
      std::vector<std::shared_ptr<prometheus::Collectable>> extra;
      {
        std::lock_guard lk{mx};
        extra = collectables;
      }
      if (!extra.empty()) {
        std::vector<MetricFamily> families;
        for (const auto& c : extra) {
          auto f = c->Collect();
          families.insert(families.end(), std::make_move_iterator(f.begin()), std::make_move_iterator(f.end()));
        }
        body += prometheus::TextSerializer{}.Serialize(families);
      }
    } catch (const std::exception& ex) {
      mg_send_http_error(conn, 500, "metrics: %s", ex.what());
      return true;
    }
    mg_send_http_ok(conn, "text/plain; version=0.0.4; charset=utf-8", static_cast<long long>(body.size()));
    mg_write(conn, body.data(), body.size());
    return true;
  }

  const system& sys;
  std::mutex mx;
  std::vector<std::shared_ptr<prometheus::Collectable>> collectables;
  std::unique_ptr<CivetServer> server;  // last: stopped (joined) first, while the rest lives
};

metrics_endpoint::metrics_endpoint(std::unique_ptr<impl> i) : impl_(std::move(i)) {}

metrics_endpoint::~metrics_endpoint() {
  // Joins civetweb's threads before the handler goes: no scrape runs past this point.
  impl_->server.reset();
}

uint16_t metrics_endpoint::port() const {
  auto ports = impl_->server->getListeningPorts();
  return ports.empty() ? 0 : static_cast<uint16_t>(ports.front());
}

void metrics_endpoint::register_collectable(std::shared_ptr<prometheus::Collectable> c) {
  if (!c) return;
  std::lock_guard lk{impl_->mx};
  impl_->collectables.push_back(std::move(c));
}

void metrics_endpoint::remove_collectable(const std::shared_ptr<prometheus::Collectable>& c) {
  std::lock_guard lk{impl_->mx};
  auto& v = impl_->collectables;
  v.erase(std::remove(v.begin(), v.end(), c), v.end());
}

result<std::unique_ptr<metrics_endpoint>> serve_metrics(const system& sys, const std::string& address) {
  auto i = std::make_unique<metrics_endpoint::impl>(sys);
  try {
    // One worker, as prometheus-cpp's exposer uses: scrapes are rare and serial.
    i->server = std::make_unique<CivetServer>(std::vector<std::string>{"listening_ports", address, "num_threads", "1"});
  } catch (const std::exception& ex) {
    return make_api_error(api_errc::invalid_argument, "metrics: cannot listen on " + address + ": " + ex.what());
  }
  i->server->addHandler("/metrics", i.get());
  return std::make_unique<metrics_endpoint>(std::move(i));
}

}  // namespace ra
