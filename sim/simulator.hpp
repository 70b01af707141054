#pragma once
// ra-sim's engine: one seed -> one randomized but exactly reproducible run of a cluster of
// ra::servers under faults, with register clients, Raft's safety invariants checked after
// every event, linearizability of the client history checked at the end, and a liveness
// phase (everything healed: a leader must emerge and every client must get a write
// through within a bounded simulated time).

#include <cstdint>
#include <iosfwd>
#include <string>

#include "lincheck/history.hpp"

namespace ra::sim {

/// What the members store their log, snapshots and term/vote on.
enum class storage_mode : uint8_t {
  by_seed,  ///< even seeds: real, odd seeds: memory
  memory,   ///< memory_log: fast, atomic "keep what was declared durable" crashes
  real,     ///< the real WAL, segments, snapshot files and meta store on a simulated disk
};

/// Real-storage mode: how the simulated disks write back unsynced data at a crash.
enum class disk_model : uint8_t {
  /// In file order, and a file's size follows its data (ext4 data=ordered): what survives
  /// of unsynced appends is a prefix. The default: the storage stack survives it.
  ordered,
  /// In file order, but the size may land first, leaving a zero tail (XFS). The meta
  /// store does not survive it yet (docs/simulator.md).
  size_ahead,
  /// Pages in any order (a later page kept, an earlier one lost). The WAL and the meta
  /// store do not survive it yet (review finding F9; docs/simulator.md).
  reorder,
};

struct sim_options {
  uint64_t seed = 1;
  storage_mode storage = storage_mode::by_seed;
  /// Real-storage mode: what a crash leaves of unsynced writes (see disk_model).
  disk_model disk = disk_model::ordered;
  int servers = 0;          ///< initial voters; 0: 3 or 5, drawn from the seed
  uint64_t steps = 20000;   ///< events in the fault phase
  std::string history_dir;  ///< if set, the history is written to DIR/seed-S.log (Jepsen format)
  bool verbose = false;     ///< human-readable event log
  std::ostream* log = nullptr;  ///< where the event log goes (default: std::cout)
  bool faults = true;       ///< false: no fault injection and a clean network
  bool all_faults = false;  ///< every fault kind enabled (else each is drawn from the seed)
  /// Test-only sabotage: a crash wipes the member's storage (log, term, vote), which breaks
  /// Raft's assumptions; the invariant checks are expected to notice on some seeds.
  bool sabotage_amnesia = false;
  /// Test-only sabotage: clients read with query_kind::local from any member, so reads
  /// can be stale; the linearizability check is expected to notice on some seeds.
  bool sabotage_local_reads = false;
  int64_t liveness_ms = 30000;  ///< simulated time allowed for recovery after healing
  /// Events allowed after healing before the run is declared a storm (a livelock of
  /// messages that would otherwise run for hours of wall time).
  uint64_t max_heal_steps = 300000;
  double lincheck_timeout_s = 60;
  uint64_t full_check_every = 1000;  ///< steps between full log scans
};

struct sim_stats {
  int servers = 0;
  int spares = 0;
  uint64_t sim_time_ms = 0;
  uint64_t commit_index = 0;   ///< highest index known committed
  uint64_t leader_terms = 0;   ///< terms that had a leader
  uint64_t crashes = 0;
  uint64_t restarts = 0;
  uint64_t messages_sent = 0;
  uint64_t messages_dropped = 0;
  uint64_t messages_duplicated = 0;
  uint64_t partial_syncs = 0;
  uint64_t leader_down_signals = 0;
  uint64_t faults_injected = 0;
  uint64_t membership_ok = 0;
  uint64_t snapshots_written = 0;    ///< by the servers running at the end
  uint64_t snapshots_installed = 0;  ///< by the servers running at the end
  uint64_t checkpoints_promoted = 0; ///< by the servers running at the end
  uint64_t snapshots_checked = 0;    ///< snapshots compared with the committed log's state
  uint64_t ops_invoked = 0;
  uint64_t ops_ok = 0;
  uint64_t ops_fail = 0;
  uint64_t ops_info = 0;
  std::string fault_profile;
  // Real-storage mode only.
  uint64_t recovery_failures = 0;  ///< restarts whose recovery failed (the member stays down)
  uint64_t storage_stops = 0;      ///< servers stopped by a storage error
  uint64_t wal_errors = 0;         ///< failed WAL batches reported to servers
  uint64_t installs_off_thread = 0;  ///< snapshot installs finished by the worker, events held meanwhile
  uint64_t wal_rollovers = 0;
  uint64_t segment_flushes = 0;
  uint64_t snapshot_jobs = 0;
  uint64_t pages_torn = 0;         ///< at crashes, over all disks
  uint64_t pages_lost = 0;
  uint64_t dir_changes_undone = 0;
  uint64_t power_cuts = 0;         ///< crashes that struck inside a storage operation
  uint64_t bits_flipped = 0;
  uint64_t corruption_stops = 0;   ///< servers stopped because their disk rotted (or failed)
};

struct sim_result {
  bool ok = false;
  uint64_t seed = 0;
  bool real_storage = false;  ///< the mode the run used
  /// "<invariant>: <details>" if !ok.
  std::string failure;
  uint64_t failed_step = 0;  ///< step at which the failure was detected
  uint64_t steps = 0;        ///< events processed in all
  uint64_t trace_hash = 0;   ///< equal for two runs of the same seed
  sim_stats stats;
  lincheck::history history;
};

sim_result run_simulation(const sim_options& opts);

/// Whether a run with these options uses the real storage stack.
bool uses_real_storage(const sim_options& opts);
const char* to_string(storage_mode m);
const char* to_string(disk_model m);

/// One line: seed, outcome, and the main counters.
std::string summarize(const sim_result& r);

}  // namespace ra::sim
