#pragma once
// The seam between the protocol core and storage (Ra's ra_log).
//
// Reads are synchronous. Appends are asynchronous: `append` queues entries and returns;
// they become durable later, and the owner of the store (the actor shell, or the
// simulator) then calls `server::handle_log_written()`. The core never acknowledges an
// entry above `last_written()`.
//
// Snapshots: the core hands the store a snapshot of the machine state at some applied
// index (`write_snapshot`); the store keeps it and may drop entries at or below that
// index. A follower installs a leader's snapshot with `install_snapshot`.

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "ra/bytes.hpp"
#include "ra/expected.hpp"
#include "ra/log_entry.hpp"
#include "libra/messages.hpp"
#include "ra/types.hpp"

namespace ra {

struct index_term {
  index_t index{0};
  term_t term{0};
  bool operator==(const index_term&) const = default;
};

struct stored_snapshot {
  snapshot_meta meta;
  shared_bytes data;
};

/// Why a read returned less than was asked for (etcd's ErrCompacted / ErrUnavailable):
/// `compacted` means the entries were released into a snapshot (a leader sends the
/// snapshot instead); `unreadable` means the store cannot read what it should hold (an
/// I/O error, a checksum failure): the server must stop with `message`, never guess.
struct log_error {
  enum class kind : uint8_t { compacted, unreadable };
  kind what = kind::unreadable;
  std::string message;
};
using log_status = expected<void, log_error>;

class log_store {
 public:
  virtual ~log_store() = default;

  // -- reads (synchronous) ---------------------------------------------------------

  /// Index of the last entry appended (durable or not); the snapshot index if the log
  /// holds no entries past it; 0 for an empty log.
  virtual index_t last_index() const = 0;
  /// The last entry (or snapshot point) known durable, with its term.
  virtual index_term last_written() const = 0;
  /// Term of the entry at `i`; also answers for the snapshot index (its term) and
  /// for 0 (term 0). Empty if `i` is beyond the log or below the snapshot.
  virtual std::optional<term_t> term_at(index_t i) const = 0;
  /// Appends entries [from, to] (inclusive, `to` capped at last_index()) to `out`, in
  /// order, stopping early once `max_count` entries were added. An error if `from` is
  /// below first_index() (compacted) or an entry in range cannot be read (unreadable);
  /// entries read before the failure may have been added.
  virtual log_status read(index_t from, index_t to, size_t max_count, std::vector<log_entry>& out) const = 0;
  /// The first index still held as an entry (snapshot index + 1 after a snapshot).
  virtual index_t first_index() const = 0;

  // -- writes ------------------------------------------------------------------------

  /// Queues `entries` for durable storage. They must be contiguous and start at or below
  /// last_index() + 1; starting below overwrites (truncates) the divergent suffix first.
  /// Readable at once; durable once `last_written()` reaches them.
  virtual void append(std::vector<log_entry> entries) = 0;

  // -- snapshots -----------------------------------------------------------------------

  /// The newest snapshot, if any.
  virtual std::optional<stored_snapshot> snapshot() const = 0;
  /// Stores a snapshot of the local machine (taken after applying meta.index) and
  /// releases entries up to meta.index.
  virtual void write_snapshot(stored_snapshot snap) = 0;
  /// Installs a snapshot received from the leader. If the log holds an entry at
  /// meta.index with meta.term, later entries are kept; otherwise the log is replaced.
  virtual void install_snapshot(stored_snapshot snap) = 0;

  // -- checkpoints (optional) -----------------------------------------------------------

  /// Keeps a snapshot of the local machine at meta.index WITHOUT releasing any entry
  /// (Ra's checkpoint: cheap, not synced until promoted). Stores without checkpoint
  /// support ignore it.
  virtual void write_checkpoint(stored_snapshot /*snap*/) {}
  /// Turns the newest checkpoint at or below `index` (and above the current snapshot)
  /// into the snapshot, releasing the log below it. Returns false if there was none.
  virtual bool promote_checkpoint(index_t /*index*/) { return false; }
};

}  // namespace ra
