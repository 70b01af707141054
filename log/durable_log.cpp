#include "log/durable_log.hpp"

#include <algorithm>
#include <charconv>
#include <limits>
#include <stdexcept>

#include "io/atomic_write.hpp"

namespace ra::storage {

namespace {

constexpr const char* log_reset_file_name = "log_reset";

std::string log_reset_path(const std::string& dir) { return dir + "/" + log_reset_file_name; }

/// "<index> <term>\n" of the snapshot that discarded the log: written and synced before
/// that snapshot takes its name.
io_status write_log_reset(file_system& fs, const std::string& dir, const snapshot_meta& meta) {
  auto text = std::to_string(meta.index.value) + " " + std::to_string(meta.term.value) + "\n";
  return write_file_atomically(fs, log_reset_path(dir), std::span<const char>{text.data(), text.size()});
}

/// The snapshot index a log reset marker names, if there is one.
io_result<std::optional<index_t>> read_log_reset(file_system& fs, const std::string& dir) {
  auto path = log_reset_path(dir);
  if (!fs.exists(path)) return std::optional<index_t>{};
  auto bytes = read_file(fs, path);
  if (!bytes) return bytes.error();
  uint64_t index = 0;
  auto [end, ec] = std::from_chars(bytes->data(), bytes->data() + bytes->size(), index);
  if (ec != std::errc{} || end == bytes->data()) return io_error{EILSEQ, "recover", path + ": not a log reset marker"};
  return std::optional<index_t>{index_t{index}};
}

log_error unwritable(const io_error& e) { return log_error{log_error::kind::unwritable, e.message()}; }
log_error unreadable(const io_error& e) { return log_error{log_error::kind::unreadable, e.message()}; }

}  // namespace

durable_log::durable_log(file_system& fs, durable_log_config cfg, wal_sink& wal, segment_set segs)
  : fs_(fs), wal_(wal), uid_(std::move(cfg.uid)), snap_cfg_(cfg.snapshots), segs_(std::move(segs)) {}

const std::optional<io_error> durable_log::no_error_{};

durable_log::cold_state& durable_log::cold() const {
  if (!cold_) cold_ = std::make_unique<cold_state>();
  return *cold_;
}

void durable_log::set_snapshot(snapshot_ref ref, std::string path) {
  snapshot_ = std::make_unique<const current_snapshot>(current_snapshot{std::move(ref), std::move(path)});
}

const std::string& durable_log::snapshot_path() const {
  static const std::string none;
  return snapshot_ ? snapshot_->path : none;
}

io_result<std::unique_ptr<durable_log>> durable_log::open(file_system& fs, durable_log_config cfg, wal_sink& wal,
                                                          std::vector<log_entry> wal_entries,
                                                          std::vector<invalid_snapshot>* skipped) {
  if (auto st = fs.create_directories(cfg.dir); !st) return st.error();
  auto snap = load_latest_valid(fs, cfg.dir);
  if (!snap) return snap.error();
  if (skipped) *skipped = snap->skipped;
  auto segs = segment_set::open(fs, cfg.dir, cfg.max_open_segments);
  if (!segs) return segs.error();
  std::unique_ptr<durable_log> log{new durable_log(fs, std::move(cfg), wal, std::move(*segs))};
  if (snap->snapshot) {
    // Validated and then let go: the state is read again only to restore the machine.
    log->set_snapshot(snapshot_ref{snap->snapshot->meta, snap->snapshot->data.size()}, snap->path);
    snap->snapshot.reset();
  }
  if (auto st = log->recover_log_reset(wal_entries); !st) return st.error();
  auto snap_index = log->snapshot_index();

  // Entries the snapshot covers are not needed; the rest of the WAL's entries are newer
  // than (or overwrite) what the segments hold.
  std::erase_if(wal_entries, [&](const log_entry& e) { return e.index <= snap_index; });
  auto seg_range = log->segs_.range();
  index_t log_start = wal_entries.empty() ? index_t{0} : wal_entries.front().index;
  if (seg_range && seg_range->last > snap_index) log_start = std::max(snap_index + 1, seg_range->first);
  auto corrupt = [&](const std::string& why) {
    return io_error{EILSEQ, "recover", log->dir() + ": " + why};
  };
  // No hole between the snapshot and the first entry, nor between segments and WAL.
  if (log_start != index_t{0} && log_start > snap_index + 1)
    return corrupt("log starts at " + std::to_string(log_start.value) + " after snapshot " +
                   std::to_string(snap_index.value));
  index_t seg_last = seg_range && seg_range->last > snap_index ? seg_range->last : snap_index;
  if (!wal_entries.empty() && wal_entries.front().index > seg_last + 1)
    return corrupt("gap between segments (up to " + std::to_string(seg_last.value) + ") and WAL entries (from " +
                   std::to_string(wal_entries.front().index.value) + ")");
  log->last_index_ = wal_entries.empty() ? seg_last : wal_entries.back().index;
  log->mem_.append(std::move(wal_entries));
  // Everything found on disk is durable.
  log->written_ = log->last_index_;
  return log;
}

io_status durable_log::recover_log_reset(std::vector<log_entry>& wal_entries) {
  auto marker = read_log_reset(fs_, dir());
  if (!marker) return marker.error();
  if (!*marker) return io_ok();
  if (snapshot_index() < **marker) {
    // The crash came before the snapshot took its name: the install never happened and
    // the old log stands.
    return clear_log_reset();
  }
  // No entry of the new log was durable when we stopped (the marker goes as soon as one
  // is): every entry above the snapshot is either from the discarded log or one nobody
  // was told about. None may come back.
  wal_entries.clear();
  if (auto st = segs_.delete_up_to(index_t{std::numeric_limits<uint64_t>::max()}); !st) return st.error();
  cold().pending_log_reset = **marker;
  next_write_starts_new_log_ = true;
  return io_ok();
}

io_status durable_log::clear_log_reset() {
  // Still pending until the removal is durable: a failure is retried on the next write.
  if (auto st = fs_.remove(log_reset_path(dir())); !st) return st;
  if (auto st = fs_.sync_directory(dir()); !st) return st;
  if (cold_) cold_->pending_log_reset.reset();
  return io_ok();
}

void durable_log::note_error(const io_error& e) const {
  if (!cold().error) cold().error = e;
}

index_term durable_log::last_written() const {
  return {written_, term_at(written_).value_or(term_t{0})};
}

std::optional<term_t> durable_log::term_at(index_t i) const {
  if (i == index_t{0}) return term_t{0};
  if (i > last_index_) return std::nullopt;
  auto snap_index = snapshot_index();
  if (i == snap_index) return snapshot_->ref.meta.term;
  if (i < snap_index) return std::nullopt;
  if (auto e = mem_.find(i)) return e->term;
  if (!mem_.empty() && i >= mem_.first_index()) return std::nullopt;
  auto t = segs_.term_at(i);
  if (!t) {
    note_error(t.error());
    return std::nullopt;
  }
  return *t;
}

std::optional<log_entry> durable_log::entry_at(index_t i) const {
  if (i > last_index_ || i <= snapshot_index()) return std::nullopt;
  if (auto e = mem_.find(i)) return *e;
  auto e = segs_.read(i);
  if (!e) {
    note_error(e.error());
    return std::nullopt;
  }
  return *e;
}

log_status durable_log::read(index_t from, index_t to, size_t max_count, std::vector<log_entry>& out) const {
  to = std::min(to, last_index_);
  if (from > to || max_count == 0) return {};
  if (from < first_index())
    return unexpected{log_error{log_error::kind::compacted,
                                "entries up to " + std::to_string(snapshot_index().value) + " are in the snapshot"}};
  auto unreadable = [](std::string why) { return unexpected{log_error{log_error::kind::unreadable, std::move(why)}}; };
  // Every entry in [from, to] up to max_count is read (or the read fails): room for them
  // at once, not a reallocation (with a copy of every entry) per doubling.
  // (Geometric still: a caller that reads into one vector again and again must not
  // reallocate on every call.)
  const size_t need = out.size() + std::min<uint64_t>(to.value - from.value + 1, max_count);
  if (need > out.capacity()) out.reserve(std::max(need, 2 * out.capacity()));
  size_t added = 0;
  for (auto i = from; i <= to && added < max_count; ++i) {
    if (auto e = mem_.find(i)) {
      out.push_back(*e);
      ++added;
      continue;
    }
    // Below the mem table: a run straight from the segments.
    auto run_end = mem_.empty() ? to : std::min(to, mem_.first_index() - 1);
    auto before = out.size();
    if (auto st = segs_.read_range(i, run_end, max_count - added, out); !st) {
      note_error(st.error());
      return unreadable(st.error().message());
    }
    auto got = out.size() - before;
    if (got == 0) return unreadable("entry " + std::to_string(i.value) + " is in no segment of " + dir());
    added += got;
    i = i + (got - 1);
  }
  return {};
}

void durable_log::append(std::vector<log_entry> entries) {
  if (entries.empty()) return;
  auto first = entries.front().index;
  // An overwrite (or a write after a snapshot install) makes older entries from `first`
  // on unreachable, durable or not.
  if (first <= written_) written_ = first - 1;
  last_index_ = entries.back().index;
  bool starts_new_log = next_write_starts_new_log_;
  next_write_starts_new_log_ = false;
  wal_.write(uid_, entries, starts_new_log);
  mem_.append(std::move(entries));
}

bool durable_log::on_written(index_t index, term_t term) {
  index = std::min(index, last_index_);
  if (index <= written_ || term_at(index) != term) return false;  // stale (overwritten since)
  if (log_reset_pending()) {
    // The first entry of the new log is durable: from now on a recovery must keep what
    // the WAL holds above the snapshot. Cleared before the entry counts as written, so
    // nothing acknowledged can be discarded by a recovery that still sees the marker.
    if (auto st = clear_log_reset(); !st) {
      note_error(st.error());
      return false;
    }
  }
  written_ = index;
  return true;
}

void durable_log::on_resend(index_t from) {
  from = std::max(from, mem_.empty() ? last_index_ + 1 : mem_.first_index());
  if (from > last_index_) return;
  std::vector<log_entry> again;
  for (auto i = from; i <= last_index_; ++i)
    if (auto e = mem_.find(i)) again.push_back(*e);
  if (!again.empty()) wal_.write(uid_, std::move(again), false);
}

void durable_log::on_segments(const std::vector<segment_ref>& refs) {
  if (refs.empty()) return;
  if (auto st = segs_.add(refs); !st) {
    // Keep the entries in memory: the set does not hold them.
    note_error(st.error());
    return;
  }
  index_t through{0};
  for (auto& r : refs) through = std::max(through, r.range.last);
  // Keep in memory whatever was overwritten after the WAL file was closed.
  mem_.release_through(through, [&](index_t i) -> std::optional<term_t> {
    auto t = segs_.term_at(i);
    return t ? *t : std::nullopt;
  });
  // Segments made obsolete by a snapshot taken meanwhile.
  if (auto snap = snapshot_index(); snap > index_t{0})
    if (auto st = segs_.delete_up_to(snap); !st) note_error(st.error());
}

void durable_log::write_snapshot(stored_snapshot snap) {
  auto idx = snap.meta.index;
  // One snapshot write at a time (as in Ra): a hint arriving meanwhile is dropped; the
  // machine will emit another.
  if (idx <= snapshot_index() || idx > last_index_ || snapshot_pending()) return;
  if (worker_) {
    cold().pending_snapshot = snapshot_ref{snap.meta, snap.data.size()};
    worker_->submit(uid_, storage_job::snapshot_write, [&fs = fs_, dir = dir(), snap = std::move(snap)]() {
      return write_snapshot_file(fs, dir, snap);
    });
    return;
  }
  auto path = write_snapshot_file(fs_, dir(), snap);
  if (!path) {
    // A snapshot is an optimisation: without it the log simply stays longer.
    cold().snapshot_error = path.error();
    return;
  }
  adopt_local_snapshot(snapshot_ref{snap.meta, snap.data.size()}, *path);
}

void durable_log::on_snapshot_written(const io_result<std::string>& result) {
  if (!snapshot_pending()) return;
  auto snap = std::move(*cold_->pending_snapshot);
  cold_->pending_snapshot.reset();
  if (!result) {
    cold().snapshot_error = result.error();
    return;
  }
  if (snap.meta.index <= snapshot_index()) {
    // A leader's snapshot was installed meanwhile and supersedes this one.
    (void)fs_.remove(*result);  // best effort: an orphan snapshot file is skipped at recovery
    return;
  }
  adopt_local_snapshot(std::move(snap), *result);
}

void durable_log::adopt_local_snapshot(snapshot_ref ref, const std::string& path) {
  auto idx = ref.meta.index;
  set_snapshot(std::move(ref), path);
  if (cold_) cold_->snapshot_error.reset();
  if (auto st = remove_superseded_snapshots(fs_, dir(), path, idx); !st) cold().snapshot_error = st.error();
  // Only durable entries may be dropped from memory: the rest still await the WAL.
  mem_.drop_through(std::min(idx, written_));
  if (auto st = segs_.delete_up_to(idx); !st) note_error(st.error());
}

snapshot_bytes durable_log::load_snapshot_state() const {
  if (!snapshot_) return unexpected{log_error{log_error::kind::unreadable, dir() + " has no snapshot"}};
  auto snap = read_snapshot_file(fs_, snapshot_->path);
  if (!snap) return unexpected{unreadable(snap.error())};
  return std::move(snap->data);
}

snapshot_bytes durable_log::read_snapshot_chunk(const snapshot_meta& meta, uint32_t chunk_no,
                                                uint64_t chunk_size) const {
  auto& c = cold();
  bool open_already = c.chunk_reader && c.chunk_reader->meta() == meta && c.chunk_reader_size == chunk_size;
  if (!open_already) {
    if (!snapshot_ || snapshot_->ref.meta != meta)
      return unexpected{log_error{log_error::kind::compacted,
                                  "snapshot " + std::to_string(meta.index.value) + " was replaced by a newer one"}};
    // Opened once per snapshot (validating its CRC), not per chunk or per peer.
    c.chunk_reader.reset();
    auto reader = snapshot_chunk_reader::open(fs_, snapshot_->path, chunk_size);
    if (!reader) return unexpected{unreadable(reader.error())};
    c.chunk_reader.emplace(std::move(*reader));
    c.chunk_reader_size = chunk_size;
  }
  auto chunk = c.chunk_reader->read_chunk(chunk_no);
  if (!chunk) return unexpected{unreadable(chunk.error())};
  return std::move(*chunk);
}

std::optional<uint32_t> durable_log::snapshot_checksum(const snapshot_meta& meta) const {
  if (!cold_ || !cold_->chunk_reader || cold_->chunk_reader->meta() != meta) return std::nullopt;
  return cold_->chunk_reader->checksum();
}

log_status durable_log::begin_snapshot_receipt(const snapshot_meta& meta, std::optional<uint32_t> checksum) {
  auto& c = cold();
  c.receipt.reset();  // removes an interrupted transfer's temporary file
  auto receiver = snapshot_receiver::begin(fs_, dir(), meta, checksum);
  if (!receiver) return unexpected{unwritable(receiver.error())};
  c.receipt.emplace(std::move(*receiver));
  return {};
}

log_status durable_log::accept_snapshot_chunk(std::span<const char> state_chunk) {
  if (!cold_ || !cold_->receipt) throw std::logic_error("durable_log: a snapshot chunk without a receipt in progress");
  if (auto st = cold_->receipt->accept_chunk(state_chunk); !st) return unexpected{unwritable(st.error())};
  return {};
}

void durable_log::abort_snapshot_receipt() {
  if (cold_) cold_->receipt.reset();
}

log_status durable_log::complete_snapshot_receipt() {
  if (!cold_ || !cold_->receipt) throw std::logic_error("durable_log: completing a snapshot receipt not begun");
  // Destroying the receiver on any failure below removes its temporary file.
  auto receiver = std::move(*cold_->receipt);
  cold_->receipt.reset();
  auto meta = receiver.meta();
  // Before anything changes: bytes that are not the sender's snapshot are refused.
  if (auto st = receiver.check_checksum(); !st) {
    return unexpected{log_error{log_error::kind::rejected, st.error().message()}};
  }
  auto idx = meta.index;
  bool keeps_suffix = term_at(idx) == meta.term;
  if (!keeps_suffix) {
    // Durable before the snapshot takes its name, so no recovery can see the snapshot
    // followed by the discarded log (review finding F1).
    if (auto st = write_log_reset(fs_, dir(), meta); !st) return unexpected{unwritable(st.error())};
  }
  auto path = receiver.complete();
  if (!path) {
    note_error(path.error());
    return unexpected{unwritable(path.error())};
  }
  adopt_received_snapshot(meta, receiver.bytes_received(), *path, keeps_suffix);
  return {};
}

log_status durable_log::begin_snapshot_completion() {
  if (!worker_) return complete_snapshot_receipt();
  if (!cold_ || !cold_->receipt) throw std::logic_error("durable_log: completing a snapshot receipt not begun");
  auto receiver = std::make_shared<snapshot_receiver>(std::move(*cold_->receipt));
  cold_->receipt.reset();
  auto meta = receiver->meta();
  if (auto st = receiver->check_checksum(); !st) {
    return unexpected{log_error{log_error::kind::rejected, st.error().message()}};
  }
  // The server holds every event back until on_snapshot_installed: the log cannot
  // change meanwhile, so what is decided here still holds when the job is done.
  const bool keeps_suffix = term_at(meta.index) == meta.term;
  cold().pending_install = cold_state::install_job{meta, receiver->bytes_received(), keeps_suffix};
  worker_->submit(uid_, storage_job::snapshot_install,
                  [&fs = fs_, dir = dir(), receiver, meta, keeps_suffix]() -> io_result<std::string> {
                    // The marker is durable before the snapshot takes its name (F1).
                    if (!keeps_suffix)
                      if (auto st = write_log_reset(fs, dir, meta); !st) return st.error();
                    return receiver->complete();
                  });
  return {};
}

log_status durable_log::on_snapshot_installed(const io_result<std::string>& result) {
  if (!cold_ || !cold_->pending_install) throw std::logic_error("durable_log: an install result without an install");
  auto job = std::move(*cold_->pending_install);
  cold_->pending_install.reset();
  if (!result) {
    note_error(result.error());
    return unexpected{unwritable(result.error())};
  }
  adopt_received_snapshot(job.meta, job.bytes, *result, job.keeps_suffix);
  return {};
}

void durable_log::adopt_received_snapshot(const snapshot_meta& meta, uint64_t bytes, const std::string& path,
                                          bool keeps_suffix) {
  auto idx = meta.index;
  set_snapshot(snapshot_ref{meta, bytes}, path);
  if (keeps_suffix) {
    mem_.drop_through(idx);
    if (auto st = segs_.delete_up_to(idx); !st) note_error(st.error());
    written_ = std::max(written_, idx);
    return;
  }
  // Our log diverges from the snapshot's history: none of it may come back.
  discard_log_above(idx);
  cold().pending_log_reset = idx;
  next_write_starts_new_log_ = true;
}

void durable_log::discard_log_above(index_t idx) {
  mem_.clear();
  if (auto st = segs_.delete_up_to(index_t{std::numeric_limits<uint64_t>::max()}); !st) note_error(st.error());
  last_index_ = idx;
  written_ = idx;
}

}  // namespace ra::storage

namespace ra::storage {

void durable_log::write_checkpoint(stored_snapshot snap) {
  if (snap.meta.index <= snapshot_index() || snap.meta.index > last_index_) return;
  // Not synced (a crash may lose it: it is only an optimisation until promoted).
  if (auto st = storage::write_checkpoint(fs_, dir(), snap, snap_cfg_); !st) cold().snapshot_error = st.error();
}

bool durable_log::promote_checkpoint(index_t index) {
  if (snapshot_pending()) return false;
  auto promoted = storage::promote_checkpoint(fs_, dir(), std::min(index, written_));
  if (!promoted) {
    cold().snapshot_error = promoted.error();
    return false;
  }
  if (!promoted->promoted || promoted->promoted->index <= snapshot_index()) return false;
  auto loaded = load_latest_valid(fs_, dir());
  if (!loaded || !loaded->snapshot || loaded->snapshot->meta.index != promoted->promoted->index) {
    if (!loaded) cold().snapshot_error = loaded.error();
    return false;
  }
  auto idx = loaded->snapshot->meta.index;
  set_snapshot(snapshot_ref{loaded->snapshot->meta, loaded->snapshot->data.size()}, loaded->path);
  mem_.drop_through(std::min(idx, written_));
  if (auto st = segs_.delete_up_to(idx); !st) note_error(st.error());
  return true;
}

}  // namespace ra::storage
