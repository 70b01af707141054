// Elections: pre-vote, vote, leader transfer (timeout_now).

#include "libra/server_internal.hpp"

namespace ra {

bool server::may_campaign() const {
  if (is_voter()) return true;
  if (cluster_.contains(cfg_.id) || config_history_.empty()) return false;  // a learner, or never a member
  auto newest = config_history_.rbegin()->first;
  return newest > commit_index_ && config_at(newest - 1).is_voter(cfg_.id);
}

void server::become_pre_vote() {
  if (!may_campaign()) return;
  if (auto* f = following(); f && f->receipt) abandon_receipt();  // its leader is gone
  leader_id_.reset();
  role_state_ = candidate_state{rng_(), {}};
  set_role(role::pre_vote);
  ++metrics_.pre_vote_elections;
  auto& c = *standing();
  if (is_voter()) c.votes.grant(cfg_.id);
  if (c.votes.won(cluster_.quorum())) {
    become_candidate(false);
    return;
  }
  auto last = last_entry();
  for (auto& m : cluster_.members())
    if (m.kind == membership::voter && m.id != cfg_.id)
      send(m.id, pre_vote_rpc{current_term_ + 1, cfg_.id, last.index, last.term, c.token, machine_code_version_});
  arm_election(long_timeout());
}

void server::become_candidate(bool transfer) {
  if (!may_campaign()) return;
  if (auto* f = following(); f && f->receipt) abandon_receipt();
  current_term_ = current_term_ + 1;
  ++metrics_.term_changes;
  voted_for_ = cfg_.id;
  // Durable before anyone can see a vote request for this term.
  emit(persist_meta_action{current_term_, cfg_.id});
  leader_id_.reset();
  role_state_ = candidate_state{};
  set_role(role::candidate);
  ++metrics_.elections;
  auto& c = *standing();
  if (is_voter()) c.votes.grant(cfg_.id);
  if (c.votes.won(cluster_.quorum())) {
    become_leader();
    return;
  }
  auto last = last_entry();
  for (auto& m : cluster_.members())
    if (m.kind == membership::voter && m.id != cfg_.id)
      send(m.id, request_vote_rpc{current_term_, cfg_.id, last.index, last.term, transfer});
  arm_election(medium_timeout());
}

void server::on_pre_vote(const server_id& from, const pre_vote_rpc& m) {
  // Any server answers, whatever its own config says: a member promoted (or added) by
  // an entry it has not received yet must still be able to vote, or an election can
  // deadlock. The candidate counts only the replies of those its config names voters.
  auto reject = [&] { send(from, pre_vote_result{current_term_, m.token, false}); };
  if (m.term <= current_term_) return reject();  // the candidate is behind our term
  // A candidate whose code cannot run the cluster's effective machine version must not lead.
  if (m.machine_version < machine_version_) return reject();
  if (is_leaderish()) {
    // A member thinks we are gone: reject and remind it who leads.
    reject();
    snapshot_peer_heard(from);
    if (auto p = find_peer(from)) replicate_to(*p, true);
    return;
  }
  // Leader stickiness: while we hear from a live leader, nobody else may start an
  // election (this is what keeps a rejoining, partitioned member from disrupting).
  if (role_ == role::follower && leader_alive() && leader_id_ != from) return reject();
  send(from, pre_vote_result{current_term_, m.token, log_up_to_date(m.last_log_index, m.last_log_term)});
}

void server::on_pre_vote_result(const server_id& from, const pre_vote_result& m) {
  // Called in pre_vote only. The reply carries the voter's own term, which may be lower
  // than ours (a member that missed an election): its grant still counts.
  auto& c = *standing();
  if (m.token != c.token || !m.vote_granted || !cluster_.is_voter(from)) return;
  if (c.votes.grant(from) && c.votes.won(cluster_.quorum())) become_candidate(false);
}

void server::on_request_vote(const server_id& from, const request_vote_rpc& m) {
  // Every role, after the prologue: the term is ours now.
  bool grant = (!voted_for_ || *voted_for_ == m.candidate_id) &&
               log_up_to_date(m.last_log_index, m.last_log_term);
  if (grant) {
    voted_for_ = m.candidate_id;
    emit(persist_meta_action{current_term_, voted_for_});  // durable before the grant leaves
    if (role_ == role::follower && !leader_alive()) arm_election(long_timeout());
  }
  send(from, request_vote_result{current_term_, grant});
}

void server::on_request_vote_result(const server_id& from, const request_vote_result& m) {
  // Called in candidate only, in our term.
  if (!m.vote_granted || !cluster_.is_voter(from)) return;
  auto& c = *standing();
  if (c.votes.grant(from) && c.votes.won(cluster_.quorum())) become_leader();
}

void server::on_timeout_now() {
  // Leadership transfer: no pre-vote, stand at once.
  if (is_voter()) become_candidate(true);
}

void server::handle_transfer_leadership(client_ref from, const server_id& target) {
  if (pending_install_) return defer([this, from, target] { handle_transfer_leadership(from, target); });
  if (role_ != role::leader) {
    auto err = not_leader_error();
    return reply_error(from, err.code, err.leader);
  }
  if (target == cfg_.id) return reply_error(from, error_code::already_leader, cfg_.id);
  auto m = cluster_.find(target);
  if (!m) return reply_error(from, error_code::unknown_member, cfg_.id);
  if (m->kind != membership::voter) return reply_error(from, error_code::non_voter, cfg_.id);
  auto p = find_peer(target);
  if (!p || p->repl.match() != log_.last_index()) return reply_error(from, error_code::not_up_to_date, cfg_.id);
  begin_transfer(target);
  emit(reply_action{from, index_t{0}, current_term_, cfg_.id, {}, std::nullopt});
}

void server::begin_transfer(const server_id& target) {
  send(target, timeout_now_rpc{current_term_, cfg_.id});
  lead()->transfer_target = target;
  set_role(role::await_condition);
  emit(set_timer_action{timer_kind::await_condition, cfg_.await_condition_timeout_ms});
}

void server::hand_over_if_storage_failing() {
  auto& l = *lead();
  if (storage_error_.empty()) {
    l.storage_failed_ticks = 0;
    return;
  }
  // Commands are refused while the log cannot be written, and the followers, hearing a
  // live leader, never elect: without this a full disk on the leader's node alone would
  // stop the group's writes until an operator acts.
  if (role_ != role::leader || ++l.storage_failed_ticks < storage_failure_ticks_before_handover) return;
  l.storage_failed_ticks = 0;
  // Even a voter behind our last index may take over: what it lacks is not durable here
  // and so not committed; the election keeps every committed entry.
  if (auto* best = most_up_to_date_voter()) begin_transfer(best->id);
}

void server::become_leader() {
  emit(cancel_timer_action{timer_kind::election});
  leader_id_ = cfg_.id;
  role_state_ = std::make_unique<leader_state>();
  rebuild_peers();
  set_role(role::leader);
  if (!lead()) return;  // state_enter's effects may not end a leadership, but be sure
  // The noop commits the new term; until it applies, membership changes and
  // consistent queries wait (Raft figure 8).
  lead()->appended_machine_version = machine_version_;
  lead()->term_start_index = append_new(entry_kind::noop, encode_noop(machine_version_));
  each_peer([&](peer& p) { replicate_to(p, true); });
}

}  // namespace ra
