#pragma once
// A small LRU of open segment readers (Ra caches segment fds the same way). Opening a
// segment reads and checks its whole index, so readers are kept open for the files
// being read; past `capacity` the least recently used one is closed, which bounds the
// file descriptors a server holds however many segments it has.

#include <cstddef>
#include <list>
#include <string>

#include "segments/segment_file.hpp"

namespace ra::storage {

inline constexpr size_t default_max_open_segments = 4;

class segment_cache {
 public:
  /// `capacity` must be at least 1.
  explicit segment_cache(file_system& fs, size_t capacity = default_max_open_segments);

  /// The reader of the segment at `path`, opened if needed (closing the least recently
  /// used one when full). The pointer stays valid until the next get(), evict() or clear().
  io_result<const segment_reader*> get(const std::string& path);
  /// Closes the reader of `path` if open (before the file is deleted or replaced).
  void evict(const std::string& path);
  void clear() { readers_.clear(); }

  size_t open_count() const { return readers_.size(); }
  size_t capacity() const { return capacity_; }

 private:
  struct cached_reader {
    std::string path;
    segment_reader reader;
  };

  file_system& fs_;
  size_t capacity_;
  /// Most recently used first. A list so moving an element to the front keeps the
  /// returned pointers valid; a linear search is the fastest lookup at this size.
  std::list<cached_reader> readers_;
};

}  // namespace ra::storage
