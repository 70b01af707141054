#pragma once
// The log_store each simulated server uses: a memory_log (the server's "disk", which
// survives crashes) plus a note of the lowest index appended since the simulator last
// looked, so log-matching checks only look at what changed. In the real-storage mode it
// forwards to the node's durable_log instead (attach), which a crash destroys: while
// detached it reads as the (then empty) memory_log.

#include <algorithm>
#include <optional>

#include "libra/memory_log.hpp"

namespace ra::sim {

class observed_log final : public ra::log_store {
 public:
  ra::index_t last_index() const override { return store().last_index(); }
  ra::index_term last_written() const override { return store().last_written(); }
  std::optional<ra::term_t> term_at(ra::index_t i) const override { return store().term_at(i); }
  ra::log_status read(ra::index_t from, ra::index_t to, size_t max_count, std::vector<ra::log_entry>& out) const override {
    return store().read(from, to, max_count, out);
  }
  ra::index_t first_index() const override { return store().first_index(); }
  void append(std::vector<ra::log_entry> entries) override {
    if (!entries.empty())
      changed_from_ = changed_from_ ? std::min(*changed_from_, entries.front().index) : entries.front().index;
    store().append(std::move(entries));
  }
  std::optional<ra::snapshot_ref> snapshot() const override { return store().snapshot(); }
  ra::snapshot_bytes load_snapshot_state() const override { return store().load_snapshot_state(); }
  ra::snapshot_bytes read_snapshot_chunk(const ra::snapshot_meta& meta, uint32_t chunk_no,
                                         uint64_t chunk_size) const override {
    return store().read_snapshot_chunk(meta, chunk_no, chunk_size);
  }
  void write_snapshot(ra::stored_snapshot snap) override { store().write_snapshot(std::move(snap)); }
  std::optional<uint32_t> snapshot_checksum(const ra::snapshot_meta& meta) const override {
    return store().snapshot_checksum(meta);
  }
  ra::log_status begin_snapshot_receipt(const ra::snapshot_meta& meta,
                                        std::optional<uint32_t> checksum = std::nullopt) override {
    return store().begin_snapshot_receipt(meta, checksum);
  }
  ra::log_status accept_snapshot_chunk(std::span<const char> state_chunk) override {
    return store().accept_snapshot_chunk(state_chunk);
  }
  ra::log_status complete_snapshot_receipt() override { return store().complete_snapshot_receipt(); }
  void abort_snapshot_receipt() override { store().abort_snapshot_receipt(); }
  bool completes_receipts_later() const override { return store().completes_receipts_later(); }
  ra::log_status begin_snapshot_completion() override { return store().begin_snapshot_completion(); }
  void write_checkpoint(ra::stored_snapshot snap) override { store().write_checkpoint(std::move(snap)); }
  bool promote_checkpoint(ra::index_t index) override { return store().promote_checkpoint(index); }

  /// Forwards to `real` (the node's durable_log) from now on; nullptr: back to disk().
  void attach(ra::log_store* real) { real_ = real; }
  bool attached() const { return real_ != nullptr; }

  ra::memory_log& disk() { return disk_; }
  const ra::memory_log& disk() const { return disk_; }

  /// Lowest index appended since the last call (then forgotten).
  std::optional<ra::index_t> take_changed_from() { return std::exchange(changed_from_, std::nullopt); }

 private:
  ra::log_store& store() { return real_ ? *real_ : static_cast<ra::log_store&>(disk_); }
  const ra::log_store& store() const { return real_ ? *real_ : static_cast<const ra::log_store&>(disk_); }

  ra::memory_log disk_;
  ra::log_store* real_ = nullptr;
  std::optional<ra::index_t> changed_from_;
};

}  // namespace ra::sim
