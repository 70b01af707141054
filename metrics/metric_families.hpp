#pragma once
// The one list of Ra's Prometheus families (internal to ra_prometheus): name, help, type
// and where each value comes from in a system_metrics. Both exporters read it: the
// prometheus-cpp collectable (an embedder's exposer) and the direct text writer that
// serve_metrics answers with, so the two cannot drift apart.

#include <array>
#include <cstdint>

#include "ra/system_metrics.hpp"

namespace ra::metrics_detail {

enum class family_type : uint8_t { counter, gauge };

/// A family with one sample per system, labelled system.
struct system_family {
  const char* name;
  const char* help;
  family_type type;
  uint64_t (*value)(const system_metrics&);
};

/// A family with one sample per server, labelled system, cluster and server. Each costs
/// one line per server per scrape (10,000 servers: 10,000 lines), so only what an
/// operator watches per server is here; the rest of key_metrics stays in
/// system::metrics() and ra-ctl metrics.
struct server_family {
  const char* name;
  const char* help;
  family_type type;
  uint64_t (*value)(const key_metrics_snapshot&);
};

inline constexpr family_type counter = family_type::counter;
inline constexpr family_type gauge = family_type::gauge;

/// The system families before the histogram (ra_wal_sync_seconds).
inline constexpr std::array<system_family, 7> wal_families{{
  {"ra_wal_batches_total", "WAL batches written and made durable", counter,
   [](const system_metrics& m) { return m.wal.batches; }},
  {"ra_wal_syncs_total", "fsync / fdatasync calls on WAL files", counter,
   [](const system_metrics& m) { return m.wal.syncs; }},
  {"ra_wal_entries_total", "Entries made durable in the WAL", counter,
   [](const system_metrics& m) { return m.wal.entries; }},
  {"ra_wal_bytes_total", "Bytes made durable in the WAL", counter, [](const system_metrics& m) { return m.wal.bytes; }},
  {"ra_wal_rollovers_total", "WAL files closed", counter, [](const system_metrics& m) { return m.wal.rollovers; }},
  {"ra_wal_failed_flushes_total", "WAL batches whose write or sync failed", counter,
   [](const system_metrics& m) { return m.wal.failed_flushes; }},
  {"ra_wal_slow_syncs_total", "WAL batches slower than wal_slow_sync_threshold", counter,
   [](const system_metrics& m) { return m.wal.slow_syncs; }},
}};

/// The histogram of the time to make one WAL batch durable (buckets:
/// ra::wal_sync_latency_bounds, then +Inf).
inline constexpr const char* wal_sync_name = "ra_wal_sync_seconds";
inline constexpr const char* wal_sync_help = "Time to write one WAL batch and make it durable (write + sync)";

/// The system families after the histogram.
inline constexpr std::array<system_family, 4> node_families{{
  {"ra_segment_flushes_total", "WAL files moved into segment files", counter,
   [](const system_metrics& m) { return m.segments.flushes; }},
  {"ra_segment_failed_flushes_total", "Failed attempts to move a WAL file (retried)", counter,
   [](const system_metrics& m) { return m.segments.failed_flushes; }},
  {"ra_segments_written_total", "Segment files written", counter,
   [](const system_metrics& m) { return m.segments.segments_written; }},
  {"ra_servers", "Running servers", gauge, [](const system_metrics& m) { return uint64_t{m.servers.size()}; }},
}};

inline constexpr std::array<server_family, 14> server_families{{
  {"ra_server_commands_total", "Commands accepted as leader", counter,
   [](const key_metrics_snapshot& v) { return v.commands; }},
  {"ra_server_commands_rejected_total", "Committed commands skipped because apply threw", counter,
   [](const key_metrics_snapshot& v) { return v.commands_rejected; }},
  {"ra_server_elections_total", "Elections started", counter,
   [](const key_metrics_snapshot& v) { return v.elections; }},
  {"ra_server_term_changes_total", "Times the server's term changed", counter,
   [](const key_metrics_snapshot& v) { return v.term_changes; }},
  {"ra_server_messages_sent_total", "Peer messages sent", counter,
   [](const key_metrics_snapshot& v) { return v.messages_sent; }},
  {"ra_server_messages_received_total", "Peer messages handled", counter,
   [](const key_metrics_snapshot& v) { return v.messages_received; }},
  {"ra_server_snapshots_written_total", "Snapshots written", counter,
   [](const key_metrics_snapshot& v) { return v.snapshots_written; }},
  {"ra_server_snapshots_installed_total", "Snapshots installed from a leader", counter,
   [](const key_metrics_snapshot& v) { return v.snapshots_installed; }},
  {"ra_server_term", "Current term", gauge, [](const key_metrics_snapshot& v) { return v.term; }},
  {"ra_server_last_written_index", "Last index made durable", gauge,
   [](const key_metrics_snapshot& v) { return v.last_written_index; }},
  {"ra_server_commit_index", "Commit index", gauge, [](const key_metrics_snapshot& v) { return v.commit_index; }},
  {"ra_server_last_applied", "Last index applied to the machine", gauge,
   [](const key_metrics_snapshot& v) { return v.last_applied; }},
  {"ra_server_memory_bytes", "Estimated heap bytes of the log entries held in memory", gauge,
   [](const key_metrics_snapshot& v) { return v.memory_bytes; }},
  {"ra_server_leader", "1 if the server is its cluster's leader, else 0", gauge,
   [](const key_metrics_snapshot& v) { return uint64_t{v.state == role::leader ? 1u : 0u}; }},
}};

}  // namespace ra::metrics_detail
