// Applying committed entries to the machine, replies and effects, local snapshots.

#include "server_internal.hpp"

namespace ra {

void server::reply_error(const client_ref& to, error_code code, const server_id& hint) {
  emit(reply_action{to, index_t{0}, current_term_, hint, {}, command_error{code, hint}});
}

void server::apply_committed() {
  std::vector<log_entry> batch;
  while (last_applied_ < commit_index_ && role_ != role::stopped) {
    batch.clear();
    log_.read(last_applied_ + 1, commit_index_, 128, batch);
    if (batch.empty() || batch.front().index != last_applied_ + 1) {
      stop("committed entry " + std::to_string((last_applied_ + 1).value) + " is missing from the log");
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
    case entry_kind::noop:
      if (auto v = decode_noop(e.payload)) machine_version_ = *v;
      if (is_leaderish() && e.index == term_start_index_) {
        // Our term is committed: queued consistent queries can now fix their read index.
        for (auto& q : queries_)
          if (!q->read_index) q->read_index = commit_index_;
        start_query_round();
      }
      return;
    case entry_kind::cluster_change: {
      if (is_leaderish()) {
        if (auto it = pending_membership_.find(e.index); it != pending_membership_.end()) {
          emit(reply_action{it->second.from, e.index, e.term, cfg_.id, {}, std::nullopt});
          pending_membership_.erase(it);
        }
      }
      on_cluster_change_committed();
      return;
    }
    case entry_kind::command:
      break;
  }
  command_meta meta{e.index, e.term, e.system_time, machine_version_};
  apply_output out;
  try {
    out = machine_->apply(meta, e.payload);
  } catch (const std::exception& ex) {
    stop("machine apply failed at index " + std::to_string(e.index.value) + ": " + ex.what());
    return;
  } catch (...) {
    stop("machine apply failed at index " + std::to_string(e.index.value) + ": unknown exception");
    return;
  }
  if (is_leaderish()) {
    if (auto it = pending_.find(e.index); it != pending_.end()) {
      auto& req = it->second;
      if (req.mode == reply_mode::notify) {
        auto& batch = notify_batch_[req.from.id];
        batch.to = req.from;
        batch.leader = cfg_.id;
        batch.applied.emplace_back(req.correlation, out.reply);
      } else {
        emit(reply_action{req.from, e.index, e.term, cfg_.id, out.reply, std::nullopt});
      }
      pending_.erase(it);
    }
  }
  run_effects(std::move(out.effs), true);
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
            log_.write_checkpoint(snapshot_of_state());
            last_checkpoint_ = last_applied_;
            ++metrics_.checkpoints_written;
          }
        } else if constexpr (std::is_same_v<T, append_effect>) {
          if (role_ == role::leader)
            append_command(command_request{client_ref{}, std::move(x.command), reply_mode::noreply, 0,
                                           command_priority::normal});
        } else if constexpr (std::is_same_v<T, shell_effect>) {
          if (x.all_members || role_ == role::leader) emit(effect_action{std::move(x)});
        }
      },
      eff);
  }
}

void server::flush_notifications() {
  for (auto& [id, batch] : notify_batch_) emit(std::move(batch));
  notify_batch_.clear();
}

stored_snapshot server::snapshot_of_state() const {
  auto term = log_.term_at(last_applied_).value_or(term_t{0});
  return {snapshot_meta{last_applied_, term, config_at(last_applied_), machine_version_}, machine_->snapshot()};
}

void server::take_snapshot(index_t index) {
  if (index != last_applied_ || !log_.term_at(index)) return;
  auto snap = snapshot_of_state();
  auto meta = snap.meta;
  log_.write_snapshot(std::move(snap));
  ++metrics_.snapshots_written;
  base_config_ = meta.cluster;
  config_history_.erase(config_history_.begin(), config_history_.upper_bound(index));
}

void server::fail_pending(error_code code) {
  // The entries may still commit under the next leader: the outcome is unknown.
  auto hint = leader_id_ && *leader_id_ != cfg_.id ? *leader_id_ : server_id{};
  for (auto& [idx, req] : pending_) {
    if (req.mode == reply_mode::notify)
      emit(reject_action{req.from, req.correlation, command_error{code, hint}});
    else
      reply_error(req.from, code, hint);
  }
  pending_.clear();
  for (auto& [idx, req] : pending_membership_) reply_error(req.from, code, hint);
  pending_membership_.clear();
  for (auto& req : low_priority_) {
    // Never appended: these definitely did not happen.
    if (req.mode == reply_mode::notify)
      emit(reject_action{req.from, req.correlation, command_error{error_code::not_leader, hint}});
    else if (req.mode != reply_mode::noreply)
      reply_error(req.from, error_code::not_leader, hint);
  }
  low_priority_.clear();
  flush_notifications();
}

}  // namespace ra
