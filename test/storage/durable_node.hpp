#pragma once
// A node's storage stack driven synchronously for tests: one WAL shared by several
// servers' durable logs, the segment flush on roll-over, and recovery from disk. The
// runtime (actors) wires the same pieces with messages instead of direct calls.

#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "log/durable_log.hpp"
#include "segments/segment_flush.hpp"
#include "wal/wal_writer.hpp"

namespace ra::storage::test {

class durable_node final : public wal_sink {
 public:
  durable_node(file_system& fs, std::string data_dir, wal_config wcfg = {}, segment_config scfg = {})
    : fs_(fs), dir_(std::move(data_dir)), scfg_(scfg) {
    wcfg.wal_data_dir = dir_ + "/wal";
    wcfg.fs = &fs_;
    // The tests simulate a crash by opening a second node on the directory while the
    // first object still exists: nothing to lock against in that one process.
    wcfg.lock_directory = false;
    wcfg_ = wcfg;
  }

  /// Recovers the WAL, moves every recovered WAL file into segments, opens the logs of
  /// `uids` and starts a fresh WAL file. On failure, says which step failed and why.
  ra::expected<void, std::string> open(const std::vector<std::string>& uids) {
    wal_ = std::make_unique<wal_writer>(wcfg_, [this](rollover_info r) { rollovers_.push_back(std::move(r)); });
    for (auto& u : uids)
      if (auto st = fs_.create_directories(server_dir(u)); !st) return st.error().message();
    wal_recovery rec;
    if (auto rc = wal_->recover(rec); !rc) return rc.error().message();
    for (auto& f : rec.files)
      if (auto res = flush_wal_file(fs_, f, [&](const std::string& u) { return server_dir(u); }, scfg_); res.error)
        return *res.error;
    logs_.clear();
    for (auto& u : uids) {
      durable_log_config c{u, server_dir(u), scfg_, 2, snapshot_config{}};
      auto log = durable_log::open(fs_, c, *this, {});
      if (!log) return log.error().message();
      logs_[u] = std::move(*log);
    }
    if (auto st = wal_->start(); !st) return st.error().message();
    return ra::expected<void, std::string>{};
  }

  durable_log& log(const std::string& uid) { return *logs_.at(uid); }
  std::string server_dir(const std::string& uid) const { return dir_ + "/" + uid; }

  void write(const std::string& uid, std::vector<log_entry> entries, bool starts_new_log) override {
    auto r = wal_->queue(uid, entries, starts_new_log);
    if (r.status == queue_status::resend) pending_resends_.emplace_back(uid, r.resend_from);
  }

  /// One WAL batch: write + sync, then "written" to each log, then any roll-over moved
  /// to segments. Returns the flush result.
  flush_result flush() {
    auto res = wal_->flush();
    for (auto& w : res.written)
      if (logs_.count(w.writer)) logs_[w.writer]->on_written(w.index, w.term);
    for (auto& [uid, from] : std::exchange(pending_resends_, {}))
      if (logs_.count(uid)) logs_[uid]->on_resend(from);
    for (auto& r : std::exchange(rollovers_, {})) {
      auto fr = flush_wal_file(fs_, r, [&](const std::string& u) { return server_dir(u); }, scfg_);
      last_segment_flush_ = fr;
      for (auto& [uid, refs] : fr.segments)
        if (logs_.count(uid)) logs_[uid]->on_segments(refs);
    }
    return res;
  }

  wal_writer& wal() { return *wal_; }
  const segment_flush_result& last_segment_flush() const { return last_segment_flush_; }

 private:
  file_system& fs_;
  std::string dir_;
  wal_config wcfg_;
  segment_config scfg_;
  std::unique_ptr<wal_writer> wal_;
  std::map<std::string, std::unique_ptr<durable_log>> logs_;
  std::vector<rollover_info> rollovers_;
  std::vector<std::pair<std::string, index_t>> pending_resends_;
  segment_flush_result last_segment_flush_;
};

}  // namespace ra::storage::test
