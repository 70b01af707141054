// The WAL writer: batching, gap detection, failure handling, roll-over and recovery.
// See wal_writer.hpp for the contract and docs/storage-format.md for the file layout.

#include "wal/wal_writer.hpp"

#include <algorithm>
#include <charconv>
#include <cstdio>
#include <stdexcept>

#include "io/atomic_write.hpp"
#include "wal/wal_format.hpp"

namespace ra::storage {

namespace fmt = wal_format;

namespace {

constexpr std::string_view wal_suffix = ".wal";
constexpr std::string_view tmp_suffix = ".wal.tmp";
constexpr size_t number_digits = 16;

bool ends_with(std::string_view s, std::string_view suffix) {
  return s.size() >= suffix.size() && s.substr(s.size() - suffix.size()) == suffix;
}

/// The number of a "%016llu.wal" file name; empty for any other name.
std::optional<uint64_t> wal_file_number(std::string_view name) {
  if (name.size() != number_digits + wal_suffix.size() || !ends_with(name, wal_suffix))
    return std::nullopt;
  uint64_t number = 0;
  auto [end, ec] = std::from_chars(name.data(), name.data() + number_digits, number);
  if (ec != std::errc{} || end != name.data() + number_digits)
    return std::nullopt;
  return number;
}

wal_config normalized(wal_config c) {
  c.wal_max_size_bytes = std::max(c.wal_max_size_bytes, wal_min_size_bytes);
  c.wal_max_batch_size = std::max<size_t>(c.wal_max_batch_size, 1);
  c.wal_max_batch_bytes = std::max<uint64_t>(c.wal_max_batch_bytes, 1);
  return c;
}

/// Applies one recovered entry to a writer's contiguous run of entries.
/// Returns false for a gap that no truncate flag explains.
/// The first and last index of a writer's recovered run (what the recovery rules need).
struct run_bounds {
  index_t front{0};
  index_t last{0};
  bool empty = true;
};

/// Applies one WAL record to a writer's recovered run: overwrites cut the run back, a
/// gap is an error unless the record starts a fresh log. `run` (may be null: bounds
/// only) holds the entries themselves.
bool apply_recovered(run_bounds& b, std::vector<log_entry>* run, const log_entry& entry, bool truncate) {
  if (!b.empty) {
    if (entry.index <= b.last) {
      // An overwrite. Unflagged ones come from a batch rewritten after a failed flush
      // whose first attempt reached the disk anyway: the same data again.
      if (entry.index <= b.front) {
        b.empty = true;
        if (run) run->clear();
      } else if (run) {
        run->resize(entry.index - b.front);
      }
    } else if (entry.index.value > b.last.value + 1) {
      if (!truncate)
        return false;
      b.empty = true;  // a fresh log after a snapshot: the older entries are below it
      if (run) run->clear();
    }
  }
  if (b.empty) {
    b.front = entry.index;
    b.empty = false;
  }
  b.last = entry.index;
  if (run) run->push_back(entry);
  return true;
}

void widen_range(std::map<std::string, writer_range>& ranges, const std::string& writer,
                 index_t first, index_t last) {
  auto [it, inserted] = ranges.try_emplace(writer, writer_range{writer, first, last});
  if (!inserted) {
    it->second.first = std::min(it->second.first, first);
    it->second.last = last;
  }
}

std::vector<writer_range> ranges_of(const std::map<std::string, writer_range>& ranges) {
  std::vector<writer_range> out;
  out.reserve(ranges.size());
  for (const auto& [writer, range] : ranges)
    out.push_back(range);
  return out;
}

}  // namespace

io_result<std::vector<log_entry>> read_writer_entries(file_system& fs, const std::string& wal_dir,
                                                      const std::string& uid) {
  auto names = fs.list(wal_dir);
  if (!names) return names.error();
  std::vector<std::pair<uint64_t, std::string>> files;
  for (auto& name : *names)
    if (auto n = wal_file_number(name)) files.emplace_back(*n, wal_dir + "/" + name);
  std::sort(files.begin(), files.end());
  std::vector<log_entry> run;
  run_bounds bounds;
  for (auto& [number, path] : files) {
    wal_reader reader{fs, path};
    auto step = reader.next();
    for (; step == wal_reader::step::record; step = reader.next()) {
      const auto& rec = reader.record();
      if (rec.writer_uid != uid) continue;
      if (!apply_recovered(bounds, &run, rec.entry, rec.truncate))
        return io_error{EILSEQ, "read", path + ": gap in the entries of " + uid};
    }
    if (step == wal_reader::step::error && fs.exists(path)) return io_error{EILSEQ, "read", reader.error().message()};
  }
  return run;
}

wal_writer::wal_writer(wal_config config, rollover_callback on_rollover)
  : config_(normalized(std::move(config))),
    fs_(config_.fs ? *config_.fs : file_system::posix()),
    on_rollover_(std::move(on_rollover)),
    strategy_(config_.wal_write_strategy) {}

void wal_metrics_block::publish(const wal_writer_stats& s) {
  constexpr auto o = std::memory_order_relaxed;
  batches.store(s.batches, o);
  syncs.store(s.syncs, o);
  entries.store(s.entries, o);
  bytes.store(s.bytes, o);
  rollovers.store(s.rollovers, o);
  failed_flushes.store(s.failed_flushes, o);
  slow_syncs.store(s.slow_syncs, o);
  sync_latency_ns_sum.store(s.sync_latency_ns_sum, o);
  for (size_t i = 0; i < s.sync_latency_counts.size(); ++i) sync_latency_counts[i].store(s.sync_latency_counts[i], o);
}

ra::wal_metrics_snapshot wal_metrics_block::read() const {
  constexpr auto o = std::memory_order_relaxed;
  ra::wal_metrics_snapshot s;
  s.batches = batches.load(o);
  s.syncs = syncs.load(o);
  s.entries = entries.load(o);
  s.bytes = bytes.load(o);
  s.rollovers = rollovers.load(o);
  s.failed_flushes = failed_flushes.load(o);
  s.slow_syncs = slow_syncs.load(o);
  s.sync_latency_ns_sum = sync_latency_ns_sum.load(o);
  for (size_t i = 0; i < s.sync_latency_counts.size(); ++i) s.sync_latency_counts[i] = sync_latency_counts[i].load(o);
  return s;
}

void wal_writer::record_sync(std::chrono::steady_clock::duration took, size_t batch_bytes) {
  const double seconds = std::chrono::duration<double>(took).count();
  const auto bucket = std::lower_bound(ra::wal_sync_latency_bounds.begin(), ra::wal_sync_latency_bounds.end(), seconds);
  ++stats_.sync_latency_counts[static_cast<size_t>(bucket - ra::wal_sync_latency_bounds.begin())];
  stats_.sync_latency_ns_sum += static_cast<uint64_t>(std::chrono::nanoseconds(took).count());
  const auto threshold = config_.wal_slow_sync_threshold;
  if (threshold.count() > 0 && took >= threshold) {
    ++stats_.slow_syncs;
    ++unreported_slow_syncs_;
    if (took > worst_unreported_) {
      worst_unreported_ = took;
      worst_unreported_bytes_ = batch_bytes;
    }
  }
  const auto now = std::chrono::steady_clock::now();
  if (unreported_slow_syncs_ > 0 && (!last_slow_report_ || now - *last_slow_report_ >= slow_sync_report_interval)) {
    using ms = std::chrono::duration<double, std::milli>;
    char text[256];
    std::snprintf(text, sizeof text,
                  "wal: slow sync: %llu batch(es) over %.0f ms since the last report; slowest %.1f ms for %zu bytes "
                  "(%llu slow of %llu batches in all)",
                  static_cast<unsigned long long>(unreported_slow_syncs_), ms(threshold).count(),
                  ms(worst_unreported_).count(), worst_unreported_bytes_,
                  static_cast<unsigned long long>(stats_.slow_syncs), static_cast<unsigned long long>(stats_.batches));
    notice(text);
    unreported_slow_syncs_ = 0;
    worst_unreported_ = {};
    last_slow_report_ = now;
  }
  published_->publish(stats_);
}

void wal_writer::notice(const std::string& text) const {
  if (config_.on_notice)
    config_.on_notice(text);
}

std::string wal_writer::file_path(uint64_t number) const {
  char name[number_digits + 8];
  std::snprintf(name, sizeof name, "%016llu", static_cast<unsigned long long>(number));
  return config_.wal_data_dir + "/" + name + std::string(wal_suffix);
}

io_result<uint64_t> wal_writer::highest_file_number() {
  auto names = fs_.list(config_.wal_data_dir);
  if (!names)
    return names.error();
  uint64_t highest = 0;
  for (const auto& name : *names) {
    if (auto n = wal_file_number(name))
      highest = std::max(highest, *n);
    else if (ends_with(name, tmp_suffix))
      (void)fs_.remove(config_.wal_data_dir + "/" + name);  // a creation a crash interrupted; best effort
  }
  return highest;
}

io_result<std::unique_ptr<file>> wal_writer::create_file(uint64_t number) {
  const std::string path = file_path(number);
  // Header first, written atomically, so an empty or headerless WAL never appears.
  std::vector<char> header;
  fmt::append_file_header(header);
  if (auto st = write_file_atomically(fs_, path, header, config_.wal_sync_method); !st)
    return st.error();
  if (strategy_ == write_strategy::o_sync) {
    auto f = fs_.open(path, {open_mode::read_write, true});
    if (f || f.error().code != EINVAL)
      return f;
    strategy_ = write_strategy::default_strategy;
    notice("wal: " + f.error().message() + " with O_DSYNC; falling back to write + " +
           (config_.wal_sync_method == sync_method::sync ? "fsync" : "fdatasync"));
  }
  return fs_.open(path, {open_mode::read_write});
}

io_status wal_writer::lock_directory() {
  if (dir_lock_ || !config_.lock_directory)
    return {};
  auto locked = directory_lock::acquire(config_.wal_data_dir);
  if (!locked)
    return locked.error();
  dir_lock_ = std::move(*locked);
  return {};
}

io_status wal_writer::start() {
  if (file_)
    return {};
  if (auto st = fs_.create_directories(config_.wal_data_dir); !st)
    return st.error();
  if (auto locked = lock_directory(); !locked)
    return locked.error();
  if (!next_file_number_) {
    auto highest = highest_file_number();
    if (!highest)
      return highest.error();
    next_file_number_ = *highest + 1;
  }
  auto f = create_file(*next_file_number_);
  if (!f)
    return f.error();
  file_ = std::move(*f);
  file_number_ = *next_file_number_;
  next_file_number_ = file_number_ + 1;
  path_ = file_path(file_number_);
  durable_size_ = fmt::file_header_size;
  file_entries_ = 0;
  must_truncate_ = false;
  return {};
}

uint32_t wal_writer::writer_ref(const std::string& writer) {
  auto [it, inserted] = file_refs_.try_emplace(writer, static_cast<uint32_t>(file_refs_.size()));
  if (inserted)
    fmt::append_writer_declaration(batch_, it->second, writer);
  return it->second;
}

queue_result wal_writer::queue(const std::string& writer, std::span<const log_entry> entries,
                               bool starts_new_log) {
  if (entries.empty())
    return {};
  for (size_t i = 1; i < entries.size(); ++i) {
    if (entries[i].index.value != entries[0].index.value + i)
      throw std::invalid_argument("wal: entries of one append must have contiguous indexes");
  }
  if (writer.empty() || writer.size() > fmt::max_writer_uid_size)
    throw std::invalid_argument("wal: writer uid must be 1 to 1024 bytes");
  const index_t first = entries.front().index;
  const index_t last = entries.back().index;

  bool truncate = starts_new_log;
  if (auto known = sequences_.find(writer); known != sequences_.end() && !starts_new_log) {
    writer_sequence& seq = known->second;
    if (first.value > seq.last.value + 1) {
      const index_t from = seq.last + 1;
      if (seq.out_of_seq)
        return {queue_status::dropped, from};
      seq.out_of_seq = true;
      return {queue_status::resend, from};
    }
    truncate = first <= seq.last;
  }
  sequences_[writer] = writer_sequence{last, false};

  if (batch_.empty())
    fmt::begin_batch(batch_);  // its length is set when the batch is flushed
  const uint32_t ref = writer_ref(writer);
  for (size_t i = 0; i < entries.size(); ++i)
    fmt::append_entry(batch_, ref, entries[i], truncate && i == 0, config_.wal_compute_checksums);
  batch_entries_ += entries.size();

  auto [pending, inserted] =
    batch_writers_.try_emplace(writer, pending_writer{first, last, entries.back().term});
  if (!inserted) {
    pending->second.first = std::min(pending->second.first, first);
    pending->second.last = last;
    pending->second.term = entries.back().term;
  }
  return {};
}

flush_result wal_writer::fail_batch(io_error error) {
  ++stats_.failed_flushes;
  published_->publish(stats_);
  flush_result result;
  for (const auto& [writer, pending] : batch_writers_)
    result.failed_writers.push_back(writer);
  std::sort(result.failed_writers.begin(), result.failed_writers.end());
  result.error = std::move(error);
  return result;
}

flush_result wal_writer::flush() {
  if (batch_.empty())
    return {};
  if (!file_) {
    if (auto st = start(); !st)
      return fail_batch(std::move(st).error());
  }
  if (must_truncate_) {
    if (auto st = file_->truncate(durable_size_); !st)
      return fail_batch(st.error());
    must_truncate_ = false;
  }
  fmt::finish_batch(batch_, 0);  // again after a failure: the kept batch may have grown
  // From here on the file may hold bytes past durable_size_ until the batch is durable.
  must_truncate_ = true;
  const auto write_started = std::chrono::steady_clock::now();
  if (auto st = file_->write(batch_); !st) {
    if (file_->truncate(durable_size_))  // best effort; retried before the next write
      must_truncate_ = false;
    return fail_batch(st.error());
  }
  if (strategy_ == write_strategy::default_strategy &&
      config_.wal_sync_method != sync_method::none) {
    ++stats_.syncs;
    if (auto st = file_->sync(config_.wal_sync_method); !st) {
      // After a failed fsync the kernel may have dropped the batch's pages: cut them off
      // so the retry writes them again as new dirty pages.
      if (file_->truncate(durable_size_))
        must_truncate_ = false;
      return fail_batch(st.error());
    }
  }
  must_truncate_ = false;
  durable_size_ += batch_.size();
  file_entries_ += batch_entries_;
  ++stats_.batches;
  stats_.entries += batch_entries_;
  stats_.bytes += batch_.size();
  record_sync(std::chrono::steady_clock::now() - write_started, batch_.size());

  flush_result result;
  result.written.reserve(batch_writers_.size());
  for (const auto& [writer, pending] : batch_writers_) {
    widen_range(file_ranges_, writer, pending.first, pending.last);
    result.written.push_back(writer_written{writer, pending.last, pending.term});
  }
  batch_.clear();  // keeps its capacity for the next batch
  batch_entries_ = 0;
  batch_writers_.clear();

  if (durable_size_ > config_.wal_max_size_bytes ||
      (config_.wal_max_entries != 0 && file_entries_ > config_.wal_max_entries))
    roll_over();
  return result;
}

void wal_writer::roll_over() {
  // The next file exists (durably) before the current one is given up, so a failure
  // here leaves the writer on the current file; the next batch tries again.
  auto next = create_file(file_number_ + 1);
  if (!next) {
    notice("wal: roll-over failed, staying on " + path_ + ": " + next.error().message());
    return;
  }
  rollover_info closed{path_, ranges_of(file_ranges_)};
  file_ = std::move(*next);  // the old file was synced with its last batch
  ++file_number_;
  next_file_number_ = file_number_ + 1;
  path_ = file_path(file_number_);
  durable_size_ = fmt::file_header_size;
  file_entries_ = 0;
  file_refs_.clear();
  file_ranges_.clear();
  ++stats_.rollovers;
  published_->publish(stats_);
  if (on_rollover_)
    on_rollover_(std::move(closed));
}

ra::expected<void, wal_error> wal_writer::recover(wal_recovery& out, bool collect_entries) {
  out = wal_recovery{};
  if (file_)  // it would read the file it is writing, and renumber the next one
    return wal_error{path_, 0, "wal recovery must run before the writer starts"};
  if (!fs_.exists(config_.wal_data_dir)) {
    next_file_number_ = 1;
    return {};
  }
  if (auto locked = lock_directory(); !locked) {
    const auto& e = locked.error();
    return wal_error{config_.wal_data_dir, 0, e.message(), directory_lock::is_held_elsewhere(e)};
  }
  auto names = fs_.list(config_.wal_data_dir);
  if (!names)
    return wal_error{config_.wal_data_dir, 0, names.error().message()};
  std::vector<std::pair<uint64_t, std::string>> files;
  for (const auto& name : *names) {
    if (auto n = wal_file_number(name))
      files.emplace_back(*n, config_.wal_data_dir + "/" + name);
    else if (ends_with(name, tmp_suffix))
      (void)fs_.remove(config_.wal_data_dir + "/" + name);  // best effort, as above
  }
  std::sort(files.begin(), files.end());

  std::map<std::string, run_bounds> bounds;
  for (size_t i = 0; i < files.size(); ++i) {
    const std::string& path = files[i].second;
    std::map<std::string, writer_range> ranges;
    wal_reader reader{fs_, path};
    auto step = reader.next();
    for (; step == wal_reader::step::record; step = reader.next()) {
      const wal_record& rec = reader.record();
      std::string writer{rec.writer_uid};
      const index_t index = rec.entry.index;
      auto& b = bounds[writer];
      const index_t before = b.empty ? index_t{0} : b.last;
      if (!apply_recovered(b, collect_entries ? &out.entries[writer] : nullptr, rec.entry, rec.truncate))
        return wal_error{path, rec.offset,
                         "gap in writer " + writer + ": index " + std::to_string(index.value) +
                           " follows " + std::to_string(before.value)};
      widen_range(ranges, writer, index, index);
    }
    if (step == wal_reader::step::error)
      return reader.error();
    if (step == wal_reader::step::torn_tail) {
      // The writer rolls over only after a synced batch: a closed file never ends torn,
      // so a damaged end there is damage to acknowledged entries, not a crash.
      if (i + 1 != files.size())
        return wal_error{path, reader.torn_tail_offset(),
                         "damaged record in a closed WAL file (acknowledged entries)"};
      out.torn_tails.emplace_back(path, reader.torn_tail_offset());
      {
        auto f = fs_.open(path, {open_mode::read_write});
        if (!f)
          return wal_error{path, reader.torn_tail_offset(), f.error().message()};
        if (auto st = (*f)->truncate(reader.torn_tail_offset()); !st)
          return wal_error{path, reader.torn_tail_offset(), st.error().message()};
        if (auto st = (*f)->sync(sync_method::datasync); !st)
          return wal_error{path, reader.torn_tail_offset(), st.error().message()};
      }
    }
    out.files.push_back(rollover_info{path, ranges_of(ranges)});
  }
  for (const auto& [writer, b] : bounds)
    if (!b.empty) sequences_[writer] = writer_sequence{b.last, false};
  next_file_number_ = files.empty() ? 1 : files.back().first + 1;
  return {};
}

}  // namespace ra::storage
