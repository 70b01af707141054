#pragma once
// An in-memory log_store with explicit durability, for tests and the simulator.
//
// Appended entries are readable at once but durable only after sync(): a crash()
// returns the store to its durable image, losing un-synced writes (including an
// un-synced overwrite, which brings the older entries back, as a real WAL would).
// Snapshots are durable when written. Unlike a store on disk it keeps the snapshot's
// bytes (it is the fast model), but it answers the same chunk-by-chunk interface.

#include <optional>
#include <vector>

#include "libra/log_store.hpp"

namespace ra {

class memory_log final : public log_store {
 public:
  memory_log() = default;

  index_t last_index() const override;
  index_term last_written() const override;
  std::optional<term_t> term_at(index_t i) const override;
  log_status read(index_t from, index_t to, size_t max_count, std::vector<log_entry>& out) const override;
  index_t first_index() const override { return snap_index() + 1; }
  void append(std::vector<log_entry> entries) override;
  std::optional<snapshot_ref> snapshot() const override;
  snapshot_bytes load_snapshot_state() const override;
  snapshot_bytes read_snapshot_chunk(const snapshot_meta& meta, uint32_t chunk_no, uint64_t chunk_size) const override;
  void write_snapshot(stored_snapshot snap) override;
  /// The memory log keeps no checksum of its own and does not check one.
  log_status begin_snapshot_receipt(const snapshot_meta& meta, std::optional<uint32_t> checksum = std::nullopt) override;
  log_status accept_snapshot_chunk(std::span<const char> state_chunk) override;
  log_status complete_snapshot_receipt() override;
  void abort_snapshot_receipt() override { receipt_.reset(); }
  bool receiving_snapshot() const { return receipt_.has_value(); }
  /// Checkpoints are kept in memory only (not durable: a crash() forgets them).
  void write_checkpoint(stored_snapshot snap) override;
  bool promote_checkpoint(index_t index) override;
  size_t checkpoint_count() const { return checkpoints_.size(); }

  // -- durability control -------------------------------------------------------------

  /// Makes entries up to `up_to` (capped at last_index()) durable. Returns true if the
  /// durable point moved.
  bool sync(index_t up_to);
  bool sync_all() { return sync(last_index()); }
  /// Index of the first entry not yet durable (last_index()+1 if all are).
  index_t unsynced_from() const { return written_ + 1; }
  /// Forgets everything not durable (a snapshot being received too).
  void crash();

  /// Entries held (for invariant checks): [first_index(), last_index()].
  const std::vector<log_entry>& entries() const { return entries_; }

 private:
  index_t snap_index() const { return snapshot_ ? snapshot_->meta.index : index_t{0}; }
  const log_entry* at(index_t i) const;
  void drop_through(index_t i);  // releases entries <= i from both images
  void install_received(stored_snapshot snap);

  std::optional<stored_snapshot> snapshot_;
  /// The snapshot whose chunks were read last: a transfer that began before a newer
  /// snapshot replaced it can finish (as an open file does for a store on disk).
  mutable std::optional<stored_snapshot> being_sent_;
  struct receipt {
    snapshot_meta meta;
    std::vector<char> state;
  };
  std::optional<receipt> receipt_;  // a leader's snapshot being received
  std::vector<stored_snapshot> checkpoints_;  // ascending index
  std::vector<log_entry> entries_;  // current view: indexes snap_index()+1 ...
  index_t written_{0};              // entries <= written_ in the view are durable
  std::vector<log_entry> durable_;  // durable image of the entries
};

}  // namespace ra
