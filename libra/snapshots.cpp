// Snapshot transfer: the leader sends its latest snapshot in chunks to a follower that
// needs entries the leader no longer holds; the follower assembles and installs it.

#include "libra/server_internal.hpp"

namespace ra {

void server::start_snapshot_send(peer& p) {
  auto snap = log_.snapshot();
  if (!snap) {
    // No snapshot although an entry is missing: the log is broken. Never guess.
    stop("entry " + std::to_string(p.next_index.value) + " needed by " + p.id.to_string() +
         " is missing and there is no snapshot");
    return;
  }
  p.sending_snapshot = true;
  p.snapshot = std::move(*snap);
  p.chunks_acked = 0;
  p.snapshot_progressed = true;
  p.snapshot_stalled_ticks = 0;
  p.snapshot_retries = 0;
  ++metrics_.snapshots_sent;
  send_snapshot_chunk(p);
}

void server::send_snapshot_chunk(peer& p) {
  auto size = p.snapshot.data.size();
  auto chunk = cfg_.snapshot_chunk_size;
  auto no = p.chunks_acked + 1;
  auto offset = std::min<uint64_t>(uint64_t{p.chunks_acked} * chunk, size);
  auto len = std::min<uint64_t>(chunk, size - offset);
  bool last = offset + len >= size;
  auto begin = p.snapshot.data.data() + offset;
  send(p.id, install_snapshot_rpc{current_term_, cfg_.id, p.snapshot.meta, no, last,
                                  shared_bytes{std::vector<char>(begin, begin + len)}});
}

void server::on_install_snapshot_result(const server_id& from, const install_snapshot_result& m) {
  if (m.term > current_term_) {
    become_follower(m.term, std::nullopt);
    return;
  }
  if (!is_leaderish() || m.term != current_term_) return;
  auto p = find_peer(from);
  if (!p || !p->sending_snapshot || m.snapshot_index != p->snapshot.meta.index) return;
  auto finish = [&](index_t match, index_t resume) {
    p->sending_snapshot = false;
    p->snapshot = {};
    p->probing = false;
    p->probe_in_flight = false;
    p->match_index = std::max(p->match_index, match);
    p->next_index = std::max(p->match_index + 1, resume);
    advance_commit();
    maybe_promote();
    replicate_to(*p, false);
  };
  if (m.chunk_no == snapshot_not_needed_chunk) {
    // The follower has committed past the snapshot already; m.last_index is its last
    // entry (maybe not yet durable, so it does not count as a match). Continue with AEs
    // after it if it matches our log, else right after the snapshot (all entries up to
    // the follower's commit index match ours).
    bool matches = log_.term_at(m.last_index) == m.last_term;
    auto resume = matches ? m.last_index + 1 : p->snapshot.meta.index + 1;
    // Probe (one AE, not a pipeline window measured from a stale match index) until
    // the follower's acknowledgement tells us its real match point.
    p->probing = true;
    p->sending_snapshot = false;
    p->snapshot = {};
    p->probe_in_flight = false;
    p->next_index = std::max(p->match_index + 1, resume);
    replicate_to(*p, false);
    return;
  }
  if (m.chunk_no != p->chunks_acked + 1) return;  // duplicate or stale
  ++p->chunks_acked;
  p->snapshot_progressed = true;
  auto total = std::max<uint64_t>(1, (p->snapshot.data.size() + cfg_.snapshot_chunk_size - 1) / cfg_.snapshot_chunk_size);
  if (p->chunks_acked >= total) {
    auto snap_index = p->snapshot.meta.index;
    auto match = log_.term_at(m.last_index) == m.last_term ? m.last_index : snap_index;
    finish(match, match + 1);
    return;
  }
  send_snapshot_chunk(*p);
}

void server::on_install_snapshot(const server_id& from, const install_snapshot_rpc& m) {
  if (m.term < current_term_) {
    send(from, install_snapshot_result{current_term_, m.meta.index, 0, index_t{0}, term_t{0}});
    return;
  }
  if (is_leaderish() && m.term == current_term_) {
    stop("two leaders in term " + std::to_string(m.term.value) + ": " + from.to_string());
    return;
  }
  if (m.term > current_term_ || (role_ != role::follower && role_ != role::receive_snapshot))
    become_follower(m.term, m.leader_id);
  note_leader(m.leader_id);

  if (commit_index_ >= m.meta.index) {
    if (role_ == role::receive_snapshot) {
      receipt_.reset();
      emit(cancel_timer_action{timer_kind::receive_snapshot});
      set_role(role::follower);
    }
    auto last = last_entry();
    send(from, install_snapshot_result{current_term_, m.meta.index, snapshot_not_needed_chunk, last.index, last.term});
    return;
  }
  auto ack_chunk = [&](uint32_t no, index_term last) {
    send(from, install_snapshot_result{current_term_, m.meta.index, no, last.index, last.term});
  };
  if (m.chunk_no == 1) {
    receipt_ = std::make_unique<snapshot_receipt>();
    receipt_->meta = m.meta;
    set_role(role::receive_snapshot);
  } else if (!receipt_ || receipt_->meta != m.meta || m.chunk_no != receipt_->next_chunk) {
    // A duplicate of the chunk we just took: acknowledge it again. Anything else is out
    // of sequence: ignore it; the leader restarts the transfer when it stalls.
    if (receipt_ && receipt_->meta == m.meta && m.chunk_no + 1 == receipt_->next_chunk)
      ack_chunk(m.chunk_no, {});
    return;
  }
  receipt_->data.insert(receipt_->data.end(), m.data.data(), m.data.data() + m.data.size());
  ++receipt_->next_chunk;
  emit(set_timer_action{timer_kind::receive_snapshot, cfg_.receive_snapshot_timeout_ms});
  if (!m.last) {
    ack_chunk(m.chunk_no, {});
    return;
  }
  install_received_snapshot();
  if (role_ == role::stopped) return;
  auto ack = ack_point();
  acked_index_ = std::max(acked_index_, ack.index);
  ack_chunk(m.chunk_no, ack);
}

void server::install_received_snapshot() {
  auto r = std::move(receipt_);
  emit(cancel_timer_action{timer_kind::receive_snapshot});
  stored_snapshot snap{r->meta, shared_bytes{std::move(r->data)}};
  if (!machine_->restore(snap.data)) {
    stop("snapshot at index " + std::to_string(snap.meta.index.value) + " from the leader does not decode");
    return;
  }
  auto idx = snap.meta.index;
  log_.install_snapshot(snap);
  ++metrics_.snapshots_installed;
  commit_index_ = std::max(commit_index_, idx);
  last_applied_ = idx;
  machine_version_ = snap.meta.machine_version;
  consistent_index_ = std::max(consistent_index_, idx);
  base_config_ = snap.meta.cluster;
  if (log_.last_index() <= idx) config_history_.clear();
  else config_history_.erase(config_history_.begin(), config_history_.upper_bound(idx));
  recompute_config();
  set_role(role::follower);
  // Entries kept after the snapshot may already be committed.
  apply_committed();
}

}  // namespace ra
