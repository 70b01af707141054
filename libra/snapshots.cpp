// Snapshot transfer: the leader sends its latest snapshot in chunks to a follower that
// needs entries the leader no longer holds; the follower assembles and installs it.

#include "libra/server_internal.hpp"

namespace ra {

void server::start_snapshot_send(peer& p) {
  auto snap = log_.snapshot();
  if (!snap) {
    // No snapshot although an entry is missing: the log is broken. Never guess.
    stop("entry " + std::to_string(p.repl.next().value) + " needed by " + p.id.to_string() +
         " is missing and there is no snapshot");
    return;
  }
  p.repl.become_snapshot(std::move(*snap));
  ++metrics_.snapshots_sent;
  send_snapshot_chunk(p);
}

void server::send_snapshot_chunk(peer& p) {
  auto& s = *p.repl.sending();
  auto no = s.chunks_acked + 1;
  auto chunk = log_.read_snapshot_chunk(s.snap.meta, no, cfg_.snapshot_chunk_size);
  if (!chunk) {
    auto& why = chunk.error();
    auto current = log_.snapshot();
    if (why.what == log_error::kind::compacted && current && current->meta != s.snap.meta) {
      // A newer snapshot replaced this one before its transfer began: send that one.
      start_snapshot_send(p);
      return;
    }
    // Never retried: a snapshot the store cannot read is not sent, and the server stops
    // as it does for an entry it cannot read.
    stop("reading chunk " + std::to_string(no) + " of snapshot " + std::to_string(s.snap.meta.index.value) +
         " for " + p.id.to_string() + ": " + why.message);
    return;
  }
  bool last = no >= snapshot_chunk_count(s.snap.state_size, cfg_.snapshot_chunk_size);
  auto checksum = log_.snapshot_checksum(s.snap.meta);
  send(p.id, install_snapshot_rpc{current_term_, cfg_.id, s.snap.meta, no, last, std::move(*chunk),
                                  checksum.has_value(), checksum.value_or(0)});
}

void server::snapshot_peer_heard(const server_id& from) {
  // The back-off (1, 2, 4 ... 64 ticks: minutes with the default tick) spares a follower
  // that keeps failing; but a follower that was down, cut off or whose replies were lost
  // is answering now, and waiting out the back-off would keep it (and a quorum that needs
  // it) behind long after it came back. Retried at the next tick, as after a first stall,
  // so a follower that answers but never completes the transfer gets one restart per tick.
  auto p = find_peer(from);
  if (!p) return;
  if (auto* s = p->repl.sending(); s && !s->progressed && s->retries > 0) {
    s->retries = 0;
    s->stalled_ticks = 0;
  }
}

void server::on_install_snapshot_result(const server_id& from, const install_snapshot_result& m) {
  // Called by step_leader, in our term.
  auto p = find_peer(from);
  if (!p) return;
  auto* s = p->repl.sending();
  if (!s || m.snapshot_index != s->snap.meta.index) return;
  auto snap_index = s->snap.meta.index;
  if (m.chunk_no == snapshot_not_needed_chunk) {
    // The follower has committed past the snapshot already; m.last_index is its last
    // entry (maybe not yet durable, so it does not count as a match). Continue with AEs
    // after it if it matches our log, else right after the snapshot (all entries up to
    // the follower's commit index match ours).
    bool matches = log_.term_at(m.last_index) == m.last_term;
    p->repl.snapshot_not_needed(matches ? m.last_index + 1 : snap_index + 1);
    replicate_to(*p, false);
    return;
  }
  if (m.chunk_no != s->chunks_acked + 1) return;  // duplicate or stale
  ++s->chunks_acked;
  s->progressed = true;
  if (s->chunks_acked < snapshot_chunk_count(s->snap.state_size, cfg_.snapshot_chunk_size)) {
    send_snapshot_chunk(*p);
    return;
  }
  auto match = log_.term_at(m.last_index) == m.last_term ? m.last_index : snap_index;
  p->repl.snapshot_done(match);
  advance_commit();
  if (!is_leaderish()) return;  // applying may end the leadership
  maybe_promote();
  replicate_to(*p, false);
}

void server::abandon_receipt() {
  following()->receipt.reset();
  emit(cancel_timer_action{timer_kind::receive_snapshot});
}

void server::on_install_snapshot(const server_id& from, const install_snapshot_rpc& m) {
  // Called by step_follower, from our term's leader.
  auto& f = *following();
  if (commit_index_ >= m.meta.index) {
    if (f.receipt) {
      abandon_receipt();
      set_role(role::follower);
    }
    auto last = last_entry();
    send(from, install_snapshot_result{current_term_, m.meta.index, snapshot_not_needed_chunk, last.index, last.term});
    return;
  }
  auto ack_chunk = [&](uint32_t no, index_term last) {
    send(from, install_snapshot_result{current_term_, m.meta.index, no, last.index, last.term});
  };
  auto& receipt = f.receipt;
  if (m.chunk_no == 1) {
    receipt.reset();  // aborts an interrupted transfer in the store first
    auto checksum = m.has_checksum ? std::optional<uint32_t>{m.checksum} : std::nullopt;
    if (auto st = log_.begin_snapshot_receipt(m.meta, checksum); !st) {
      stop("receiving snapshot " + std::to_string(m.meta.index.value) + ": " + st.error().message);
      return;
    }
    receipt = std::make_unique<detail::snapshot_receipt>(log_, m.meta);
    set_role(role::receive_snapshot);
  } else if (!receipt || receipt->meta != m.meta || m.chunk_no != receipt->next_chunk) {
    // A duplicate of the chunk we just took: acknowledge it again. Anything else is out
    // of sequence: ignore it; the leader restarts the transfer when it stalls.
    if (receipt && receipt->meta == m.meta && m.chunk_no + 1 == receipt->next_chunk)
      ack_chunk(m.chunk_no, {});
    return;
  }
  if (auto st = log_.accept_snapshot_chunk(m.data.span()); !st) {
    // Stopping ends the receipt (and aborts the store's) with the role state.
    stop("receiving chunk " + std::to_string(m.chunk_no) + " of snapshot " + std::to_string(m.meta.index.value) +
         ": " + st.error().message);
    return;
  }
  ++receipt->next_chunk;
  emit(set_timer_action{timer_kind::receive_snapshot, cfg_.receive_snapshot_timeout_ms});
  if (!m.last) {
    ack_chunk(m.chunk_no, {});
    return;
  }
  if (!install_received_snapshot(from, m.chunk_no) || role_ == role::stopped) return;
  acknowledge_install(from, m.meta, m.chunk_no);
}

void server::acknowledge_install(const server_id& from, const snapshot_meta& meta, uint32_t chunk_no) {
  auto ack = ack_point();
  auto& acked = following()->acked_index;
  acked = std::max(acked, ack.index);
  send(from, install_snapshot_result{current_term_, meta.index, chunk_no, ack.index, ack.term});
}

bool server::install_received_snapshot(const server_id& from, uint32_t chunk_no) {
  auto& f = *following();
  auto r = std::move(f.receipt);
  emit(cancel_timer_action{timer_kind::receive_snapshot});
  auto meta = r->meta;
  if (log_.completes_receipts_later()) {
    auto started = log_.begin_snapshot_completion();
    r->finished();
    if (started) {
      // Every event waits for handle_snapshot_installed: nothing may see (or change)
      // the log while the store replaces it.
      pending_install_ = pending_install{meta, from, chunk_no};
      return false;
    }
    return finish_received_snapshot(meta, started);
  }
  auto installed = log_.complete_snapshot_receipt();
  r->finished();
  return finish_received_snapshot(meta, installed);
}

void server::handle_snapshot_installed(log_status installed) {
  if (!pending_install_) return;
  auto p = std::move(*pending_install_);
  pending_install_.reset();
  // Held-back events never ran, so the role, term and leader are those of the last
  // chunk's arrival: the acknowledgement goes to that leader as it would have then.
  if (finish_received_snapshot(p.meta, installed) && role_ != role::stopped) acknowledge_install(p.from, p.meta, p.chunk_no);
  while (!pending_install_ && !deferred_.empty()) {
    auto event = std::move(deferred_.front());
    deferred_.pop_front();
    event();
  }
}

void server::handle_machine_effects(effects effs) {
  if (pending_install_) return defer([this, effs] { handle_machine_effects(effs); });
  run_effects(std::move(effs), false);
}

bool server::finish_received_snapshot(const snapshot_meta& meta, const log_status& installed) {
  auto& f = *following();
  if (!installed && installed.error().what == log_error::kind::rejected) {
    // Damaged on the way: nothing was installed. Not acknowledged, the leader sends the
    // snapshot again when the transfer stalls.
    set_role(role::follower);
    return false;
  }
  // Only an install the store made durable may be acknowledged (review finding F2).
  if (!installed) {
    stop("installing snapshot " + std::to_string(meta.index.value) + " from the leader: " +
         installed.error().message);
    return false;
  }
  auto state = log_.load_snapshot_state();
  if (!state) {
    stop("reading back snapshot " + std::to_string(meta.index.value) + ": " + state.error().message);
    return false;
  }
  bool restored = false;
  if (!guard_machine("restore", [&] { restored = machine_->restore(*state); })) {
    stop(*machine_callback_failure_);
    return false;
  }
  if (!restored) {
    stop("snapshot at index " + std::to_string(meta.index.value) + " from the leader does not decode");
    return false;
  }
  auto idx = meta.index;
  ++metrics_.snapshots_installed;
  commit_index_ = std::max(commit_index_, idx);
  last_applied_ = idx;
  machine_version_ = meta.machine_version;
  f.consistent_index = std::max(f.consistent_index, idx);
  base_config_ = meta.cluster;
  if (log_.last_index() <= idx) config_history_.clear();
  else config_history_.erase(config_history_.begin(), config_history_.upper_bound(idx));
  recompute_config();
  set_role(role::follower);
  // Entries kept after the snapshot may already be committed.
  apply_committed();
  return true;
}

}  // namespace ra
