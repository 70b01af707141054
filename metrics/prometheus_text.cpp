// ra::prometheus_text (ra/prometheus.hpp): system_metrics in Prometheus' text exposition
// format (version 0.0.4), written straight into one string.
//
// Why not prometheus-cpp's TextSerializer: with 10,000 servers a scrape is 140,000
// samples; building a MetricFamily per family with three label strings per sample, then
// formatting each value through an ostream, took ~160 ms of CPU per scrape on a quiet
// 2-core machine (docs/benchmarks.md), which at a 1 s scrape interval is several percent
// of the node's throughput. Here each server's label set is escaped once and every
// value is an integer written with std::to_chars.

#include <algorithm>
#include <charconv>
#include <cstring>
#include <string_view>
#include <vector>

#include "metrics/metric_families.hpp"
#include "ra/prometheus.hpp"

namespace ra {
namespace {

using metrics_detail::family_type;

void append_uint(std::string& out, uint64_t v) {
  char buf[24];
  auto [end, ec] = std::to_chars(buf, buf + sizeof buf, v);
  out.append(buf, end);
}

void append_double(std::string& out, double v) {
  char buf[32];
  auto [end, ec] = std::to_chars(buf, buf + sizeof buf, v);  // shortest text that reads back as v
  out.append(buf, end);
}

/// A histogram bound as its `le` label: the shortest fixed-point text that reads back as
/// `v` ("0.0001", "2.5", "1"), as prometheus-cpp writes it. The label is compared as a
/// string by Prometheus 2, so "1e-04" would be another series.
void append_bound(std::string& out, double v) {
  char buf[64];
  auto [end, ec] = std::to_chars(buf, buf + sizeof buf, v, std::chars_format::fixed);
  out.append(buf, end);
}

/// A label value as the format quotes it: backslash, double quote and newline escaped.
void append_label_value(std::string& out, std::string_view v) {
  for (char c : v) {
    if (c == '\\')
      out += "\\\\";
    else if (c == '"')
      out += "\\\"";
    else if (c == '\n')
      out += "\\n";
    else
      out += c;
  }
}

void append_header(std::string& out, const char* name, const char* help, const char* type) {
  // HELP text escapes backslash and newline; ours are literals with neither.
  out += "# HELP ";
  out += name;
  out += ' ';
  out += help;
  out += "\n# TYPE ";
  out += name;
  out += ' ';
  out += type;
  out += '\n';
}

const char* type_name(family_type t) { return t == family_type::counter ? "counter" : "gauge"; }

/// `{system="S"` without the closing brace: the histogram adds its `le` label.
std::string system_labels_open(const system_metrics& m) {
  std::string s = "{system=\"";
  append_label_value(s, m.system);
  s += '"';
  return s;
}

void append_system_family(std::string& out, const metrics_detail::system_family& f, const system_metrics& m,
                          const std::string& labels_open) {
  append_header(out, f.name, f.help, type_name(f.type));
  out += f.name;
  out += labels_open;
  out += "} ";
  append_uint(out, f.value(m));
  out += '\n';
}

void append_wal_sync_histogram(std::string& out, const system_metrics& m, const std::string& labels_open) {
  const std::string name = metrics_detail::wal_sync_name;
  append_header(out, name.c_str(), metrics_detail::wal_sync_help, "histogram");
  uint64_t cumulative = 0;
  for (size_t i = 0; i < wal_sync_latency_buckets; ++i) {
    cumulative += m.wal.sync_latency_counts[i];
    out += name;
    out += "_bucket";
    out += labels_open;
    out += ",le=\"";
    if (i < wal_sync_latency_bounds.size())
      append_bound(out, wal_sync_latency_bounds[i]);
    else
      out += "+Inf";
    out += "\"} ";
    append_uint(out, cumulative);
    out += '\n';
  }
  out += name + "_sum" + labels_open + "} ";
  append_double(out, static_cast<double>(m.wal.sync_latency_ns_sum) / 1e9);
  out += '\n';
  out += name + "_count" + labels_open + "} ";
  append_uint(out, cumulative);
  out += '\n';
}

}  // namespace

void append_prometheus_text(const system_metrics& m, std::string& out) {
  const std::string system_open = system_labels_open(m);
  for (const auto& f : metrics_detail::wal_families) append_system_family(out, f, m, system_open);
  append_wal_sync_histogram(out, m, system_open);
  for (const auto& f : metrics_detail::node_families) append_system_family(out, f, m, system_open);

  // Each server's label set, escaped once: `{system="S",cluster="C",server="X"} `.
  std::vector<std::string> labels;
  labels.reserve(m.servers.size());
  size_t longest_name = 0;
  for (const auto& f : metrics_detail::server_families) longest_name = std::max(longest_name, std::strlen(f.name));
  size_t per_family = 0;
  for (const auto& row : m.servers) {
    std::string l = system_open + ",cluster=\"";
    append_label_value(l, row.cluster);
    l += "\",server=\"";
    append_label_value(l, row.server);
    l += "\"} ";
    per_family += longest_name + l.size() + 21;  // name, labels, a uint64 and the newline
    labels.push_back(std::move(l));
  }
  out.reserve(out.size() + metrics_detail::server_families.size() * (per_family + 200));
  for (const auto& f : metrics_detail::server_families) {
    append_header(out, f.name, f.help, type_name(f.type));
    for (size_t i = 0; i < m.servers.size(); ++i) {
      out += f.name;
      out += labels[i];
      append_uint(out, f.value(m.servers[i].values));
      out += '\n';
    }
  }
}

std::string prometheus_text(const system_metrics& m) {
  std::string out;
  append_prometheus_text(m, out);
  return out;
}

}  // namespace ra
