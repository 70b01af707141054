#include "sim/real_storage.hpp"

#include <exception>

#include "segments/segment_flush.hpp"

namespace ra::sim {

real_node_storage::real_node_storage(uint64_t seed, std::string uid, const real_storage_profile& profile)
  : uid_(std::move(uid)), profile_(profile), disk_(seed, profile.crash) {
  disk_.set_faults(profile.faults);
}

real_node_storage::~real_node_storage() {
  drop_memory();  // the log refers to this object as its WAL sink: it goes first
}

void real_node_storage::drop_memory() {
  log_.reset();
  meta_.reset();
  wal_.reset();
  rollovers_.clear();
  segment_flush_failing_ = false;
  resends_.clear();
  snapshot_jobs_.clear();
}

std::optional<std::string> real_node_storage::open(ra::durable_meta& meta) {
  drop_memory();
  for (const std::string& dir : {root_ + "/wal", root_ + "/meta", server_dir()})
    if (auto st = disk_.create_directories(dir); !st)
      return st.error().message();
  // As ra::system::start: recover the WAL, move every recovered file into segments,
  // then write a new WAL file.
  storage::wal_config wc;
  wc.wal_data_dir = root_ + "/wal";
  wc.fs = &disk_;
  // The directory lock is an flock on the real file system, which the simulated disk is
  // not; one simulated node owns each disk, so there is nothing to lock against.
  wc.lock_directory = false;
  wc.wal_max_entries = profile_.wal_max_entries;
  wc.wal_group_commit_window = std::chrono::microseconds{0};
  wal_ = std::make_unique<storage::wal_writer>(wc, [this](storage::rollover_info r) {
    rollovers_.push_back(std::move(r));
  });
  storage::wal_recovery recovered;
  if (auto rc = wal_->recover(recovered, /*collect_entries=*/false); !rc)
    return "WAL recovery: " + rc.error().message();
  storage::segment_config segments;
  segments.segment_max_entries = profile_.segment_max_entries;
  for (const auto& f : recovered.files) {
    auto moved = storage::flush_wal_file(disk_, f, [this](const std::string&) { return server_dir(); }, segments);
    if (moved.error)
      return "moving recovered WAL file " + f.path + ": " + *moved.error;
  }
  if (auto st = wal_->start(); !st)
    return "WAL start: " + st.error().message();
  auto opened_meta = storage::meta_store::open(disk_, root_ + "/meta");
  if (!opened_meta)
    return "meta store: " + opened_meta.error().message();
  meta_ = std::move(*opened_meta);
  const storage::server_meta m = meta_->get(uid_);
  meta = ra::durable_meta{m.current_term, m.voted_for};
  // As the server actor's init_server.
  storage::durable_log_config lc;
  lc.uid = uid_;
  lc.dir = server_dir();
  lc.segments = segments;
  auto opened_log = storage::durable_log::open(disk_, lc, *this, {});
  if (!opened_log)
    return "opening the log: " + opened_log.error().message();
  log_ = std::move(*opened_log);
  log_->set_snapshot_worker(this);
  return std::nullopt;
}

std::optional<std::string> real_node_storage::persist_meta(ra::term_t term,
                                                           const std::optional<ra::server_id>& voted_for) {
  if (auto st = meta_->put_term_vote(uid_, term, voted_for); !st)
    return "meta store: " + st.error().message();
  return std::nullopt;
}

void real_node_storage::write(const std::string& uid, std::vector<log_entry> entries, bool starts_new_log) {
  // The WAL actor queues at once and answers a gap with a resend request (a message the
  // server handles later: here, at the next run_io).
  auto queued = wal_->queue(uid, entries, starts_new_log);
  if (queued.status == storage::queue_status::resend)
    resends_.push_back(queued.resend_from);
}

void real_node_storage::submit(const std::string&, storage::storage_job kind,
                               std::function<storage::io_result<std::string>()> job) {
  snapshot_jobs_.emplace_back(kind, std::move(job));
}

bool real_node_storage::has_work() const {
  return wal_ && (wal_->pending_entries() > 0 || (!rollovers_.empty() && !segment_flush_failing_) ||
                  !resends_.empty() || !snapshot_jobs_.empty());
}

io_round real_node_storage::run_io() {
  io_round round;
  if (!log_)
    return round;
  // The WAL actor's flush: one write and one sync for the batch, then "written".
  storage::flush_result flushed = wal_->flush();
  for (const auto& w : flushed.written)
    if (w.writer == uid_)
      round.written_moved = log_->on_written(w.index, w.term) || round.written_moved;
  if (flushed.error)
    round.wal_error = flushed.error->message();
  for (index_t from : std::exchange(resends_, {}))
    log_->on_resend(from);
  // The segment writer actor's drain: in order, stopping at the first failure (later
  // files may overwrite its entries), retried at the next round.
  storage::segment_config segments;
  segments.segment_max_entries = profile_.segment_max_entries;
  while (!rollovers_.empty()) {
    ++rollovers_done_;
    auto moved = storage::flush_wal_file(disk_, rollovers_.front(), [this](const std::string&) { return server_dir(); },
                                         segments);
    for (const auto& [uid, refs] : moved.segments)
      if (uid == uid_ && !refs.empty())
        log_->on_segments(refs);
    if (moved.error) {
      // Retried with the next round that has other work (the actor backs off likewise);
      // retrying at once would spin in zero simulated time.
      ++segment_flush_failures_;
      segment_flush_failing_ = true;
      if (!segment_error_ && !disk_.powered_off())  // a power cut's errors are no bug
        segment_error_ = rollovers_.front().path + ": " + *moved.error;
      break;
    }
    segment_flush_failing_ = false;
    ++segment_flushes_;
    rollovers_.erase(rollovers_.begin());
  }
  // The snapshot worker: the job writes the file; the log adopts it afterwards. An
  // install is the last job of its round: its server holds everything back until told.
  for (auto& [kind, job] : std::exchange(snapshot_jobs_, {})) {
    ++snapshot_jobs_done_;
    if (kind == storage::storage_job::snapshot_install) {
      round.installed = log_->on_snapshot_installed(job());
      ++installs_done_;
    } else {
      log_->on_snapshot_written(job());
    }
  }
  return round;
}

void real_node_storage::crash() {
  drop_memory();
  disk_.crash();
}

}  // namespace ra::sim
