#pragma once
// `ra-bench storage`: what the disk can do, then what the WAL makes of it, in one run.
//
//   1. Raw limits, in the data directory: a single writer appending 4 KiB blocks to a
//      file opened with O_DSYNC (syncs/s and mean latency), and sequential 1 MiB writes
//      with one fdatasync at the end (MB/s).
//   2. The real WAL (wal_writer, default config, real fdatasync), driven by one thread
//      that batches like the WAL actor: take everything queued, one write, one sync.
//      Entries of 16 B and 1 KiB from 1, 10, 100 and 1,000 concurrent writers.
//
//   3. The raw limits again: the limit each WAL figure is set against is the mean of
//      before and after, and a drift of more than 25 % between them is reported, since a
//      shared or virtual disk can change speed within the run.
//
// Each WAL figure is set against its raw limit: one writer's syncs/s against the O_DSYNC
// loop (target >= 90 %), many writers' MB/s against sequential bandwidth (target >= 80 %
// with >= 100 writers and 1 KiB entries).

#include <cstddef>
#include <string>

namespace CLI {
class App;
}

namespace ra::bench {

struct storage_bench_options {
  /// Where the files go; empty = a fresh directory under /tmp. Either way the benchmark
  /// works in a new subdirectory it removes at the end, so nothing of the caller's is
  /// touched.
  std::string data_dir;
  /// Duration of each measurement.
  double seconds = 3.0;
  /// Appends each writer keeps in flight when there are several writers. A single
  /// writer always has 1 in flight: that case measures latency (every append waits for
  /// its sync). 128 lets 100 writers fill a default WAL batch (8192 entries), as servers
  /// under load do in Ra: they pipeline appends without waiting for each to be written.
  size_t window = 128;
  /// Also write every figure, the machine and the config as JSON to this file.
  std::string json_path;
};

/// Registers the subcommand's options on `sub`, bound to `options`.
void add_storage_options(CLI::App& sub, storage_bench_options& options);

/// Runs the benchmark, prints the table on stdout and progress on stderr. Returns the
/// exit status: 0 when it ran (missed targets are reported, not failed), 1 on an error.
int run_storage_bench(const storage_bench_options& options);

}  // namespace ra::bench
