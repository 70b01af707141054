#pragma once
// Every counter of one ra::system at one moment, read without messaging any actor
// (ra::system::metrics()): the WAL's (batches, bytes, the latency of making a batch
// durable as a histogram), the segment writer's, and each running server's key metrics
// (ra/key_metrics.hpp) with its cluster. Plain values: no Prometheus here (the optional
// library ra_prometheus, ra/prometheus.hpp, turns them into Prometheus metric families).

#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "ra/key_metrics.hpp"

namespace ra {

/// Upper bounds (seconds) of the WAL sync latency histogram's buckets; a last bucket
/// (+Inf) takes what is slower.
inline constexpr std::array<double, 14> wal_sync_latency_bounds = {
  0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5};
/// Number of buckets of the WAL sync latency histogram: one per bound, plus +Inf.
inline constexpr size_t wal_sync_latency_buckets = wal_sync_latency_bounds.size() + 1;

/// The node's WAL writer counters at one moment (system::metrics()).
struct wal_metrics_snapshot {
  uint64_t batches = 0;         ///< batches written and made durable
  uint64_t syncs = 0;           ///< fsync / fdatasync calls (none with O_DSYNC writes)
  uint64_t entries = 0;         ///< entries made durable
  uint64_t bytes = 0;           ///< bytes made durable
  uint64_t rollovers = 0;       ///< WAL files closed and handed to the segment writer
  uint64_t failed_flushes = 0;  ///< batches whose write or sync failed (retried)
  uint64_t slow_syncs = 0;      ///< batches slower than wal_config::wal_slow_sync_threshold
  /// Time to make each batch durable (its write plus its sync): per-bucket counts (not
  /// cumulative; bucket i counts latencies <= wal_sync_latency_bounds[i] and above the
  /// bound before), and the sum in nanoseconds.
  std::array<uint64_t, wal_sync_latency_buckets> sync_latency_counts{};
  uint64_t sync_latency_ns_sum = 0;  ///< sum of those latencies, in nanoseconds
};

/// The node's segment writer counters at one moment (system::metrics()).
struct segment_metrics_snapshot {
  uint64_t flushes = 0;           ///< WAL files moved into segments
  uint64_t failed_flushes = 0;    ///< attempts that failed (the file is kept and retried)
  uint64_t segments_written = 0;  ///< segment files written (synced) by those moves
};

/// One running server's key metrics, with the names that label it.
struct server_metrics_row {
  std::string cluster;  ///< the cluster the server belongs to
  std::string server;  ///< the server's name (its server_id's name; node = the system)
  key_metrics_snapshot values;  ///< its counters and gauges (ra/key_metrics.hpp)
};

/// Everything system::metrics() reads, without messaging any actor: WAL, segment writer, servers.
struct system_metrics {
  std::string system;  ///< the system's name (the node)
  wal_metrics_snapshot wal;            ///< the node's WAL writer
  segment_metrics_snapshot segments;  ///< the node's segment writer
  /// Running servers, ordered by name.
  std::vector<server_metrics_row> servers;
};

}  // namespace ra
