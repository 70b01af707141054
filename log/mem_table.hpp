#pragma once
// A server's in-memory table of log entries that are not (yet) in its segment files:
// everything appended since the last segment flush, durable or not. Reads hit it first.
//
// Entries are contiguous by index. An append that starts at or below the last index
// overwrites: the table keeps the entries below the new first index and drops the rest,
// so older data is never modified in place.

#include <cstddef>
#include <iterator>
#include <optional>
#include <vector>

#include "ra/log_entry.hpp"

namespace ra::storage {

/// Storage: a vector whose live part is [head_, end), so dropping from the front is O(1).
/// Not a std::deque: a deque allocates ~576 bytes even when empty, and a node holds
/// thousands of idle servers whose tables are empty or tiny. An empty table owns no
/// heap memory (it is released whenever the table empties).
class mem_table {
 public:
  bool empty() const { return head_ == entries_.size(); }
  size_t size() const { return entries_.size() - head_; }
  /// First and last index held (0 when empty).
  index_t first_index() const { return empty() ? index_t{0} : entries_[head_].index; }
  index_t last_index() const { return empty() ? index_t{0} : entries_.back().index; }
  /// Heap bytes held: the entry slots (capacity) plus the live entries' payloads (a
  /// payload shared with another holder is counted here too).
  uint64_t memory_bytes() const { return entries_.capacity() * sizeof(log_entry) + payload_bytes_; }

  const log_entry* find(index_t i) const {
    if (empty() || i < first_index() || i > last_index()) return nullptr;
    return &entries_[head_ + (i - first_index())];
  }

  /// Appends entries (contiguous). If they start inside the table, the table is cut
  /// there first; if they start after last_index() + 1 (e.g. after a snapshot install),
  /// the table is cleared first.
  void append(std::vector<log_entry> entries) {
    if (entries.empty()) return;
    auto first = entries.front().index;
    if (!empty() && first > last_index() + 1) clear();
    if (!empty() && first <= last_index()) truncate_from(first);
    for (const auto& e : entries) payload_bytes_ += e.payload.size();
    if (empty() && entries_.capacity() == 0) {
      entries_ = std::move(entries);  // the common first append: no copy at all
      head_ = 0;
      return;
    }
    if (head_ > 0 && head_ * 2 >= entries_.size()) compact();  // before growing, not per append
    entries_.insert(entries_.end(), std::make_move_iterator(entries.begin()), std::make_move_iterator(entries.end()));
  }

  /// Drops entries with index >= i.
  void truncate_from(index_t i) {
    while (!empty() && entries_.back().index >= i) {
      payload_bytes_ -= entries_.back().payload.size();
      entries_.pop_back();
    }
    if (empty()) clear();
  }

  /// Drops entries with index <= i whose term matches what the caller moved elsewhere
  /// (`term_of(index)` returns the term now stored in segments, if any). Stops at the
  /// first entry that differs: a newer overwrite must stay readable from memory.
  template <class TermOf>
  void release_through(index_t i, TermOf term_of) {
    while (!empty() && entries_[head_].index <= i) {
      auto t = term_of(entries_[head_].index);
      if (!t || *t != entries_[head_].term) break;
      pop_front();
    }
    after_pops();
  }

  /// Drops entries with index <= i unconditionally (they are covered by a snapshot).
  void drop_through(index_t i) {
    while (!empty() && entries_[head_].index <= i) pop_front();
    after_pops();
  }

  void clear() {
    std::vector<log_entry>{}.swap(entries_);  // gives the memory back
    head_ = 0;
    payload_bytes_ = 0;
  }

 private:
  void pop_front() {
    payload_bytes_ -= entries_[head_].payload.size();
    entries_[head_].payload = {};  // free the payload now, not at the next compaction
    ++head_;
  }
  void after_pops() {
    if (empty())
      clear();
    else if (head_ >= 64 && head_ * 2 >= entries_.size())
      compact();
  }
  /// Moves the live entries to the front (amortised: only once the dead prefix is at
  /// least as large as the live part).
  void compact() {
    if (head_ == 0) return;
    entries_.erase(entries_.begin(), entries_.begin() + static_cast<std::ptrdiff_t>(head_));
    head_ = 0;
  }

  std::vector<log_entry> entries_;
  size_t head_ = 0;
  uint64_t payload_bytes_ = 0;  ///< sum of the live entries' payload sizes
};

}  // namespace ra::storage
