// Peer messages: one prologue for every message and role (the term comparison, the
// two-leaders check), then a step per role, as etcd's Step + stepLeader/stepCandidate/
// stepFollower and Ra's handle_<role> clauses. The handlers the steps call live in the
// topic files (election.cpp, replication.cpp, queries.cpp, snapshots.cpp).

#include "libra/overloaded.hpp"
#include "libra/server_internal.hpp"

namespace ra {

namespace {

/// The term a message is judged by.
term_t term_of(const peer_message& msg) {
  return std::visit([](const auto& m) { return m.term; }, msg);
}

/// The sender, if the message is one only a leader sends to its followers.
std::optional<server_id> leader_of(const peer_message& msg) {
  return std::visit(overloaded{
                      [](const append_entries_rpc& m) { return std::optional{m.leader_id}; },
                      [](const install_snapshot_rpc& m) { return std::optional{m.leader_id}; },
                      [](const heartbeat_rpc& m) { return std::optional{m.leader_id}; },
                      [](const auto&) { return std::optional<server_id>{}; },
                    },
                    msg);
}

}  // namespace

void server::handle(const server_id& from, const peer_message& msg) {
  if (pending_install_) return defer([this, from, msg] { handle(from, msg); });
  if (role_ == role::stopped) return;
  ++metrics_.messages_received;
  // Pre-votes carry the term the candidate would stand in, not its current one: they
  // never change our term (etcd: "never change our term in response to a PreVote").
  if (auto* pv = std::get_if<pre_vote_rpc>(&msg)) return on_pre_vote(from, *pv);

  // -- the prologue: once for every message, whatever our role -----------------------
  auto term = term_of(msg);
  if (term > current_term_) {
    // A newer term: whatever we were, we follow now (the sender, if it is the leader).
    become_follower(term, leader_of(msg));
  } else if (term < current_term_) {
    // A grant for our pre-vote still counts: the voter may simply have missed a term.
    bool pre_vote_grant = std::holds_alternative<pre_vote_result>(msg) && role_ == role::pre_vote;
    if (!pre_vote_grant) return reject_stale(from, msg);
  }
  if (auto* rv = std::get_if<request_vote_rpc>(&msg)) return on_request_vote(from, *rv);

  switch (role_) {
    case role::leader:
    case role::await_condition: return step_leader(from, msg);
    case role::pre_vote:
    case role::candidate: return step_candidate(from, msg);
    case role::follower:
    case role::receive_snapshot: return step_follower(from, msg);
    case role::stopped: return;
  }
}

void server::reject_stale(const server_id& from, const peer_message& msg) {
  // Tell a stale sender our term (so it steps down or catches up); replies from an
  // earlier term answer nothing we still wait for.
  std::visit(overloaded{
               [&](const append_entries_rpc&) {
                 auto last = log_.last_index();
                 send(from, append_entries_reply{current_term_, false, last + 1, last,
                                                 log_.term_at(last).value_or(term_t{0}), machine_code_version_});
               },
               [&](const install_snapshot_rpc& m) {
                 send(from, install_snapshot_result{current_term_, m.meta.index, 0, index_t{0}, term_t{0}});
               },
               [&](const heartbeat_rpc&) { send(from, heartbeat_reply{current_term_, 0}); },
               [&](const request_vote_rpc&) { send(from, request_vote_result{current_term_, false}); },
               [&](const pre_vote_rpc&) {},  // judged by on_pre_vote
               [&](const timeout_now_rpc&) {},
               [&](const append_entries_reply&) {},
               [&](const install_snapshot_result&) {},
               [&](const heartbeat_reply&) {},
               [&](const request_vote_result&) {},
               [&](const pre_vote_result&) {},
             },
             msg);
}

void server::step_leader(const server_id& from, const peer_message& msg) {
  // Only a leader sends AEs, snapshots and query heartbeats, and a term has one leader:
  // one of these in our own term means the protocol is broken. Stop loudly rather than
  // diverge.
  auto two_leaders = [&] { stop("two leaders in term " + std::to_string(current_term_.value) + ": " + from.to_string()); };
  std::visit(overloaded{
               [&](const append_entries_reply& m) { on_append_entries_reply(from, m); },
               [&](const install_snapshot_result& m) { on_install_snapshot_result(from, m); },
               [&](const heartbeat_reply& m) {
                 snapshot_peer_heard(from);
                 on_heartbeat_reply(from, m);
               },
               [&](const append_entries_rpc&) { two_leaders(); },
               [&](const install_snapshot_rpc&) { two_leaders(); },
               [&](const heartbeat_rpc&) { two_leaders(); },
               // Left over from our candidacy, or for someone else's: nothing to do.
               [&](const timeout_now_rpc&) {},
               [&](const request_vote_result&) {},
               [&](const pre_vote_result&) {},
               [&](const request_vote_rpc&) {},  // the prologue answers votes
               [&](const pre_vote_rpc&) {},
             },
             msg);
}

void server::step_candidate(const server_id& from, const peer_message& msg) {
  auto follow_and_step = [&](const server_id& leader) {
    // Someone won our term: follow it and handle its message as a follower.
    become_follower(current_term_, leader);
    step_follower(from, msg);
  };
  std::visit(overloaded{
               [&](const pre_vote_result& m) {
                 if (role_ == role::pre_vote) on_pre_vote_result(from, m);
               },
               [&](const request_vote_result& m) {
                 if (role_ == role::candidate) on_request_vote_result(from, m);
               },
               [&](const append_entries_rpc& m) { follow_and_step(m.leader_id); },
               [&](const install_snapshot_rpc& m) { follow_and_step(m.leader_id); },
               [&](const heartbeat_rpc& m) { follow_and_step(m.leader_id); },
               [&](const timeout_now_rpc&) { on_timeout_now(); },
               [&](const append_entries_reply&) {},
               [&](const install_snapshot_result&) {},
               [&](const heartbeat_reply&) {},
               [&](const request_vote_rpc&) {},
               [&](const pre_vote_rpc&) {},
             },
             msg);
}

void server::step_follower(const server_id& from, const peer_message& msg) {
  // receive_snapshot is a follower too: messages of the same leader and term (AEs,
  // query heartbeats) are handled as usual and do not abort the transfer (review F4).
  std::visit(overloaded{
               [&](const append_entries_rpc& m) {
                 note_leader(m.leader_id);
                 on_append_entries(from, m);
               },
               [&](const install_snapshot_rpc& m) {
                 note_leader(m.leader_id);
                 on_install_snapshot(from, m);
               },
               [&](const heartbeat_rpc& m) {
                 note_leader(m.leader_id);
                 on_heartbeat(from, m);
               },
               [&](const timeout_now_rpc&) { on_timeout_now(); },
               [&](const append_entries_reply&) {},
               [&](const install_snapshot_result&) {},
               [&](const heartbeat_reply&) {},
               [&](const request_vote_result&) {},
               [&](const pre_vote_result&) {},
               [&](const request_vote_rpc&) {},
               [&](const pre_vote_rpc&) {},
             },
             msg);
}

command_error server::not_leader_error() const {
  if (role_ == role::stopped) return {error_code::stopped, leader_id_.value_or(server_id{})};
  // While transferring leadership the target is the one to ask next.
  if (auto* l = lead(); l && l->transfer_target) return {error_code::not_leader, *l->transfer_target};
  return {error_code::not_leader, leader_id_.value_or(server_id{})};
}

void server::refuse_command(const command_request& req, const command_error& err) {
  if (req.mode == reply_mode::notify)
    emit(reject_action{req.from, req.correlation, err});
  else if (req.mode != reply_mode::noreply)
    reply_error(req.from, err.code, err.leader);
}

}  // namespace ra
