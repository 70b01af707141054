// Single-server membership changes (Raft thesis ch. 4): a change takes effect on every
// member as soon as it is appended; at most one may be uncommitted at a time.

#include "libra/server_internal.hpp"

namespace ra {

bool server::cluster_change_permitted() const {
  if (role_ != role::leader) return false;
  auto start = lead()->term_start_index;
  if (commit_index_ < start || last_applied_ < start) return false;
  return config_history_.empty() || config_history_.rbegin()->first <= commit_index_;
}

void server::handle_membership(membership_request req) {
  if (pending_install_) return defer([this, req] { handle_membership(req); });
  if (role_ != role::leader) {
    auto err = not_leader_error();
    return reply_error(req.from, err.code, err.leader);
  }
  if (!cluster_change_permitted()) return reply_error(req.from, error_code::cluster_change_not_permitted, cfg_.id);
  cluster_config next;
  if (req.op == membership_op::add) {
    if (req.target.id.empty()) return reply_error(req.from, error_code::invalid_argument, cfg_.id);
    if (auto cur = cluster_.find(req.target.id); cur && cur->kind == req.target.kind)
      return reply_error(req.from, error_code::already_member, cfg_.id);
    member m = req.target;
    // A promotable member becomes a voter once it holds everything up to its join.
    m.promote_at = m.kind == membership::promotable ? log_.last_index() + 1 : index_t{0};
    next = cluster_.with(std::move(m));
  } else {
    if (!cluster_.contains(req.target.id)) return reply_error(req.from, error_code::unknown_member, cfg_.id);
    next = cluster_.without(req.target.id);
    if (next.voter_count() == 0) return reply_error(req.from, error_code::invalid_argument, cfg_.id);
  }
  auto idx = append_new(entry_kind::cluster_change, encode_cluster(next));
  if (auto* l = lead()) l->pending_membership.emplace(idx, std::move(req));
}

void server::config_appended(const log_entry& e) {
  auto c = decode_cluster(e.payload);
  if (!c) {
    stop("undecodable cluster change at index " + std::to_string(e.index.value));
    return;
  }
  config_history_[e.index] = std::move(*c);
  recompute_config();
}

void server::truncate_config_history(index_t from) {
  auto it = config_history_.lower_bound(from);
  if (it == config_history_.end()) return;
  config_history_.erase(it, config_history_.end());
  recompute_config();
}

void server::recompute_config() {
  cluster_ = config_history_.empty() ? base_config_ : config_history_.rbegin()->second;
  if (lead()) rebuild_peers();
  watch_removed_leader();
}

cluster_config server::config_at(index_t i) const {
  auto it = config_history_.upper_bound(i);
  if (it == config_history_.begin()) return base_config_;
  return std::prev(it)->second;
}

void server::rebuild_peers() {
  auto& peers = lead()->peers;
  std::vector<std::unique_ptr<peer>> next;
  for (auto& m : cluster_.members()) {
    if (m.id == cfg_.id) continue;
    std::unique_ptr<peer> p;
    for (auto& old : peers)
      if (old && old->id == m.id) p = std::move(old);
    if (!p) p = std::make_unique<peer>(m.id, log_.last_index() + 1);
    p->kind = m.kind;
    next.push_back(std::move(p));
  }
  peers = std::move(next);
}

void server::maybe_promote() {
  if (!cluster_change_permitted()) return;
  for (auto& m : cluster_.members()) {
    if (m.kind != membership::promotable) continue;
    auto p = find_peer(m.id);
    if (!p || p->repl.match() < m.promote_at) continue;
    member promoted = m;
    promoted.kind = membership::voter;
    promoted.promote_at = index_t{0};
    append_new(entry_kind::cluster_change, encode_cluster(cluster_.with(promoted)));
    return;  // one change at a time
  }
}

void server::on_cluster_change_committed() {
  auto newest_change = config_history_.empty() ? index_t{0} : config_history_.rbegin()->first;
  if (!is_leaderish() || cluster_.contains(cfg_.id) || commit_index_ < newest_change) return;
  // We were removed and the removal is committed: hand over to the most up-to-date voter
  // (so the cluster need not wait for failure detection), then step down for good.
  if (auto* best = most_up_to_date_voter()) send(best->id, timeout_now_rpc{current_term_, cfg_.id});
  become_follower(current_term_, std::nullopt);
}

server::peer* server::most_up_to_date_voter() {
  peer* best = nullptr;
  for (auto& p : lead()->peers)
    if (p->is_voter() && (!best || p->repl.match() > best->repl.match())) best = p.get();
  return best;
}

}  // namespace ra
