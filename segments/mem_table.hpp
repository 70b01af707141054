#pragma once
// A server's in-memory table of log entries that are not (yet) in its segment files:
// everything appended since the last segment flush, durable or not. Reads hit it first.
//
// Entries are contiguous by index. An append that starts at or below the last index
// overwrites: the table keeps the entries below the new first index and drops the rest,
// so older data is never modified in place.

#include <deque>
#include <optional>
#include <vector>

#include "libra/log_entry.hpp"

namespace ra::storage {

class mem_table {
 public:
  bool empty() const { return entries_.empty(); }
  size_t size() const { return entries_.size(); }
  /// First and last index held (0 when empty).
  index_t first_index() const { return empty() ? index_t{0} : entries_.front().index; }
  index_t last_index() const { return empty() ? index_t{0} : entries_.back().index; }

  const log_entry* find(index_t i) const {
    if (empty() || i < first_index() || i > last_index()) return nullptr;
    return &entries_[i - first_index()];
  }

  /// Appends entries (contiguous). If they start inside the table, the table is cut
  /// there first; if they start after last_index() + 1 (e.g. after a snapshot install),
  /// the table is cleared first.
  void append(std::vector<log_entry> entries) {
    if (entries.empty()) return;
    auto first = entries.front().index;
    if (!empty() && (first <= last_index() || first > last_index() + 1)) truncate_from(first);
    for (auto& e : entries) entries_.push_back(std::move(e));
  }

  /// Drops entries with index >= i.
  void truncate_from(index_t i) {
    while (!empty() && entries_.back().index >= i) entries_.pop_back();
  }

  /// Drops entries with index <= i whose term matches what the caller moved elsewhere
  /// (`term_of(index)` returns the term now stored in segments, if any). Stops at the
  /// first entry that differs: a newer overwrite must stay readable from memory.
  template <class TermOf>
  void release_through(index_t i, TermOf term_of) {
    while (!empty() && entries_.front().index <= i) {
      auto t = term_of(entries_.front().index);
      if (!t || *t != entries_.front().term) break;
      entries_.pop_front();
    }
  }

  /// Drops entries with index <= i unconditionally (they are covered by a snapshot).
  void drop_through(index_t i) {
    while (!empty() && entries_.front().index <= i) entries_.pop_front();
  }

  void clear() { entries_.clear(); }

 private:
  std::deque<log_entry> entries_;
};

}  // namespace ra::storage
