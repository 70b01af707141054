// Log replication: appending, AppendEntries on both sides, commit, the leader's tick.

#include "libra/server_internal.hpp"

namespace ra {

// -- leader side ----------------------------------------------------------------------

void server::handle_command(command_request req) {
  if (role_ == role::stopped) return reply_error(req.from, error_code::stopped), void();
  if (role_ != role::leader) {
    auto hint = role_ == role::await_condition ? transfer_target_.value_or(server_id{})
                                               : leader_id_.value_or(server_id{});
    if (req.mode == reply_mode::notify)
      emit(reject_action{req.from, req.correlation, command_error{error_code::not_leader, hint}});
    else if (req.mode != reply_mode::noreply)
      reply_error(req.from, error_code::not_leader, hint);
    return;
  }
  if (!storage_error_.empty()) {
    if (req.mode == reply_mode::notify)
      emit(reject_action{req.from, req.correlation, command_error{error_code::storage_unavailable, cfg_.id}});
    else if (req.mode != reply_mode::noreply)
      reply_error(req.from, error_code::storage_unavailable, cfg_.id);
    return;
  }
  ++metrics_.commands;
  if (req.priority == command_priority::low || cfg_.batch_commands) {
    if (req.priority == command_priority::low)
      low_priority_.push_back(std::move(req));
    else
      batched_.push_back(std::move(req));
    if (!flush_requested_) {
      flush_requested_ = true;
      emit(flush_commands_action{});
    }
    return;
  }
  append_commands({std::move(req)});
}

void server::handle_flush_commands() {
  flush_requested_ = false;
  if (role_ != role::leader) return;
  // Normal commands first (all of them), then up to a flush-size of low-priority ones,
  // appended as one batch: one log write, one AE per follower.
  std::vector<command_request> batch;
  batch.swap(batched_);
  for (uint32_t n = 0; n < cfg_.low_priority_commands_flush_size && low_priority_head_ < low_priority_.size(); ++n)
    batch.push_back(std::move(low_priority_[low_priority_head_++]));
  if (low_priority_head_ == low_priority_.size()) {
    low_priority_.clear();
    low_priority_.shrink_to_fit();
    low_priority_head_ = 0;
  } else if (low_priority_head_ * 2 > low_priority_.size()) {
    low_priority_.erase(low_priority_.begin(), low_priority_.begin() + static_cast<std::ptrdiff_t>(low_priority_head_));
    low_priority_head_ = 0;
  }
  append_commands(std::move(batch));
  if (!low_priority_.empty()) {
    flush_requested_ = true;
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
        pending_.emplace(idx, std::move(req));
        break;
      case reply_mode::noreply:
        break;
    }
  }
  append_local(std::move(entries));
  replication_due_ = true;
}

index_t server::append_new(entry_kind kind, shared_bytes payload) {
  auto idx = log_.last_index() + 1;
  std::vector<log_entry> one;
  one.push_back(log_entry{idx, current_term_, kind, now_ms_, std::move(payload)});
  append_local(std::move(one));
  replication_due_ = true;
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
  for (auto& p : peers_) replicate_to(*p, force_heartbeat);
}

void server::replicate_to(peer& p, bool force_heartbeat) {
  if (!is_leaderish() || p.sending_snapshot) return;
  auto last = log_.last_index();
  bool sent = false;
  // While probing, one AE at a time; otherwise up to max_pipeline_count unacknowledged.
  auto may_send = [&] { return p.probing ? !p.probe_in_flight : p.in_flight() < cfg_.max_pipeline_count; };
  while (p.next_index <= last && may_send()) {
    auto prev = p.next_index - 1;
    auto prev_term = log_.term_at(prev);
    if (!prev_term || p.next_index < log_.first_index()) {
      start_snapshot_send(p);
      return;
    }
    auto to = std::min(last, p.next_index + (cfg_.max_append_entries_rpc_batch_size - 1));
    std::vector<log_entry> entries;
    log_.read(p.next_index, to, cfg_.max_append_entries_rpc_batch_size, entries);
    if (entries.empty() || entries.front().index != p.next_index) {
      start_snapshot_send(p);
      return;
    }
    auto n = entries.size();
    send(p.id, append_entries_rpc{current_term_, cfg_.id, commit_index_, prev, *prev_term, std::move(entries)});
    p.next_index = p.next_index + n;
    p.commit_index_sent = commit_index_;
    if (p.probing) p.probe_in_flight = true;
    sent = true;
  }
  if (!sent && (force_heartbeat || p.commit_index_sent < commit_index_)) {
    // An empty AE anchored at the peer's known match point (or our snapshot point, which
    // is committed and so matches any log that holds it): it carries the commit index
    // without risking a spurious rejection for entries still in flight.
    auto prev = std::max(p.match_index, log_.first_index() - 1);
    auto prev_term = log_.term_at(prev);
    if (!prev_term) {
      start_snapshot_send(p);
      return;
    }
    send(p.id, append_entries_rpc{current_term_, cfg_.id, commit_index_, prev, *prev_term, {}});
    p.commit_index_sent = commit_index_;
  }
}

void server::on_append_entries_reply(const server_id& from, const append_entries_reply& m) {
  if (m.term > current_term_) {
    become_follower(m.term, std::nullopt);
    return;
  }
  if (!is_leaderish() || m.term != current_term_) return;
  auto p = find_peer(from);
  if (!p) return;
  if (!p->machine_version_known || p->machine_version != m.machine_version) {
    p->machine_version_known = true;
    p->machine_version = m.machine_version;
    maybe_upgrade_machine_version();
  }
  if (m.success) {
    p->probe_in_flight = false;
    if (p->sending_snapshot) p->sending_snapshot = false;  // the peer caught up anyway
    if (log_.term_at(m.last_index) == m.last_term && m.last_index > p->match_index) {
      p->match_index = m.last_index;
    }
    p->probing = false;
    if (p->next_index <= p->match_index) p->next_index = p->match_index + 1;
    if (p->match_index >= log_.last_index()) p->match_at_tick = p->match_index;
    advance_commit();
    maybe_promote();
  } else {
    // Stale rejections (of AEs sent before an earlier rewind) point at or beyond where
    // we already are while probing: ignore them.
    if (p->probing && m.next_index >= p->next_index) return;
    p->probe_in_flight = false;
    auto hint = std::min(m.next_index, p->next_index);
    p->next_index = std::max(p->match_index + 1, hint);
    p->probing = true;
  }
  replicate_to(*p, false);
}

void server::advance_commit() {
  if (!is_leaderish()) return;
  std::vector<index_t> acks;
  if (is_voter()) acks.push_back(log_.last_written().index);
  for (auto& p : peers_)
    if (cluster_.is_voter(p->id)) acks.push_back(p->match_index);
  auto q = cluster_.quorum();
  if (acks.size() < q) return;
  std::nth_element(acks.begin(), acks.begin() + (q - 1), acks.end(), std::greater<>{});
  auto agreed = acks[q - 1];
  // Only an entry of the current term is committed by counting (Raft figure 8);
  // earlier entries commit with it.
  if (agreed > commit_index_ && log_.term_at(agreed) == current_term_) {
    commit_index_ = agreed;
    replication_due_ = true;
    apply_committed();
  }
}

void server::handle_storage_error(std::string message) {
  if (role_ == role::stopped) return;
  if (storage_error_.empty()) written_at_error_ = log_.last_written().index;
  storage_error_ = std::move(message);
}

void server::handle_log_written() {
  if (role_ == role::stopped) return;
  if (!storage_error_.empty() && log_.last_written().index > written_at_error_) storage_error_.clear();
  if (is_leaderish()) {
    advance_commit();
  } else {
    follower_ack();
  }
}

void server::maybe_arm_tick() {
  if (tick_armed_) return;
  bool work = machine_->wants_tick() || !low_priority_.empty() || !batched_.empty() || !queries_.empty() || !pending_.empty();
  auto last = log_.last_index();
  for (auto& p : peers_)
    work = work || p->match_index < last || p->commit_index_sent < commit_index_ || p->sending_snapshot;
  if (!work) return;  // idle leaders arm no timer: thousands of idle clusters cost nothing
  tick_armed_ = true;
  emit(set_timer_action{timer_kind::tick, cfg_.tick_timeout_ms});
}

void server::on_tick() {
  auto last = log_.last_index();
  for (auto& p : peers_) {
    if (p->sending_snapshot) {
      // No chunk acknowledged for a whole tick: the transfer stalled (a lost message, or
      // the follower restarted). Start it over, backing off exponentially (1, 2, 4 ...
      // up to 64 ticks) so a follower that keeps failing is not flooded.
      if (p->snapshot_progressed) {
        p->snapshot_progressed = false;
        p->snapshot_stalled_ticks = 0;
        p->snapshot_retries = 0;
      } else if (++p->snapshot_stalled_ticks >= (uint32_t{1} << std::min<uint32_t>(p->snapshot_retries, 6))) {
        p->snapshot_stalled_ticks = 0;
        ++p->snapshot_retries;
        p->chunks_acked = 0;
        send_snapshot_chunk(*p);
      }
      continue;
    }
    bool stalled = p->match_index == p->match_at_tick;
    p->match_at_tick = p->match_index;
    if (p->match_index < last && stalled) {
      // Unacknowledged entries and no progress for a whole tick: AEs or replies were lost
      // (or the peer restarted). Resend from the match point.
      p->next_index = p->match_index + 1;
      p->probe_in_flight = false;
      replicate_to(*p, true);
    } else if (p->match_index < last) {
      replicate_to(*p, false);
    } else if (p->commit_index_sent < commit_index_) {
      replicate_to(*p, false);
    }
  }
  send_query_heartbeats();
  if (role_ == role::leader) run_effects(machine_->tick(now_ms_), false);
  if (!low_priority_.empty() || !batched_.empty()) handle_flush_commands();
}

// -- follower side ------------------------------------------------------------------

index_term server::ack_point() const {
  // Acknowledge only what is durable here and known to match the leader's log.
  auto written = log_.last_written().index;
  auto i = std::min(written, consistent_index_);
  return {i, log_.term_at(i).value_or(term_t{0})};
}

void server::on_append_entries(const server_id& from, const append_entries_rpc& m) {
  auto last = log_.last_index();
  if (m.term < current_term_) {
    send(from, append_entries_reply{current_term_, false, last + 1, last, log_.term_at(last).value_or(term_t{0}), machine_->version()});
    return;
  }
  if (is_leaderish() && m.term == current_term_) {
    stop("two leaders in term " + std::to_string(m.term.value) + ": " + from.to_string());
    return;
  }
  if (m.term > current_term_ || role_ != role::follower) become_follower(m.term, m.leader_id);
  note_leader(m.leader_id);
  ++metrics_.aer_received;

  auto reject = [&](index_t next) {
    send(from, append_entries_reply{current_term_, false, next, last, log_.term_at(last).value_or(term_t{0}), machine_->version()});
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
  consistent_index_ = std::max(consistent_index_, covered);
  auto new_commit = std::min(m.leader_commit, consistent_index_);
  if (new_commit > commit_index_) {
    commit_index_ = new_commit;
    apply_committed();
  }
  auto ack = ack_point();
  // Reply now if there is progress to report, if everything this AE carried is already
  // durable (a resend: our earlier reply may have been lost), or if the leader's view of
  // our match point (an empty AE's anchor) is behind. Entries not yet durable are
  // acknowledged by follower_ack() once written.
  bool resend_covered = !m.entries.empty() && ack.index >= covered;
  bool anchor_behind = m.entries.empty() && m.prev_log_index < ack.index;
  if (ack.index > acked_index_ || resend_covered || anchor_behind) {
    acked_index_ = std::max(acked_index_, ack.index);
    send(from, append_entries_reply{current_term_, true, log_.last_index() + 1, ack.index, ack.term, machine_->version()});
  }
}

void server::follower_ack() {
  if (role_ != role::follower || !leader_id_) return;
  auto ack = ack_point();
  if (ack.index <= acked_index_) return;
  acked_index_ = ack.index;
  send(*leader_id_, append_entries_reply{current_term_, true, log_.last_index() + 1, ack.index, ack.term, machine_->version()});
}

}  // namespace ra
