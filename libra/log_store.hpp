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
// index. The core then only knows the snapshot by reference (meta + state size): a
// leader reads the chunks it sends from the store (`read_snapshot_chunk`), a follower
// streams the chunks it receives into the store (`begin_snapshot_receipt` ...
// `complete_snapshot_receipt`), and the whole state is loaded only to restore a machine
// (`load_snapshot_state`). A store on disk need not hold any snapshot's bytes in memory.

#include <cstdint>
#include <optional>
#include <span>
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

/// What the core knows of a stored snapshot: its meta and how many bytes of machine
/// state it holds, never the bytes themselves.
struct snapshot_ref {
  snapshot_meta meta;
  uint64_t state_size = 0;
  bool operator==(const snapshot_ref&) const = default;
};

/// The install-snapshot chunking (the same cut on both sides, and in the snapshot files'
/// chunk reader): chunk n (1-based) is state bytes [(n-1)*chunk_size, n*chunk_size);
/// there is at least one chunk, even for an empty state.
inline uint32_t snapshot_chunk_count(uint64_t state_size, uint64_t chunk_size) {
  auto n = (state_size + chunk_size - 1) / chunk_size;
  return static_cast<uint32_t>(n == 0 ? 1 : n);
}

/// Why a read returned less than was asked for (etcd's ErrCompacted / ErrUnavailable):
/// `compacted` means the entries were released into a snapshot (a leader sends the
/// snapshot instead); `unreadable` means the store cannot read what it should hold (an
/// I/O error, a checksum failure): the server must stop with `message`, never guess;
/// `unwritable` means a write the store had to make durable failed (a full disk): the
/// server must stop too, rather than acknowledge what is not stored.
struct log_error {
  /// rejected: a received snapshot does not match the sender's checksum; nothing was
  /// installed or changed, the transfer can be retried.
  enum class kind : uint8_t { compacted, unreadable, unwritable, rejected };
  kind what = kind::unreadable;
  std::string message;
};
using log_status = expected<void, log_error>;
using snapshot_bytes = expected<shared_bytes, log_error>;

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

  /// The newest snapshot, if any (by reference: no state bytes).
  virtual std::optional<snapshot_ref> snapshot() const = 0;
  /// The newest snapshot's whole state, only to restore a machine from it (at start, or
  /// after installing a leader's snapshot). `unreadable` if it cannot be read back.
  virtual snapshot_bytes load_snapshot_state() const = 0;
  /// Chunk `chunk_no` (1-based, cut as snapshot_chunk_count says) of the snapshot
  /// `meta`, for sending it to a follower. `compacted` if the store no longer holds that
  /// snapshot (a newer one replaced it before its transfer began: send the newer one);
  /// `unreadable` on an I/O or checksum failure.
  virtual snapshot_bytes read_snapshot_chunk(const snapshot_meta& meta, uint32_t chunk_no,
                                             uint64_t chunk_size) const = 0;
  /// The end-to-end checksum of the snapshot `meta` a transfer carries (for a store on
  /// disk, the snapshot file's CRC, known once read_snapshot_chunk has opened it), or
  /// none if the store has none.
  virtual std::optional<uint32_t> snapshot_checksum(const snapshot_meta& meta) const {
    (void)meta;
    return std::nullopt;
  }
  /// Stores a snapshot of the local machine (taken after applying meta.index) and
  /// releases entries up to meta.index.
  virtual void write_snapshot(stored_snapshot snap) = 0;

  /// Receiving a leader's snapshot, chunk by chunk: begin (drops any receipt in
  /// progress), accept each chunk's state bytes in order, complete after the last one.
  /// Nothing changes in the log until complete, which installs the snapshot: if the log
  /// holds an entry at meta.index with meta.term, later entries are kept; otherwise the
  /// log is replaced. When complete returns success the install is durable, including
  /// the discarded log (a restart never brings the old entries back). abort (or a begin)
  /// discards a receipt in progress and whatever it stored.
  /// `checksum`, the sender's snapshot_checksum, if any: complete then refuses
  /// (`rejected`, nothing changed) a snapshot whose received bytes do not match it.
  virtual log_status begin_snapshot_receipt(const snapshot_meta& meta,
                                            std::optional<uint32_t> checksum = std::nullopt) = 0;
  virtual log_status accept_snapshot_chunk(std::span<const char> state_chunk) = 0;
  virtual log_status complete_snapshot_receipt() = 0;
  virtual void abort_snapshot_receipt() = 0;
  /// True if this store makes a completed receipt durable off the server's thread (the
  /// runtime's durable_log with a worker: the fsyncs and renames of an install must not
  /// block a scheduler thread). The server then calls begin_snapshot_completion instead
  /// of complete_snapshot_receipt and holds every event back until the shell reports the
  /// outcome with server::handle_snapshot_installed.
  virtual bool completes_receipts_later() const { return false; }
  /// Starts completing the receipt later. An immediate error (`rejected`: the bytes do
  /// not match the sender's checksum) means nothing was started or changed.
  virtual log_status begin_snapshot_completion() { return complete_snapshot_receipt(); }
  /// A whole snapshot received at once (tests, tools): begin, one chunk, complete.
  log_status install_snapshot(const stored_snapshot& snap) {
    if (auto st = begin_snapshot_receipt(snap.meta, std::nullopt); !st) return st;
    if (auto st = accept_snapshot_chunk(snap.data.span()); !st) {
      abort_snapshot_receipt();
      return st;
    }
    return complete_snapshot_receipt();
  }

  // -- checkpoints (optional) -----------------------------------------------------------

  /// Keeps a snapshot of the local machine at meta.index WITHOUT releasing any entry
  /// (Ra's checkpoint: cheap, not synced until promoted). Stores without checkpoint
  /// support ignore it.
  virtual void write_checkpoint(stored_snapshot /*snap*/) {}
  /// Turns the newest checkpoint at or below `index` (and above the current snapshot)
  /// into the snapshot, releasing the log below it. Returns false if there was none.
  virtual bool promote_checkpoint(index_t /*index*/) { return false; }

  // -- observation -----------------------------------------------------------------------

  /// An estimate of the heap memory the store holds for entries kept in memory (entry
  /// slots plus payload bytes); O(1). Stores that do not track it say 0.
  virtual uint64_t memory_bytes() const { return 0; }
};

}  // namespace ra
