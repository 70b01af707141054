// Log replication: appending, AppendEntries on both sides, commit, the leader's tick.

#include "libra/server_internal.hpp"

namespace ra {

// -- leader side ----------------------------------------------------------------------

void server::handle_command(command_request req) {
  if (pending_install_) return defer([this, req] { handle_command(req); });
  if (role_ != role::leader) return refuse_command(req, not_leader_error());
  if (!storage_error_.empty()) return refuse_command(req, {error_code::storage_unavailable, cfg_.id});
  // Also for commands of remote callers, which no API check has seen: an entry over the
  // storage formats' limit must never reach the log.
  if (req.payload.size() > cfg_.max_command_bytes) return refuse_command(req, {error_code::command_too_large, cfg_.id});
  // A command of another type (process_command<int64_t> to a machine of structs) would
  // not decode in apply on any member: refuse it instead of committing a poison entry.
  bool accepted = false;
  guard_machine("accepts", [&] { accepted = machine_->accepts(req.payload); });
  if (!accepted) return refuse_command(req, {error_code::bad_command, cfg_.id});
  ++metrics_.commands;
  auto& l = *lead();
  if (req.priority == command_priority::low || cfg_.batch_commands) {
    if (req.priority == command_priority::low)
      l.low_priority.push_back(std::move(req));
    else
      l.batched.push_back(std::move(req));
    if (!l.flush_requested) {
      l.flush_requested = true;
      emit(flush_commands_action{});
    }
    return;
  }
  append_commands({std::move(req)});
}

void server::handle_flush_commands() {
  if (pending_install_) return defer([this] { handle_flush_commands(); });
  if (role_ != role::leader) return;
  auto& l = *lead();
  l.flush_requested = false;
  // Normal commands first (all of them), then up to a flush-size of low-priority ones,
  // appended as one batch: one log write, one AE per follower.
  std::vector<command_request> batch;
  batch.swap(l.batched);
  auto& low = l.low_priority;
  auto& head = l.low_priority_head;
  for (uint32_t n = 0; n < cfg_.low_priority_commands_flush_size && head < low.size(); ++n)
    batch.push_back(std::move(low[head++]));
  if (head == low.size()) {
    low.clear();
    low.shrink_to_fit();
    head = 0;
  } else if (head * 2 > low.size()) {
    low.erase(low.begin(), low.begin() + static_cast<std::ptrdiff_t>(head));
    head = 0;
  }
  bool more = !low.empty();
  append_commands(std::move(batch));
  if (more && lead()) {
    lead()->flush_requested = true;
    emit(flush_commands_action{});
  }
}

void server::append_commands(std::vector<command_request> reqs) {
  if (reqs.empty()) return;
  // One log write for the batch; each command's reply is bookkept under its index.
  std::vector<log_entry> entries;
  entries.reserve(reqs.size());
  auto idx = log_.last_index();
  for (auto& req : reqs) {
    entries.push_back(log_entry{++idx, current_term_, entry_kind::command, now_ms_, req.payload});
    switch (req.mode) {
      case reply_mode::after_log_append:
        emit(reply_action{req.from, idx, current_term_, cfg_.id, {}, std::nullopt});
        break;
      case reply_mode::await_consensus:
      case reply_mode::notify:
        lead()->pending.emplace(idx, std::move(req));
        break;
      case reply_mode::noreply:
        break;
    }
  }
  append_local(std::move(entries));
  if (auto* l = lead()) l->replication_due = true;
}

index_t server::append_new(entry_kind kind, shared_bytes payload) {
  auto idx = log_.last_index() + 1;
  std::vector<log_entry> one;
  one.push_back(log_entry{idx, current_term_, kind, now_ms_, std::move(payload)});
  append_local(std::move(one));
  if (auto* l = lead()) l->replication_due = true;
  return idx;
}

void server::append_local(std::vector<log_entry> entries) {
  if (entries.empty()) return;
  truncate_config_history(entries.front().index);
  std::vector<const log_entry*> changes;
  for (auto& e : entries)
    if (e.kind == entry_kind::cluster_change) changes.push_back(&e);
  // Config entries must be seen before the store takes the vector.
  for (auto* e : changes) config_appended(*e);
  log_.append(std::move(entries));
}

void server::replicate_all(bool force_heartbeat) {
  each_peer([&](peer& p) { replicate_to(p, force_heartbeat); });
}

void server::replicate_to(peer& p, bool force_heartbeat) {
  if (!is_leaderish() || p.repl.current() == progress::state::snapshot) return;
  auto last = log_.last_index();
  bool sent = false;
  while (p.repl.next() <= last && !p.repl.is_paused(cfg_.max_pipeline_count)) {
    auto next = p.repl.next();
    if (next < log_.first_index()) {  // released into our snapshot: send that instead
      start_snapshot_send(p);
      return;
    }
    auto prev = next - 1;
    auto prev_term = log_.term_at(prev);
    if (!prev_term) {
      // prev is within the log (or its snapshot point): a term we should hold but cannot read.
      stop("the log cannot tell the term of entry " + std::to_string(prev.value));
      return;
    }
    auto to = std::min(last, next + (cfg_.max_append_entries_rpc_batch_size - 1));
    std::vector<log_entry> entries;
    auto st = log_.read(next, to, cfg_.max_append_entries_rpc_batch_size, entries);
    if (!st && st.error().what == log_error::kind::compacted) {
      start_snapshot_send(p);
      return;
    }
    if (!st || entries.empty() || entries.front().index != next) {
      // An I/O or checksum failure is not a compaction: never answer it with a snapshot.
      stop("reading entry " + std::to_string(next.value) + " for " + p.id.to_string() + ": " +
           (st ? std::string{"not in the log"} : st.error().message));
      return;
    }
    auto sent_last = entries.back().index;
    send(p.id, append_entries_rpc{current_term_, cfg_.id, commit_index_, prev, *prev_term, std::move(entries)});
    p.repl.sent_entries(sent_last);
    p.repl.set_commit_sent(commit_index_);
    sent = true;
  }
  if (!sent && (force_heartbeat || p.repl.commit_sent() < commit_index_)) {
    // An empty AE anchored at the peer's known match point (or our snapshot point, which
    // is committed and so matches any log that holds it): it carries the commit index
    // without risking a spurious rejection for entries still in flight.
    auto prev = std::max(p.repl.match(), log_.first_index() - 1);
    auto prev_term = log_.term_at(prev);
    if (!prev_term) {
      stop("the log cannot tell the term of entry " + std::to_string(prev.value));
      return;
    }
    send(p.id, append_entries_rpc{current_term_, cfg_.id, commit_index_, prev, *prev_term, {}});
    p.repl.set_commit_sent(commit_index_);
  }
}

void server::on_append_entries_reply(const server_id& from, const append_entries_reply& m) {
  // Called by step_leader, in our term.
  auto p = find_peer(from);
  if (!p) return;
  if (!p->machine_version_known || p->machine_version != m.machine_version) {
    p->machine_version_known = true;
    p->machine_version = m.machine_version;
    maybe_upgrade_machine_version();
  }
  if (m.success) {
    p->repl.on_accept(m.last_index, log_.term_at(m.last_index) == m.last_term);
    if (p->repl.match() >= log_.last_index()) p->repl.caught_up();
    advance_commit();
    if (!is_leaderish()) return;  // applying may end the leadership (removal, deletion)
    maybe_promote();
  } else if (!p->repl.on_reject(m.next_index)) {
    return;
  }
  replicate_to(*p, false);
}

void server::advance_commit() {
  if (!is_leaderish()) return;
  std::vector<index_t> acks;
  if (is_voter()) acks.push_back(log_.last_written().index);
  for (auto& p : lead()->peers)
    if (cluster_.is_voter(p->id)) acks.push_back(p->repl.match());
  auto agreed_at = quorum::agreed_value(std::move(acks), cluster_.quorum());
  if (!agreed_at) return;
  auto agreed = *agreed_at;
  // Only an entry of the current term is committed by counting (Raft figure 8);
  // earlier entries commit with it.
  if (agreed > commit_index_ && log_.term_at(agreed) == current_term_) {
    commit_index_ = agreed;
    lead()->replication_due = true;
    apply_committed();
  }
}

void server::handle_storage_error(std::string message) {
  if (pending_install_) return defer([this, message] { handle_storage_error(message); });
  if (role_ == role::stopped) return;
  if (storage_error_.empty()) written_at_error_ = log_.last_written().index;
  storage_error_ = std::move(message);
}

void server::handle_log_written() {
  if (pending_install_) return defer([this] { handle_log_written(); });
  if (role_ == role::stopped) return;
  if (!storage_error_.empty() && log_.last_written().index > written_at_error_) {
    storage_error_.clear();
    if (auto* l = lead()) l->storage_failed_ticks = 0;  // the failures were not in a row
  }
  if (is_leaderish()) {
    advance_commit();
  } else {
    follower_ack();
  }
}

void server::maybe_arm_tick() {
  auto& l = *lead();
  if (l.tick_armed) return;
  bool work = machine_wants_tick_ || !l.low_priority.empty() || !l.batched.empty() || !l.queries.empty() ||
              !l.pending.empty() || !storage_error_.empty();
  auto last = log_.last_index();
  for (auto& p : l.peers)
    work = work || p->repl.match() < last || p->repl.commit_sent() < commit_index_ ||
           p->repl.current() == progress::state::snapshot;
  if (!work) return;  // idle leaders arm no timer: thousands of idle clusters cost nothing
  l.tick_armed = true;
  emit(set_timer_action{timer_kind::tick, cfg_.tick_timeout_ms});
}

void server::on_tick() {
  auto last = log_.last_index();
  each_peer([&](peer& peer) {
    auto* p = &peer;
    if (auto* snap = p->repl.sending()) {
      // No chunk acknowledged for a whole tick: the transfer stalled (a lost message, or
      // the follower restarted). Start it over, backing off exponentially (1, 2, 4 ...
      // up to 64 ticks) so a follower that keeps failing is not flooded.
      if (snap->progressed) {
        snap->progressed = false;
        snap->stalled_ticks = 0;
        snap->retries = 0;
      } else if (++snap->stalled_ticks >= (uint32_t{1} << std::min<uint32_t>(snap->retries, 6))) {
        snap->stalled_ticks = 0;
        ++snap->retries;
        snap->chunks_acked = 0;
        send_snapshot_chunk(*p);
      }
      return;
    }
    bool stalled = p->repl.stalled_since_last_tick();
    if (p->repl.match() < last && stalled) {
      // Unacknowledged entries and no progress for a whole tick: AEs or replies were lost
      // (or the peer restarted). Resend from the match point.
      p->repl.rewind();
      replicate_to(*p, true);
    } else if (p->repl.match() < last || p->repl.commit_sent() < commit_index_) {
      replicate_to(*p, false);
    }
  });
  if (!lead()) return;
  hand_over_if_storage_failing();
  send_query_heartbeats();
  effects tick_effects;
  if (role_ == role::leader && guard_machine("tick", [&] { tick_effects = machine_->tick(now_ms_); }))
    run_effects(std::move(tick_effects), false);
  if (auto* l = lead(); l && (!l->low_priority.empty() || !l->batched.empty())) handle_flush_commands();
}

// -- follower side ------------------------------------------------------------------

index_term server::ack_point() const {
  // Acknowledge only what is durable here and known to match the leader's log.
  auto written = log_.last_written().index;
  auto i = std::min(written, following()->consistent_index);
  return {i, log_.term_at(i).value_or(term_t{0})};
}

void server::on_append_entries(const server_id& from, const append_entries_rpc& m) {
  // Called by step_follower, from our term's leader.
  auto last = log_.last_index();
  ++metrics_.aer_received;

  auto reject = [&](index_t next) {
    send(from, append_entries_reply{current_term_, false, next, last, log_.term_at(last).value_or(term_t{0}), machine_code_version_});
  };
  auto snap_index = log_.first_index() - 1;
  if (m.prev_log_index > last) return reject(last + 1);
  if (m.prev_log_index >= snap_index) {
    auto t = log_.term_at(m.prev_log_index);
    if (t != m.prev_log_term) {
      // Fast back-tracking: skip the whole conflicting term (never below the commit
      // point, whose entries match every leader's).
      auto conflict = m.prev_log_index;
      while (conflict > snap_index + 1 && conflict - 1 > commit_index_ && log_.term_at(conflict - 1) == t)
        conflict = conflict - 1;
      return reject(std::max(conflict, commit_index_ + 1));
    }
  }
  // Find the first entry we do not already hold (same index and term); truncate there.
  size_t skip = 0;
  for (; skip < m.entries.size(); ++skip) {
    auto& e = m.entries[skip];
    if (e.index <= snap_index) continue;  // covered by our snapshot
    auto t = log_.term_at(e.index);
    if (!t || *t != e.term) break;
  }
  if (skip < m.entries.size()) {
    auto first_new = m.entries[skip].index;
    if (first_new <= commit_index_) {
      stop("leader " + from.to_string() + " conflicts with committed entry " + std::to_string(first_new.value));
      return;
    }
    append_local(std::vector<log_entry>(m.entries.begin() + static_cast<std::ptrdiff_t>(skip), m.entries.end()));
  }
  auto covered = m.prev_log_index + m.entries.size();
  auto& f = *following();
  f.consistent_index = std::max(f.consistent_index, covered);
  auto new_commit = std::min(m.leader_commit, f.consistent_index);
  if (new_commit > commit_index_) {
    commit_index_ = new_commit;
    apply_committed();
    if (!following() || role_ == role::stopped) return;
  }
  auto ack = ack_point();
  // Reply now if there is progress to report, if everything this AE carried is already
  // durable (a resend: our earlier reply may have been lost), or if the leader's view of
  // our match point (an empty AE's anchor) is behind. Entries not yet durable are
  // acknowledged by follower_ack() once written.
  bool resend_covered = !m.entries.empty() && ack.index >= covered;
  bool anchor_behind = m.entries.empty() && m.prev_log_index < ack.index;
  auto& acked = following()->acked_index;
  if (ack.index > acked || resend_covered || anchor_behind) {
    acked = std::max(acked, ack.index);
    send(from, append_entries_reply{current_term_, true, log_.last_index() + 1, ack.index, ack.term, machine_code_version_});
  }
}

void server::follower_ack() {
  if (role_ != role::follower || !leader_id_) return;
  auto ack = ack_point();
  auto& acked = following()->acked_index;
  if (ack.index <= acked) return;
  acked = ack.index;
  send(*leader_id_, append_entries_reply{current_term_, true, log_.last_index() + 1, ack.index, ack.term, machine_code_version_});
}

}  // namespace ra
