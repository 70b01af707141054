// Queries: local (any member), leader, and consistent (ReadIndex: record the commit index,
// confirm leadership with a quorum heartbeat round, answer once applied reaches it).

#include "libra/server_internal.hpp"

namespace ra {

namespace {
std::any run_query(const query_fn& fn, const machine& m, std::optional<command_error>& err) {
  try {
    return fn(m);
  } catch (...) {  // a failing query is the caller's error, whatever it throws
    err = command_error{error_code::invalid_argument, {}};
    return {};
  }
}
}  // namespace

void server::handle_query(query_request req) {
  if (pending_install_) return defer([this, req] { handle_query(req); });
  auto leader = leader_id_.value_or(server_id{});
  std::optional<command_error> err;
  if (req.kind == query_kind::local) {
    auto result = run_query(req.fn, *machine_, err);
    emit(query_reply_action{req.from, leader, std::move(result), err});
    return;
  }
  if (role_ != role::leader) {
    auto refusal = not_leader_error();
    emit(query_reply_action{req.from, refusal.leader, {}, refusal});
    return;
  }
  if (req.kind == query_kind::leader) {
    auto result = run_query(req.fn, *machine_, err);
    emit(query_reply_action{req.from, leader, std::move(result), err});
    return;
  }
  ++metrics_.consistent_queries;
  auto& l = *lead();
  auto q = std::make_unique<pending_query>();
  q->from = req.from;
  q->fn = std::move(req.fn);
  // Until our noop commits we do not know the commit index of earlier terms.
  if (commit_index_ >= l.term_start_index && last_applied_ >= l.term_start_index) q->read_index = commit_index_;
  bool ready = q->read_index.has_value();
  l.queries.push_back(std::move(q));
  if (ready) start_query_round();
}

void server::start_query_round() {
  auto& l = *lead();
  bool any = false;
  for (auto& q : l.queries)
    if (q->read_index && q->round == 0) {
      if (!any) ++l.query_seq;
      q->round = l.query_seq;
      any = true;
    }
  if (!any) return;
  send_query_heartbeats();
  // A single voter confirms its own leadership.
  on_heartbeat_reply(cfg_.id, heartbeat_reply{current_term_, l.query_seq});
}

void server::send_query_heartbeats() {
  auto* l = lead();
  if (!l || role_ != role::leader) return;
  bool unconfirmed = false;
  for (auto& q : l->queries) unconfirmed = unconfirmed || (q->round != 0 && !q->confirmed);
  if (!unconfirmed) return;
  for (auto& p : l->peers)
    if (p->is_voter()) send(p->id, heartbeat_rpc{current_term_, cfg_.id, l->query_seq});
}

void server::on_heartbeat(const server_id& from, const heartbeat_rpc& m) {
  // Called by step_follower, from our term's leader: confirm it still leads.
  send(from, heartbeat_reply{current_term_, m.query_index});
}

void server::on_heartbeat_reply(const server_id& from, const heartbeat_reply& m) {
  // Called by step_leader in our term (and by start_query_round for our own vote).
  if (role_ != role::leader) return;  // a transferring leader serves no queries
  auto& l = *lead();
  if (auto p = find_peer(from)) p->query_index = std::max(p->query_index, m.query_index);
  // The highest round a quorum of voters (ourselves included) has confirmed.
  std::vector<uint64_t> acks;
  if (is_voter()) acks.push_back(l.query_seq);
  for (auto& p : l.peers)
    if (p->is_voter()) acks.push_back(p->query_index);
  auto agreed = quorum::agreed_value(std::move(acks), cluster_.quorum());
  if (!agreed) return;
  auto confirmed = *agreed;
  for (auto& query : l.queries)
    if (query->round != 0 && query->round <= confirmed) query->confirmed = true;
  serve_ready_queries();
}

void server::serve_ready_queries() {
  if (role_ != role::leader) return;
  std::erase_if(lead()->queries, [&](const std::unique_ptr<pending_query>& q) {
    if (!q->confirmed || !q->read_index || *q->read_index > last_applied_) return false;
    std::optional<command_error> err;
    auto result = run_query(q->fn, *machine_, err);
    emit(query_reply_action{q->from, cfg_.id, std::move(result), err});
    return true;
  });
}

void server::fail_queries(error_code code) {
  auto* l = lead();
  if (!l) return;
  auto hint = leader_id_ && *leader_id_ != cfg_.id ? *leader_id_ : server_id{};
  for (auto& q : l->queries) emit(query_reply_action{q->from, hint, {}, command_error{code, hint}});
  l->queries.clear();
}

}  // namespace ra
