#pragma once
// An in-memory log_store with explicit durability, for tests and the simulator.
//
// Appended entries are readable at once but durable only after sync(): a crash()
// returns the store to its durable image, losing un-synced writes (including an
// un-synced overwrite, which brings the older entries back, as a real WAL would).
// Snapshots are durable when written.

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
  std::optional<stored_snapshot> snapshot() const override { return snapshot_; }
  void write_snapshot(stored_snapshot snap) override;
  /// Checkpoints are kept in memory only (not durable: a crash() forgets them).
  void write_checkpoint(stored_snapshot snap) override;
  bool promote_checkpoint(index_t index) override;
  size_t checkpoint_count() const { return checkpoints_.size(); }
  void install_snapshot(stored_snapshot snap) override;

  // -- durability control -------------------------------------------------------------

  /// Makes entries up to `up_to` (capped at last_index()) durable. Returns true if the
  /// durable point moved.
  bool sync(index_t up_to);
  bool sync_all() { return sync(last_index()); }
  /// Index of the first entry not yet durable (last_index()+1 if all are).
  index_t unsynced_from() const { return written_ + 1; }
  /// Forgets everything not durable.
  void crash();

  /// Entries held (for invariant checks): [first_index(), last_index()].
  const std::vector<log_entry>& entries() const { return entries_; }

 private:
  index_t snap_index() const { return snapshot_ ? snapshot_->meta.index : index_t{0}; }
  const log_entry* at(index_t i) const;
  void drop_through(index_t i);  // releases entries <= i from both images

  std::optional<stored_snapshot> snapshot_;
  std::vector<stored_snapshot> checkpoints_;  // ascending index
  std::vector<log_entry> entries_;  // current view: indexes snap_index()+1 ...
  index_t written_{0};              // entries <= written_ in the view are durable
  std::vector<log_entry> durable_;  // durable image of the entries
};

}  // namespace ra
