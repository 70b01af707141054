// Queries: local (any member), leader, and consistent (ReadIndex: record the commit index,
// confirm leadership with a quorum heartbeat round, answer once applied reaches it).

#include "libra/server_internal.hpp"

namespace ra {

namespace {
std::any run_query(const query_fn& fn, const machine& m, std::optional<command_error>& err) {
  try {
    return fn(m);
  } catch (const std::exception&) {
    err = command_error{error_code::invalid_argument, {}};
    return {};
  }
}
}  // namespace

void server::handle_query(query_request req) {
  auto leader = leader_id_.value_or(server_id{});
  std::optional<command_error> err;
  switch (req.kind) {
    case query_kind::local: {
      auto result = run_query(req.fn, *machine_, err);
      emit(query_reply_action{req.from, leader, std::move(result), err});
      return;
    }
    case query_kind::leader:
      if (role_ != role::leader) {
        emit(query_reply_action{req.from, leader, {}, command_error{error_code::not_leader, leader}});
        return;
      } else {
        auto result = run_query(req.fn, *machine_, err);
        emit(query_reply_action{req.from, leader, std::move(result), err});
        return;
      }
    case query_kind::consistent:
      break;
  }
  if (role_ != role::leader) {
    auto code = role_ == role::stopped ? error_code::stopped : error_code::not_leader;
    emit(query_reply_action{req.from, leader, {}, command_error{code, leader}});
    return;
  }
  ++metrics_.consistent_queries;
  auto q = std::make_unique<pending_query>();
  q->from = req.from;
  q->fn = std::move(req.fn);
  // Until our noop commits we do not know the commit index of earlier terms.
  if (commit_index_ >= term_start_index_ && last_applied_ >= term_start_index_) q->read_index = commit_index_;
  queries_.push_back(std::move(q));
  if (queries_.back()->read_index) start_query_round();
}

void server::start_query_round() {
  bool any = false;
  for (auto& q : queries_)
    if (q->read_index && q->round == 0) {
      if (!any) ++query_seq_;
      q->round = query_seq_;
      any = true;
    }
  if (!any) return;
  send_query_heartbeats();
  // A single voter confirms its own leadership.
  on_heartbeat_reply(cfg_.id, heartbeat_reply{current_term_, query_seq_});
}

void server::send_query_heartbeats() {
  bool unconfirmed = false;
  for (auto& q : queries_) unconfirmed = unconfirmed || (q->round != 0 && !q->confirmed);
  if (!unconfirmed || role_ != role::leader) return;
  for (auto& p : peers_)
    if (p->is_voter()) send(p->id, heartbeat_rpc{current_term_, cfg_.id, query_seq_});
}

void server::on_heartbeat(const server_id& from, const heartbeat_rpc& m) {
  if (m.term < current_term_) {
    send(from, heartbeat_reply{current_term_, 0});
    return;
  }
  if (is_leaderish() && m.term == current_term_) return;  // cannot happen with one leader per term
  if (m.term > current_term_ || role_ != role::follower) become_follower(m.term, m.leader_id);
  note_leader(m.leader_id);
  send(from, heartbeat_reply{current_term_, m.query_index});
}

void server::on_heartbeat_reply(const server_id& from, const heartbeat_reply& m) {
  if (m.term > current_term_) {
    become_follower(m.term, std::nullopt);
    return;
  }
  if (role_ != role::leader || m.term != current_term_) return;
  if (auto p = find_peer(from)) p->query_index = std::max(p->query_index, m.query_index);
  // The highest round a quorum of voters (ourselves included) has confirmed.
  std::vector<uint64_t> acks;
  if (is_voter()) acks.push_back(query_seq_);
  for (auto& p : peers_)
    if (p->is_voter()) acks.push_back(p->query_index);
  auto q = cluster_.quorum();
  if (acks.size() < q) return;
  std::nth_element(acks.begin(), acks.begin() + (q - 1), acks.end(), std::greater<>{});
  auto confirmed = acks[q - 1];
  for (auto& query : queries_)
    if (query->round != 0 && query->round <= confirmed) query->confirmed = true;
  serve_ready_queries();
}

void server::serve_ready_queries() {
  if (role_ != role::leader) return;
  std::erase_if(queries_, [&](const std::unique_ptr<pending_query>& q) {
    if (!q->confirmed || !q->read_index || *q->read_index > last_applied_) return false;
    std::optional<command_error> err;
    auto result = run_query(q->fn, *machine_, err);
    emit(query_reply_action{q->from, cfg_.id, std::move(result), err});
    return true;
  });
}

void server::fail_queries(error_code code) {
  auto hint = leader_id_ && *leader_id_ != cfg_.id ? *leader_id_ : server_id{};
  for (auto& q : queries_) emit(query_reply_action{q->from, hint, {}, command_error{code, hint}});
  queries_.clear();
}

}  // namespace ra
