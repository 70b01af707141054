#include "segments/segment_cache.hpp"

#include <algorithm>
#include <stdexcept>

namespace ra::storage {

segment_cache::segment_cache(file_system& fs, size_t capacity) : fs_(fs), capacity_(capacity) {
  if (capacity_ == 0) throw std::invalid_argument("segment_cache: capacity must be at least 1");
}

io_result<const segment_reader*> segment_cache::get(const std::string& path) {
  auto it = std::find_if(readers_.begin(), readers_.end(), [&](const cached_reader& c) { return c.path == path; });
  if (it != readers_.end()) {
    readers_.splice(readers_.begin(), readers_, it);
    return &readers_.front().reader;
  }
  // Close first, so the number of open files never exceeds the capacity, even while
  // opening (a failed open then costs the evicted reader, which reopens on demand).
  while (readers_.size() >= capacity_) readers_.pop_back();
  auto opened = segment_reader::open(fs_, path);
  if (!opened) return opened.error();
  readers_.push_front(cached_reader{path, std::move(*opened)});
  return &readers_.front().reader;
}

void segment_cache::evict(const std::string& path) {
  readers_.remove_if([&](const cached_reader& c) { return c.path == path; });
}

}  // namespace ra::storage
