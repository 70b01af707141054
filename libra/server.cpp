// ra::server: construction, role transitions and timers. Peer messages enter through
// step.cpp.
// Protocol details live in election.cpp, replication.cpp, apply.cpp, membership.cpp,
// queries.cpp and snapshots.cpp.

#include <algorithm>
#include <stdexcept>

#include "libra/server_internal.hpp"

namespace ra {

expected<void, config_error> validate(const server_config& c) {
  const std::string positive = "must be > 0";
  if (c.id.empty()) return config_error{"id", "has an empty name"};
  if (c.broadcast_time_ms == 0) return config_error{"broadcast_time_ms", positive};
  if (c.tick_timeout_ms == 0) return config_error{"tick_timeout_ms", positive};
  if (c.detector_poll_ms == 0) return config_error{"detector_poll_ms", positive};
  if (c.await_condition_timeout_ms == 0) return config_error{"await_condition_timeout_ms", positive};
  if (c.receive_snapshot_timeout_ms == 0) return config_error{"receive_snapshot_timeout_ms", positive};
  if (c.max_pipeline_count == 0) return config_error{"max_pipeline_count", positive};
  if (c.max_append_entries_rpc_batch_size == 0) return config_error{"max_append_entries_rpc_batch_size", positive};
  if (c.snapshot_chunk_size == 0) return config_error{"snapshot_chunk_size", positive};
  if (c.low_priority_commands_flush_size == 0) return config_error{"low_priority_commands_flush_size", positive};
  if (c.max_command_bytes == 0) return config_error{"max_command_bytes", positive};
  if (c.max_command_bytes > max_storable_command_bytes)
    return config_error{"max_command_bytes",
                        "must be at most " + std::to_string(max_storable_command_bytes) + " (the storage formats' entry limit)"};
  for (auto& m : c.initial_members)
    if (m.id.empty()) return config_error{"initial_members", "holds a member with an empty name"};
  // Empty initial members: a new server that joins through add_member. Otherwise the
  // server must be one of them, or the cluster it was meant to form never forms.
  if (!c.initial_members.empty() &&
      std::none_of(c.initial_members.begin(), c.initial_members.end(), [&](const member& m) { return m.id == c.id; }))
    return config_error{"initial_members", "does not include the server itself (" + c.id.to_string() + ")"};
  return {};
}

server::server(server_config cfg, log_store& log, std::unique_ptr<machine> m, durable_meta meta)
  : cfg_(std::move(cfg)), log_(log), machine_(std::move(m)), rng_(cfg_.rng_seed),
    role_state_(follower_state{}) {
  if (auto ok = validate(cfg_); !ok) throw std::invalid_argument("ra::server: " + ok.error().message());
  if (!machine_) throw std::invalid_argument("ra::server: no machine");
  if (!guard_machine("version", [&] {
        machine_code_version_ = machine_->version();
        machine_wants_tick_ = machine_->wants_tick();
      })) {
    stop(*machine_callback_failure_);
    return;
  }
  current_term_ = meta.current_term;
  voted_for_ = std::move(meta.voted_for);
  base_config_ = cluster_config{cfg_.initial_members};

  if (auto snap = log_.snapshot()) {
    auto state = log_.load_snapshot_state();
    if (!state) {
      stop("reading snapshot at index " + std::to_string(snap->meta.index.value) + ": " + state.error().message);
      return;
    }
    bool restored = false;
    if (!guard_machine("restore", [&] { restored = machine_->restore(*state); })) {
      stop(*machine_callback_failure_);
      return;
    }
    if (!restored) {
      stop("snapshot at index " + std::to_string(snap->meta.index.value) + " does not decode");
      return;
    }
    commit_index_ = last_applied_ = snap->meta.index;
    machine_version_ = snap->meta.machine_version;
    base_config_ = snap->meta.cluster;
  } else if (!guard_machine("init", [&] { machine_->init(); })) {
    stop(*machine_callback_failure_);
    return;
  }
  // Membership changes take effect when appended, so the newest one in the log rules,
  // committed or not.
  std::vector<log_entry> batch;
  for (auto i = log_.first_index(); i <= log_.last_index(); i = i + batch.size()) {
    batch.clear();
    if (auto st = log_.read(i, log_.last_index(), 1024, batch); !st || batch.empty()) {
      stop("reading the log at start: " + (st ? "entry " + std::to_string(i.value) + " missing" : st.error().message));
      return;
    }
    for (auto& e : batch)
      if (e.kind == entry_kind::cluster_change)
        if (auto c = decode_cluster(e.payload)) config_history_[e.index] = std::move(*c);
  }
  recompute_config();

  // A server with state is "recovered" and looks for a leader on its own; a brand-new
  // one waits for trigger_election() or for a leader to contact it (as in Ra).
  bool is_new = log_.last_index() == index_t{0} && current_term_ == term_t{0};
  if (!is_new) arm_election(short_timeout());
}

server::~server() = default;

std::vector<action> server::take_actions() {
  if (machine_callback_failure_ && role_ != role::stopped) stop(*machine_callback_failure_);
  if (auto* l = lead(); l && l->replication_due) {
    l->replication_due = false;
    each_peer([&](peer& p) { replicate_to(p, false); });
  }
  flush_notifications();
  if (is_leaderish()) maybe_arm_tick();
  std::vector<action> out;
  out.swap(actions_);
  return out;
}

void server::handle_timeout(timer_kind kind) {
  if (pending_install_) return defer([this, kind] { handle_timeout(kind); });
  if (role_ == role::stopped) return;
  switch (kind) {
    case timer_kind::election:
      if (leader_alive()) return;  // stale: a follower that hears its leader stays
      if (role_ == role::follower || role_ == role::pre_vote || role_ == role::candidate ||
          role_ == role::receive_snapshot)
        become_pre_vote();  // a half-received snapshot from a leader now gone goes with it
      return;
    case timer_kind::tick:
      if (auto* l = lead()) {
        l->tick_armed = false;
        on_tick();
      }
      return;
    case timer_kind::await_condition:
      if (role_ == role::await_condition) {
        // The transfer target did not take over in time: carry on leading.
        lead()->transfer_target.reset();
        lead()->replication_due = true;
        set_role(role::leader);
      }
      return;
    case timer_kind::receive_snapshot:
      if (role_ == role::receive_snapshot) {
        abandon_receipt();
        following()->leader_alive = false;
        set_role(role::follower);
        arm_election(long_timeout());
      }
      return;
  }
}

void server::handle_trigger_election() {
  if (pending_install_) return defer([this] { handle_trigger_election(); });
  if (role_ == role::stopped || is_leaderish() || !may_campaign()) return;
  become_pre_vote();
}

void server::handle_leader_down(bool node_down) {
  if (pending_install_) return defer([this, node_down] { handle_leader_down(node_down); });
  // A follower receiving a snapshot follows a leader too: it must not keep believing in
  // it (and refusing pre-votes for it) once the leader is reported down.
  auto* f = following();
  if (!f || role_ == role::stopped || !f->leader_alive) return;
  f->leader_alive = false;
  // A crashed leader process is certain: elect soon. A node-level alarm may be a false
  // positive, so wait longer than the detector's poll to let hearing the leader cancel it.
  arm_election(node_down ? long_timeout() : rand_ms(cfg_.broadcast_time_ms) + 1);
}

// -- roles --------------------------------------------------------------------------

void server::set_role(role r) {
  if (r == role_) return;
  auto from = role_;
  role_ = r;
  emit(role_change_action{from, r, current_term_, leader_id_.value_or(server_id{})});
  if (r == role::stopped) return;
  effects effs;
  if (guard_machine("state_enter", [&] { effs = machine_->state_enter(r); })) run_effects(std::move(effs), false);
}

void server::update_term(term_t t) {
  if (t <= current_term_) return;
  current_term_ = t;
  ++metrics_.term_changes;
  voted_for_.reset();
  emit(persist_meta_action{current_term_, std::nullopt});
}

void server::leave_leadership(error_code pending_code) {
  auto* l = lead();
  if (!l) return;
  // Answer everyone still waiting, then drop the leader's state in one go.
  fail_pending(pending_code);
  // Queries never reached the log: not_leader (try the next one), unless the server stops.
  fail_queries(pending_code == error_code::stopped ? error_code::stopped : error_code::not_leader);
  if (l->tick_armed) emit(cancel_timer_action{timer_kind::tick});
  role_state_ = follower_state{};
}

void server::become_follower(term_t term, std::optional<server_id> leader) {
  bool new_term = term > current_term_;
  update_term(term);
  leave_leadership(error_code::leadership_lost);
  auto* f = following();
  // A snapshot being received belongs to the old term's leader.
  if (f && new_term && f->receipt) abandon_receipt();
  if (!f || new_term) {
    // Entries up to the commit index match every leader's log; nothing else is known to
    // match the new leader's yet, and nothing was acknowledged to it.
    role_state_ = follower_state{false, commit_index_, index_t{0}, nullptr};
  }
  leader_id_.reset();
  following()->leader_alive = false;
  set_role(following()->receipt ? role::receive_snapshot : role::follower);
  if (leader) note_leader(*leader);
  else arm_election(long_timeout());
}

void server::note_leader(const server_id& leader) {
  auto& f = *following();
  if (leader_id_ == leader && f.leader_alive) return;
  leader_id_ = leader;
  f.leader_alive = true;
  emit(cancel_timer_action{timer_kind::election});
  emit(monitor_leader_action{leader});
  watch_removed_leader();
}

void server::watch_removed_leader() {
  auto* f = following();
  if (f && f->leader_alive && leader_id_ && !cluster_.contains(*leader_id_)) arm_election(long_timeout());
}

void server::stop(const std::string& reason, bool delete_data, bool failed) {
  if (role_ == role::stopped) return;
  stop_reason_ = reason;
  leave_leadership(error_code::stopped);
  for (auto k : {timer_kind::election, timer_kind::tick, timer_kind::await_condition, timer_kind::receive_snapshot})
    emit(cancel_timer_action{k});
  role_state_ = follower_state{};
  set_role(role::stopped);
  emit(stopped_action{reason, delete_data, failed});
}

// -- timers -------------------------------------------------------------------------

void server::arm_election(uint64_t ms) {
  if (!may_campaign()) return;
  emit(set_timer_action{timer_kind::election, ms});
}

uint64_t server::rand_ms(uint64_t upto) {
  return upto == 0 ? 0 : std::uniform_int_distribution<uint64_t>{0, upto - 1}(rng_);
}
uint64_t server::short_timeout() { return cfg_.broadcast_time_ms + rand_ms(5 * cfg_.broadcast_time_ms); }
uint64_t server::medium_timeout() { return cfg_.broadcast_time_ms + rand_ms(cfg_.detector_poll_ms); }
uint64_t server::long_timeout() { return cfg_.detector_poll_ms + rand_ms(10 * cfg_.broadcast_time_ms); }

// -- helpers ------------------------------------------------------------------------

void server::send(const server_id& to, peer_message m) {
  ++metrics_.rpcs_sent;
  emit(send_action{to, std::move(m)});
}

index_term server::last_entry() const {
  auto i = log_.last_index();
  return {i, log_.term_at(i).value_or(term_t{0})};
}

bool server::log_up_to_date(index_t last_idx, term_t last_term) const {
  auto mine = last_entry();
  return last_term > mine.term || (last_term == mine.term && last_idx >= mine.index);
}

server::peer* server::find_peer(const server_id& id) {
  auto* l = lead();
  if (!l) return nullptr;
  for (auto& p : l->peers)
    if (p->id == id) return p.get();
  return nullptr;
}

server_overview server::overview() const {
  server_overview o;
  o.id = cfg_.id;
  o.cluster_name = cfg_.cluster_name;
  o.server_role = role_;
  o.term = current_term_;
  o.voted_for = voted_for_.value_or(server_id{});
  o.leader = leader_id_.value_or(server_id{});
  o.commit_index = commit_index_;
  o.last_applied = last_applied_;
  o.last_index = log_.last_index();
  o.last_written_index = log_.last_written().index;
  o.snapshot_index = index_t{log_.first_index().value - 1};
  o.effective_machine_version = machine_version_;
  o.members = cluster_.members();
  o.stop_reason = stop_reason_;
  if (auto* l = lead()) {
    o.has_peers = true;
    for (auto& p : l->peers)
      o.peers.push_back({p->id, p->repl.next(), p->repl.match(), p->repl.current() == progress::state::snapshot});
  }
  try {  // user code: a failing overview is reported in it, it does not fail the server
    o.machine_overview = machine_->overview().dump();
  } catch (const std::exception& ex) {
    o.machine_overview = nlohmann::json{{"error", ex.what()}}.dump();
  } catch (...) {
    o.machine_overview = nlohmann::json{{"error", "unknown exception"}}.dump();
  }
  return o;
}

}  // namespace ra
