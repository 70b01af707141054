// Applying committed entries to the machine, replies and effects, local snapshots.

#include "libra/server_internal.hpp"

namespace ra {

void server::reply_error(const client_ref& to, error_code code, const server_id& hint) {
  emit(reply_action{to, index_t{0}, current_term_, hint, {}, command_error{code, hint}});
}

void server::apply_committed() {
  std::vector<log_entry> batch;
  while (last_applied_ < commit_index_ && role_ != role::stopped) {
    batch.clear();
    auto st = log_.read(last_applied_ + 1, commit_index_, 128, batch);
    if (!st || batch.empty() || batch.front().index != last_applied_ + 1) {
      stop("committed entry " + std::to_string((last_applied_ + 1).value) + " cannot be read from the log" +
           (st ? std::string{} : ": " + st.error().message));
      return;
    }
    for (auto& e : batch) {
      apply_entry(e);
      if (role_ == role::stopped) return;
    }
  }
  serve_ready_queries();
  if (is_leaderish()) maybe_promote();
}

void server::apply_entry(const log_entry& e) {
  last_applied_ = e.index;
  switch (e.kind) {
    case entry_kind::noop: {
      // A noop carries the cluster's effective machine version. It never goes down: an
      // older leader's noop after an upgrade noop is ignored.
      auto v = decode_noop(e.payload);
      if (v && *v > machine_version_) {
        machine_version_command change{machine_version_, *v};
        machine_version_ = *v;
        if (!apply_builtin_entry(e, change)) return;
      }
      if (auto* l = lead(); l && e.index == l->term_start_index) {
        // Our term is committed: queued consistent queries can now fix their read index.
        for (auto& q : l->queries)
          if (!q->read_index) q->read_index = commit_index_;
        start_query_round();
        maybe_upgrade_machine_version();
      }
      return;
    }
    case entry_kind::delete_cluster:
      answer_membership(e);
      // Tell the followers the commit index first, so they apply it too and go.
      replicate_all(true);
      stop("cluster deleted", true, false);
      return;
    case entry_kind::builtin: {
      auto cmd = decode_builtin(e.payload);
      if (!cmd) {
        stop("built-in command at index " + std::to_string(e.index.value) + " does not decode");
        return;
      }
      apply_builtin_entry(e, *cmd);
      return;
    }
    case entry_kind::cluster_change: {
      answer_membership(e);
      on_cluster_change_committed();
      return;
    }
    case entry_kind::command:
      break;
  }
  command_meta meta{e.index, e.term, e.system_time, machine_version_};
  apply_output out;
  if (auto failure = machine_failure_of([&] { out = machine_->apply(meta, e.payload); })) {
    if (cfg_.on_apply_failure == apply_failure_policy::reject && !failure->state_lost)
      return skip_failed_command(e);
    stop("machine apply failed at index " + std::to_string(e.index.value) + ": " + failure->what);
    return;
  }
  if (auto* l = lead()) {
    if (auto it = l->pending.find(e.index); it != l->pending.end()) {
      auto& req = it->second;
      if (req.mode == reply_mode::notify) {
        auto& batch = l->notify_batch[req.from.id];
        batch.to = req.from;
        batch.leader = cfg_.id;
        batch.applied.emplace_back(req.correlation, out.reply);
      } else {
        emit(reply_action{req.from, e.index, e.term, cfg_.id, out.reply, std::nullopt});
      }
      l->pending.erase(it);
    }
  }
  run_effects(std::move(out.effs), true);
}

void server::answer_membership(const log_entry& e) {
  auto* l = lead();
  if (!l) return;
  if (auto it = l->pending_membership.find(e.index); it != l->pending_membership.end()) {
    emit(reply_action{it->second.from, e.index, e.term, cfg_.id, {}, std::nullopt});
    l->pending_membership.erase(it);
  }
}

std::optional<server::machine_failure> server::machine_failure_of(const std::function<void()>& fn) {
  try {
    fn();
    return std::nullopt;
  } catch (const machine_state_lost& ex) {
    return machine_failure{ex.what(), true};
  } catch (const std::exception& ex) {
    return machine_failure{ex.what(), false};
  } catch (...) {
    return machine_failure{"unknown exception", false};
  }
}

bool server::guard_machine(const char* what, const std::function<void()>& fn) {
  auto failure = machine_failure_of(fn);
  if (!failure) return true;
  if (!machine_callback_failure_) machine_callback_failure_ = std::string("machine ") + what + " failed: " + failure->what;
  return false;
}

bool server::guarded_apply(index_t index, const std::function<void()>& fn) {
  if (auto failure = machine_failure_of(fn)) {
    stop("machine apply failed at index " + std::to_string(index.value) + ": " + failure->what);
    return false;
  }
  return true;
}

void server::skip_failed_command(const log_entry& e) {
  // The entry stays in the log and counts as applied; the machine state is as before it.
  // Every member gets here for the same entry, so their states stay equal.
  ++metrics_.commands_rejected;
  auto* l = lead();
  if (!l) return;
  auto it = l->pending.find(e.index);
  if (it == l->pending.end()) return;
  refuse_command(it->second, {error_code::apply_failed, cfg_.id});
  l->pending.erase(it);
}

bool server::apply_builtin_entry(const log_entry& e, const builtin_command& cmd) {
  command_meta meta{e.index, e.term, e.system_time, machine_version_};
  apply_output out;
  if (!guarded_apply(e.index, [&] { out = machine_->apply_builtin(meta, cmd); })) return false;
  run_effects(std::move(out.effs), true);
  return role_ != role::stopped;
}

bool server::handle_builtin(const builtin_command& cmd) {
  if (role_ != role::leader || !storage_error_.empty()) return false;
  append_new(entry_kind::builtin, encode_builtin(cmd));
  return true;
}

void server::handle_delete_cluster(client_ref from) {
  if (pending_install_) return defer([this, from] { handle_delete_cluster(from); });
  if (role_ != role::leader) {
    auto err = not_leader_error();
    return reply_error(from, err.code, err.leader);
  }
  if (!storage_error_.empty()) return reply_error(from, error_code::storage_unavailable, cfg_.id);
  auto idx = append_new(entry_kind::delete_cluster, {});
  if (auto* l = lead()) l->pending_membership.emplace(idx, membership_request{from, membership_op::remove, member{cfg_.id}});
}

void server::handle_aux(client_ref from, const shared_bytes& cmd) {
  if (pending_install_) return defer([this, from, cmd] { handle_aux(from, cmd); });
  if (role_ == role::stopped) {
    if (from.id) reply_error(from, error_code::stopped);
    return;
  }
  aux_output out;
  try {
    out = machine_->handle_aux(role_, cmd);
  } catch (...) {
    // The aux state is local and not replicated: a failing aux handler is the caller's
    // error, not a reason to stop the member.
    if (from.id) reply_error(from, error_code::invalid_argument, cfg_.id);
    return;
  }
  if (from.id) emit(reply_action{from, last_applied_, current_term_, leader_id_.value_or(server_id{}), out.reply, std::nullopt});
  // Aux effects run on this member whatever its role.
  for (auto& eff : out.effs)
    if (auto* s = std::get_if<shell_effect>(&eff)) s->all_members = true;
  run_effects(std::move(out.effs), false);
}

void server::maybe_upgrade_machine_version() {
  // Ra's strategy `all`: the effective version rises only once every member (voters and
  // non-voters) reported code that supports it; the upgrade is an ordinary noop.
  if (role_ != role::leader || last_applied_ < lead()->term_start_index) return;
  uint32_t target = machine_code_version_;
  for (auto& m : cluster_.members()) {
    if (m.id == cfg_.id) continue;
    auto p = find_peer(m.id);
    if (!p || !p->machine_version_known) return;
    target = std::min(target, p->machine_version);
  }
  auto& appended = lead()->appended_machine_version;
  if (target <= machine_version_ || target <= appended) return;
  appended = target;
  append_new(entry_kind::noop, encode_noop(target));
}

void server::run_effects(effects effs, bool from_apply) {
  for (auto& eff : effs) {
    std::visit(
      [&](auto& x) {
        using T = std::decay_t<decltype(x)>;
        if constexpr (std::is_same_v<T, release_cursor_effect>) {
          // Every member snapshots for itself. A checkpoint at or below the cursor is
          // promoted (no need to serialise the state again); otherwise the state is
          // snapshotted, but only every min_snapshot_interval entries so snapshots stay cheap.
          auto snap_index = log_.first_index() - 1;
          if (!from_apply || x.index > last_applied_) return;
          if (last_checkpoint_ > snap_index && last_checkpoint_ <= x.index && log_.promote_checkpoint(x.index)) {
            ++metrics_.checkpoints_promoted;
            auto promoted = log_.first_index() - 1;
            base_config_ = config_at(promoted);
            config_history_.erase(config_history_.begin(), config_history_.upper_bound(promoted));
          } else if (last_applied_ - snap_index >= cfg_.min_snapshot_interval) {
            take_snapshot(last_applied_);
          }
        } else if constexpr (std::is_same_v<T, checkpoint_effect>) {
          // A checkpoint keeps the state without releasing the log (Ra's checkpoint).
          if (from_apply && last_applied_ - last_checkpoint_ >= cfg_.min_checkpoint_interval) {
            auto snap = snapshot_of_state();
            if (!snap) return;
            log_.write_checkpoint(std::move(*snap));
            last_checkpoint_ = last_applied_;
            ++metrics_.checkpoints_written;
          }
        } else if constexpr (std::is_same_v<T, append_effect>) {
          if (role_ == role::leader)
            append_commands({command_request{client_ref{}, std::move(x.command), reply_mode::noreply, 0,
                                             command_priority::normal}});
        } else if constexpr (std::is_same_v<T, shell_effect>) {
          if (x.all_members || role_ == role::leader) emit(effect_action{std::move(x)});
        }
      },
      eff);
  }
}

void server::flush_notifications() {
  auto* l = lead();
  if (!l) return;
  for (auto& [id, batch] : l->notify_batch) emit(std::move(batch));
  l->notify_batch.clear();
}

std::optional<stored_snapshot> server::snapshot_of_state() {
  auto term = log_.term_at(last_applied_).value_or(term_t{0});
  shared_bytes state;
  if (!guard_machine("snapshot", [&] { state = machine_->snapshot(); })) return std::nullopt;
  return stored_snapshot{snapshot_meta{last_applied_, term, config_at(last_applied_), machine_version_}, std::move(state)};
}

void server::take_snapshot(index_t index) {
  if (index != last_applied_ || !log_.term_at(index)) return;
  auto snap = snapshot_of_state();
  if (!snap) return;
  auto meta = snap->meta;
  log_.write_snapshot(std::move(*snap));
  ++metrics_.snapshots_written;
  base_config_ = meta.cluster;
  config_history_.erase(config_history_.begin(), config_history_.upper_bound(index));
}

void server::fail_pending(error_code code) {
  auto* l = lead();
  if (!l) return;
  // The entries may still commit under the next leader: the outcome is unknown.
  auto hint = leader_id_ && *leader_id_ != cfg_.id ? *leader_id_ : server_id{};
  for (auto& [idx, req] : l->pending) refuse_command(req, {code, hint});
  l->pending.clear();
  for (auto& [idx, req] : l->pending_membership) reply_error(req.from, code, hint);
  l->pending_membership.clear();
  // Batched commands were never appended: they definitely did not happen. Normal ones
  // first, then low-priority ones, in arrival order.
  for (auto& req : l->batched) refuse_command(req, {error_code::not_leader, hint});
  l->batched.clear();
  for (auto i = l->low_priority_head; i < l->low_priority.size(); ++i)
    refuse_command(l->low_priority[i], {error_code::not_leader, hint});
  l->low_priority.clear();
  l->low_priority_head = 0;
  flush_notifications();
}

}  // namespace ra
