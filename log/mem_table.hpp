#pragma once
// A server's in-memory table of log entries that are not (yet) in its segment files:
// everything appended since the last segment flush, durable or not. Reads hit it first.
//
// Entries are contiguous by index. An append that starts at or below the last index
// overwrites: the table keeps the entries below the new first index and drops the rest,
// so older data is never modified in place.

#include <algorithm>
#include <cstddef>
#include <iterator>
#include <optional>
#include <vector>

#include "ra/log_entry.hpp"

namespace ra::storage {

/// Storage: chunks of entries, each a vector that never grows past its reserved capacity.
/// A growing table adds a chunk instead of reallocating: one vector that doubles moves
/// every entry it holds and, past malloc's mmap threshold, faults in fresh pages each
/// time (B's profile: a sixth of the process's CPU in mem_table::append, most of it page
/// faults). Chunks stay at most max_chunk entries (48 KiB), so they come from and go
/// back to malloc's free lists. The live part starts at head_ in the first chunk, so
/// dropping from the front is O(1). Not a std::deque: a deque allocates ~576 bytes even
/// when empty, and a node holds thousands of idle servers whose tables are empty or
/// tiny. An empty table owns no heap memory (it is released whenever the table empties).
class mem_table {
 public:
  /// The largest chunk the table allocates (a first chunk taken over from append may be larger).
  static constexpr size_t max_chunk = 1024;

  bool empty() const { return chunks_.empty(); }
  size_t size() const {
    size_t n = 0;
    for (const auto& c : chunks_) n += c.size();
    return n - head_;
  }
  /// First and last index held (0 when empty).
  index_t first_index() const { return empty() ? index_t{0} : chunks_.front()[head_].index; }
  index_t last_index() const { return empty() ? index_t{0} : chunks_.back().back().index; }
  /// Heap bytes held: the entry slots (capacity) plus the live entries' payloads (a
  /// payload shared with another holder is counted here too).
  uint64_t memory_bytes() const { return uint64_t{slots_} * sizeof(log_entry) + payload_bytes_; }

  const log_entry* find(index_t i) const {
    if (empty() || i < first_index() || i > last_index()) return nullptr;
    // Most reads are of recent entries (replication, apply): the last chunk first.
    const auto& last = chunks_.back();
    if (i >= last.front().index) return &last[i - last.front().index];
    // Otherwise the chunk holding i: the last whose first entry is at or below i.
    auto it = std::upper_bound(chunks_.begin(), chunks_.end() - 1, i,
                               [](index_t x, const chunk& c) { return x < c.front().index; });
    const auto& c = *(it - 1);
    return &c[i - c.front().index];
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
    if (empty()) {  // the common first append: the vector becomes the first chunk, no copy
      slots_ += static_cast<uint32_t>(entries.capacity());
      chunks_.push_back(std::move(entries));
      head_ = 0;
      return;
    }
    for (auto& e : entries) {
      if (chunks_.back().size() == chunks_.back().capacity()) add_chunk();
      chunks_.back().push_back(std::move(e));
    }
  }

  /// Drops entries with index >= i.
  void truncate_from(index_t i) {
    while (!empty() && last_index() >= i) {
      auto& last = chunks_.back();
      payload_bytes_ -= last.back().payload.size();
      last.pop_back();
      if (last.size() == (chunks_.size() == 1 ? head_ : 0)) drop_chunk_back();
    }
    if (empty()) clear();
  }

  /// Drops entries with index <= i whose term matches what the caller moved elsewhere
  /// (`term_of(index)` returns the term now stored in segments, if any). Stops at the
  /// first entry that differs: a newer overwrite must stay readable from memory.
  template <class TermOf>
  void release_through(index_t i, TermOf term_of) {
    while (!empty() && first_index() <= i) {
      auto& e = chunks_.front()[head_];
      auto t = term_of(e.index);
      if (!t || *t != e.term) break;
      pop_front();
    }
    if (empty()) clear();
  }

  /// Drops entries with index <= i unconditionally (they are covered by a snapshot).
  void drop_through(index_t i) {
    while (!empty() && first_index() <= i) pop_front();
    if (empty()) clear();
  }

  void clear() {
    std::vector<chunk>{}.swap(chunks_);  // gives the memory back
    head_ = 0;
    slots_ = 0;
    payload_bytes_ = 0;
  }

 private:
  using chunk = std::vector<log_entry>;

  void add_chunk() {
    // Twice the last chunk (doubling, as a vector would, while the table is small), at
    // most max_chunk: a table that grows entry by entry on an idle server stays small.
    const size_t cap = std::clamp<size_t>(2 * chunks_.back().capacity(), 8, max_chunk);
    chunk c;
    c.reserve(cap);
    slots_ += static_cast<uint32_t>(c.capacity());
    chunks_.push_back(std::move(c));
  }
  void drop_chunk_back() {
    slots_ -= static_cast<uint32_t>(chunks_.back().capacity());
    chunks_.pop_back();
    if (chunks_.empty()) head_ = 0;
  }
  void pop_front() {
    auto& front = chunks_.front();
    payload_bytes_ -= front[head_].payload.size();
    front[head_].payload = {};  // free the payload now, not with its chunk
    ++head_;
    if (head_ == front.size()) {  // the chunk is done: free it
      slots_ -= static_cast<uint32_t>(front.capacity());
      chunks_.erase(chunks_.begin());
      head_ = 0;
    }
  }

  std::vector<chunk> chunks_;
  // 32 bits each (a chunk or a table of 4 billion entries is out of reach): the table
  // stays five words with the slot count that makes memory_bytes() O(1) for a scrape.
  uint32_t head_ = 0;   ///< first live entry of chunks_.front()
  uint32_t slots_ = 0;  ///< sum of the chunks' capacities
  uint64_t payload_bytes_ = 0;  ///< sum of the live entries' payload sizes
};

}  // namespace ra::storage
