#include "segments/segment_set.hpp"

#include <algorithm>
#include <cerrno>
#include <stdexcept>

namespace ra::storage {

namespace {

constexpr std::string_view tmp_suffix = ".tmp";

/// The segment number of "<n>.segment.tmp", if `name` is one.
std::optional<uint64_t> parse_tmp_segment_name(const std::string& name) {
  if (!name.ends_with(tmp_suffix)) return std::nullopt;
  return parse_segment_file_name(name.substr(0, name.size() - tmp_suffix.size()));
}

io_result<uint64_t> next_segment_number(file_system& fs, const std::string& dir) {
  auto names = fs.list(dir);
  if (!names) return names.error();
  uint64_t next = 1;
  for (auto& name : *names) {
    auto n = parse_segment_file_name(name);
    if (!n) n = parse_tmp_segment_name(name);
    if (n) next = std::max(next, *n + 1);
  }
  return next;
}

/// Closes `writer`, renames its ".tmp" file to `final_name` and records the result.
io_status finish_segment(file_system& fs, const std::string& dir, segment_writer_file& writer,
                         const std::string& final_name, std::vector<segment_ref>& made) {
  auto range = writer.range();
  if (auto r = writer.close(); !r) return r;
  if (auto r = fs.rename(writer.path(), dir + "/" + final_name); !r) return r;
  made.push_back(segment_ref{final_name, *range, writer.terms()});
  return io_ok();
}

}  // namespace

io_result<std::vector<segment_ref>> write_segments(file_system& fs, const std::string& dir,
                                                   std::span<const log_entry> entries, const segment_config& config) {
  std::vector<segment_ref> made;
  if (entries.empty()) return made;
  // The directory must exist (segment_set::open or the server's start made it): the
  // segment writer must not recreate a server directory that a deletion just moved to
  // its tombstone (review F12).
  auto number = next_segment_number(fs, dir);
  if (!number) return number.error();

  std::optional<segment_writer_file> writer;
  std::string final_name;
  auto fail = [&](io_error e) -> io_result<std::vector<segment_ref>> {
    if (writer) {
      auto tmp = writer->path();
      writer.reset();
      (void)fs.remove(tmp);  // best effort: segment_set::open removes leftovers anyway
    }
    return e;
  };
  for (size_t i = 0; i < entries.size();) {
    if (!writer) {
      final_name = segment_file_name((*number)++);
      auto created = segment_writer_file::create(fs, dir + "/" + final_name + std::string{tmp_suffix}, config);
      if (!created) return fail(created.error());
      writer.emplace(std::move(*created));
    }
    auto appended = writer->append(entries[i]);
    if (!appended) return fail(appended.error());
    if (*appended == segment_writer_file::append_result::appended) {
      ++i;
      continue;
    }
    // Full or not contiguous: this file is done, the entry goes to the next one. A
    // fresh file always takes the entry, so this cannot loop.
    if (auto r = finish_segment(fs, dir, *writer, final_name, made); !r) return fail(r.error());
    writer.reset();
  }
  if (auto r = finish_segment(fs, dir, *writer, final_name, made); !r) return fail(r.error());
  writer.reset();
  if (auto r = fs.sync_directory(dir); !r) return r.error();
  return made;
}

segment_set::segment_set(file_system& fs, std::string dir, size_t max_open_segments)
  : fs_(&fs), dir_(std::move(dir)), cache_(fs, max_open_segments) {}

io_result<segment_set> segment_set::open(file_system& fs, std::string dir, size_t max_open_segments) {
  if (auto r = fs.create_directories(dir); !r) return r.error();
  auto names = fs.list(dir);
  if (!names) return names.error();
  segment_set set{fs, std::move(dir), max_open_segments};
  bool removed_leftovers = false;
  for (auto& name : *names) {
    if (parse_tmp_segment_name(name)) {
      // An interrupted write_segments: the WAL still holds these entries.
      if (auto r = fs.remove(set.path_of(name)); !r) return r.error();
      removed_leftovers = true;
      continue;
    }
    auto number = parse_segment_file_name(name);
    if (!number) continue;
    // Opened directly, not through the cache: startup reads every index once, and a
    // cache of all of them would hold one fd per segment.
    auto reader = segment_reader::open(fs, set.path_of(name));
    if (!reader) return reader.error();
    if (auto range = reader->range())
      set.segments_.push_back(tracked_segment{*number, name, *range, range, reader->terms()});
  }
  if (removed_leftovers) {
    if (auto r = fs.sync_directory(set.dir_); !r) return r.error();
  }
  std::sort(set.segments_.begin(), set.segments_.end(),
            [](const tracked_segment& a, const tracked_segment& b) { return a.number < b.number; });
  set.recompute_effective_ranges();
  return set;
}

void segment_set::recompute_effective_ranges() {
  // Newest to oldest, cutting each file below the lowest first index of all newer ones.
  std::optional<index_t> lowest_newer_first;
  for (auto it = segments_.rbegin(); it != segments_.rend(); ++it) {
    index_range r = it->own_range;
    if (lowest_newer_first && r.last >= *lowest_newer_first) r.last = *lowest_newer_first - 1;
    it->effective = r.last >= r.first ? std::optional{r} : std::nullopt;
    lowest_newer_first = lowest_newer_first ? std::min(*lowest_newer_first, it->own_range.first) : it->own_range.first;
  }
  live_.clear();
  live_pos_.clear();
  for (size_t k = 0; k < segments_.size(); ++k) {
    auto& s = segments_[k];
    if (!s.effective) continue;
    live_.push_back(segment_ref{s.file_name, *s.effective, {}});
    live_pos_.push_back(k);
  }
}

std::optional<index_range> segment_set::range() const {
  if (live_.empty()) return std::nullopt;
  return index_range{live_.front().range.first, live_.back().range.last};
}

const segment_ref* segment_set::holder_of(index_t i) const {
  auto it = std::lower_bound(live_.begin(), live_.end(), i,
                             [](const segment_ref& s, index_t x) { return s.range.last < x; });
  return it != live_.end() && it->range.contains(i) ? &*it : nullptr;
}

std::optional<segment_ref> segment_set::find(index_t i) const {
  auto s = holder_of(i);
  if (!s) return std::nullopt;
  return *s;
}

io_result<std::optional<term_t>> segment_set::term_at(index_t i) {
  auto s = holder_of(i);
  if (!s) return std::optional<term_t>{};
  auto& tracked = segments_[live_pos_[static_cast<size_t>(s - live_.data())]];
  if (!tracked.terms.empty()) return term_in_runs(tracked.terms, i);
  // Terms unknown (the file could not be read when added): ask the file.
  auto reader = cache_.get(path_of(s->file_name));
  if (!reader) return reader.error();
  return (*reader)->term_at(i);
}

io_result<std::optional<log_entry>> segment_set::read(index_t i) {
  std::vector<log_entry> out;
  if (auto r = read_range(i, i, 1, out); !r) return r.error();
  if (out.empty()) return std::optional<log_entry>{};
  return std::optional<log_entry>{std::move(out.front())};
}

io_status segment_set::read_range(index_t from, index_t to, size_t max_count, std::vector<log_entry>& out) {
  index_t next = from;
  size_t added = 0;
  while (next <= to && added < max_count) {
    auto s = holder_of(next);
    if (!s) break;  // a hole, or past the end
    auto reader = cache_.get(path_of(s->file_name));
    if (!reader) return reader.error();
    auto last = std::min(to, s->range.last);
    auto before = out.size();
    if (auto r = (*reader)->read_range(next, last, max_count - added, out); !r) return r;
    auto got = out.size() - before;
    // The file must still hold what the set learnt it holds: the caller counts on
    // consecutive indexes, and a file that changed under us is damage, not a hole.
    auto want = std::min<uint64_t>(last.value - next.value + 1, max_count - added);
    if (got != want || (got > 0 && out[before].index != next)) {
      out.resize(before);
      return io_error{EBADMSG, "segment index: no longer holds entries " + std::to_string(next.value) + ".." +
                                 std::to_string(last.value),
                      path_of(s->file_name)};
    }
    added += got;
    next = last + 1;
  }
  return io_ok();
}

io_status segment_set::add(std::span<const segment_ref> new_segments) {
  io_status result = io_ok();
  for (auto& ref : new_segments) {
    auto refuse = [&](const std::string& why) {
      result = io_error{EINVAL, "segment_set::add", path_of(ref.file_name) + " " + why};
    };
    auto number = parse_segment_file_name(ref.file_name);
    if (!number) {
      refuse("is not a segment file name");
      break;
    }
    if (!segments_.empty() && *number <= segments_.back().number) {
      auto known = std::find_if(segments_.begin(), segments_.end(),
                                [&](const tracked_segment& s) { return s.number == *number; });
      if (known != segments_.end() && known->own_range == ref.range)
        continue;  // told again about a file already learnt
      if (known == segments_.end() && !fs_->exists(path_of(ref.file_name)))
        continue;  // deleted meanwhile: covered by a snapshot
      refuse(known != segments_.end() ? "is known with a different range"
                                      : "is not newer than the existing segments");
      break;
    }
    auto terms = ref.terms;
    if (terms.empty()) {
      // A ref made by hand rather than by write_segments: learn the terms once now. A
      // file that cannot be read leaves them unknown; term_at then reads the file and
      // reports the error there, where the caller can act on it.
      if (auto reader = segment_reader::open(*fs_, path_of(ref.file_name)))
        if (reader->range() == std::optional{ref.range}) terms = reader->terms();
    }
    segments_.push_back(tracked_segment{*number, ref.file_name, ref.range, ref.range, std::move(terms)});
  }
  recompute_effective_ranges();
  return result;
}

io_result<std::vector<segment_ref>> segment_set::write(std::span<const log_entry> entries,
                                                       const segment_config& config) {
  auto made = write_segments(*fs_, dir_, entries, config);
  if (!made) return made;
  if (auto st = add(*made); !st) return st.error();
  return made;
}

io_result<std::vector<std::string>> segment_set::delete_up_to(index_t snapshot_index) {
  std::vector<std::string> deleted;
  io_status removed = io_ok();
  // Oldest first, so a crash part way leaves a prefix deleted: the effective ranges of
  // the files that remain do not change (they only depend on newer files).
  while (!segments_.empty()) {
    auto& oldest = segments_.front();
    bool obsolete = !oldest.effective || oldest.effective->last <= snapshot_index;
    if (!obsolete) break;
    auto path = path_of(oldest.file_name);
    cache_.evict(path);
    removed = fs_->remove(path);
    if (!removed) break;
    deleted.push_back(oldest.file_name);
    segments_.erase(segments_.begin());
  }
  recompute_effective_ranges();
  if (!removed) return removed.error();
  if (!deleted.empty()) {
    if (auto r = fs_->sync_directory(dir_); !r) return r.error();
  }
  return deleted;
}

}  // namespace ra::storage
