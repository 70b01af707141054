#include "libra/memory_log.hpp"

#include <algorithm>
#include <stdexcept>
#include <string>

namespace ra {

// Layout: entries_[k] holds index snap_index()+1+k, and so does durable_[k]. The view and
// the durable image agree on every index <= written_. durable_ can run past written_ only
// after an un-synced overwrite: those are the old entries a crash would bring back.

const log_entry* memory_log::at(index_t i) const {
  if (i <= snap_index() || i > last_index())
    return nullptr;
  return &entries_[i - snap_index() - 1];
}

index_t memory_log::last_index() const {
  return snap_index() + entries_.size();
}

index_term memory_log::last_written() const {
  return {written_, term_at(written_).value_or(term_t{0})};
}

std::optional<term_t> memory_log::term_at(index_t i) const {
  if (i == index_t{0})
    return term_t{0};
  if (snapshot_ && i == snapshot_->meta.index)
    return snapshot_->meta.term;
  if (const log_entry* e = at(i))
    return e->term;
  return std::nullopt;
}

log_status memory_log::read(index_t from, index_t to, size_t max_count, std::vector<log_entry>& out) const {
  to = std::min(to, last_index());
  if (from > to || max_count == 0) return {};
  if (from < first_index())
    return unexpected{log_error{log_error::kind::compacted,
                                "entries up to " + std::to_string(snap_index().value) + " are in the snapshot"}};
  for (index_t i = from; i <= to && max_count > 0; ++i, --max_count)
    out.push_back(*at(i));
  return {};
}

void memory_log::append(std::vector<log_entry> entries) {
  // Entries the snapshot already covers are settled: skip them.
  auto first_new = std::find_if(entries.begin(), entries.end(),
                                [&](const log_entry& e) { return e.index > snap_index(); });
  if (first_new == entries.end())
    return;
  const index_t start = first_new->index;
  if (start > last_index() + 1)
    throw std::logic_error("memory_log::append: gap before index " + std::to_string(start.value));
  index_t expected = start;
  for (auto it = first_new; it != entries.end(); ++it, ++expected)
    if (it->index != expected)
      throw std::logic_error("memory_log::append: entries are not contiguous");
  if (start <= last_index()) {
    // Overwrite: the divergent suffix goes from the view now, from the durable image only
    // when a later sync covers the overwrite point (a crash before that restores it).
    entries_.resize(start - snap_index() - 1);
    written_ = std::min(written_, start - 1);
  }
  entries_.insert(entries_.end(), std::make_move_iterator(first_new), std::make_move_iterator(entries.end()));
}

bool memory_log::sync(index_t up_to) {
  up_to = std::min(up_to, last_index());
  if (up_to <= written_)
    return false;
  // Everything above written_ in the durable image is stale or missing: replace it with
  // the view's entries (written_, up_to]. Amortised O(entries newly synced).
  const size_t keep = written_ - snap_index();
  durable_.resize(std::min(durable_.size(), keep));
  for (index_t i = written_ + 1; i <= up_to; ++i)
    durable_.push_back(*at(i));
  written_ = up_to;
  return true;
}

void memory_log::crash() {
  receipt_.reset();
  checkpoints_.clear();
  entries_ = durable_;
  written_ = snap_index() + durable_.size();
}

void memory_log::drop_through(index_t i) {
  const index_t old_snap = snap_index();
  if (i <= old_snap)
    return;
  const size_t n = i - old_snap;
  entries_.erase(entries_.begin(), entries_.begin() + static_cast<std::ptrdiff_t>(std::min(n, entries_.size())));
  if (written_ < i) {
    // Durable entries above i might be stale (an un-synced overwrite was pending): the
    // durable snapshot now covers everything up to i and nothing above it is trusted.
    durable_.clear();
  } else {
    durable_.erase(durable_.begin(), durable_.begin() + static_cast<std::ptrdiff_t>(std::min(n, durable_.size())));
  }
}

void memory_log::write_snapshot(stored_snapshot snap) {
  const index_t i = snap.meta.index;
  if (i < snap_index())
    return;  // older than what we hold: nothing to gain
  // drop_through needs the old snapshot index to locate entries: replace the snapshot after.
  drop_through(i);
  snapshot_ = std::move(snap);
  written_ = std::max(written_, i);
}

std::optional<snapshot_ref> memory_log::snapshot() const {
  if (!snapshot_) return std::nullopt;
  return snapshot_ref{snapshot_->meta, snapshot_->data.size()};
}

snapshot_bytes memory_log::load_snapshot_state() const {
  if (!snapshot_) return unexpected{log_error{log_error::kind::unreadable, "there is no snapshot"}};
  return snapshot_->data;
}

snapshot_bytes memory_log::read_snapshot_chunk(const snapshot_meta& meta, uint32_t chunk_no,
                                               uint64_t chunk_size) const {
  if (!being_sent_ || being_sent_->meta != meta) {
    if (!snapshot_ || snapshot_->meta != meta)
      return unexpected{log_error{log_error::kind::compacted,
                                  "snapshot " + std::to_string(meta.index.value) + " was replaced"}};
    being_sent_ = snapshot_;  // shares the bytes
  }
  const auto& data = being_sent_->data;
  if (chunk_no == 0 || chunk_no > snapshot_chunk_count(data.size(), chunk_size))
    return unexpected{log_error{log_error::kind::unreadable, "snapshot has no chunk " + std::to_string(chunk_no)}};
  auto offset = uint64_t{chunk_no - 1} * chunk_size;
  auto length = std::min<uint64_t>(chunk_size, data.size() - offset);
  auto begin = data.data() + offset;
  return shared_bytes{std::vector<char>(begin, begin + length)};
}

log_status memory_log::begin_snapshot_receipt(const snapshot_meta& meta, std::optional<uint32_t>) {
  receipt_ = receipt{meta, {}};
  return {};
}

log_status memory_log::accept_snapshot_chunk(std::span<const char> state_chunk) {
  if (!receipt_) throw std::logic_error("memory_log::accept_snapshot_chunk: no receipt in progress");
  receipt_->state.insert(receipt_->state.end(), state_chunk.begin(), state_chunk.end());
  return {};
}

log_status memory_log::complete_snapshot_receipt() {
  if (!receipt_) throw std::logic_error("memory_log::complete_snapshot_receipt: no receipt in progress");
  stored_snapshot snap{std::move(receipt_->meta), shared_bytes{std::move(receipt_->state)}};
  receipt_.reset();
  install_received(std::move(snap));
  return {};
}

void memory_log::install_received(stored_snapshot snap) {
  const index_t i = snap.meta.index;
  // term_at also answers for the current snapshot point, so re-installing it keeps the log.
  const bool matches = i >= snap_index() && term_at(i) == snap.meta.term;
  if (matches) {
    drop_through(i);
  } else {
    entries_.clear();
    durable_.clear();
    written_ = i;  // the snapshot is durable; nothing above it is held any more
  }
  snapshot_ = std::move(snap);
  written_ = std::max(written_, i);
}

void memory_log::write_checkpoint(stored_snapshot snap) {
  if (snap.meta.index <= snap_index() || snap.meta.index > last_index()) return;
  checkpoints_.push_back(std::move(snap));
}

bool memory_log::promote_checkpoint(index_t index) {
  std::optional<size_t> pick;
  for (size_t i = 0; i < checkpoints_.size(); ++i)
    if (checkpoints_[i].meta.index <= index && checkpoints_[i].meta.index > snap_index()) pick = i;
  if (!pick) return false;
  auto snap = std::move(checkpoints_[*pick]);
  checkpoints_.erase(checkpoints_.begin(), checkpoints_.begin() + static_cast<std::ptrdiff_t>(*pick) + 1);
  write_snapshot(std::move(snap));
  return true;
}

}  // namespace ra
