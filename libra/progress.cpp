#include "libra/progress.hpp"

#include <algorithm>

namespace ra {

bool progress::is_paused(uint64_t max_inflight) const {
  switch (state_) {
    case state::replicate: return in_flight() >= max_inflight;
    case state::probe: return probe_sent_;
    case state::snapshot: return true;
  }
  return true;
}

void progress::sent_entries(index_t last) {
  next_ = std::max(next_, last + 1);
  if (state_ == state::probe) probe_sent_ = true;
}

bool progress::on_accept(index_t index, bool matches) {
  bool moved = matches && index > match_;
  if (moved) match_ = index;
  // A success ends probing, and a snapshot transfer too (the peer caught up anyway).
  become_replicate();
  return moved;
}

bool progress::on_reject(index_t hint) {
  if (state_ == state::snapshot) return false;  // the transfer decides where AEs resume
  if (hint <= match_) {
    // The follower lacks entries it acknowledged: it lost them. (A rejection overtaken by
    // later acknowledgements looks the same; forgetting `match` then costs one resend.)
    // Nothing it holds is known to match any more.
    match_ = index_t{0};
    match_at_tick_ = index_t{0};
    become_probe(std::max(hint, index_t{1}));
    return true;
  }
  // Rejections of AEs sent before an earlier rewind point at or beyond where a probe
  // already is: stale.
  if (state_ == state::probe && hint >= next_) return false;
  become_probe(std::min(hint, next_));
  return true;
}

void progress::become_replicate() {
  state_ = state::replicate;
  probe_sent_ = false;
  snap_.reset();
  next_ = std::max(next_, match_ + 1);
}

void progress::become_probe(index_t next) {
  state_ = state::probe;
  probe_sent_ = false;
  snap_.reset();
  next_ = std::max(match_ + 1, next);
}

void progress::become_snapshot(snapshot_ref snap) {
  state_ = state::snapshot;
  probe_sent_ = false;
  snap_ = std::make_unique<snapshot_send>();
  snap_->snap = std::move(snap);
}

void progress::snapshot_done(index_t match) {
  match_ = std::max(match_, match);
  next_ = match_ + 1;
  become_replicate();
}

void progress::snapshot_not_needed(index_t resume) {
  // Probe (one AE, not a pipeline window measured from a stale match) until the
  // follower's acknowledgement tells us its real match point.
  become_probe(resume);
}

void progress::rewind() {
  next_ = match_ + 1;
  probe_sent_ = false;
}

bool progress::stalled_since_last_tick() {
  bool stalled = match_ == match_at_tick_;
  match_at_tick_ = match_;
  return stalled;
}

}  // namespace ra
