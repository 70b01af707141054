#pragma once
// The pure Raft server (Ra's ra_server): a deterministic state machine with no threads,
// clocks, sockets or files. Events go in through the handle_* functions; what the server
// wants done comes out as `action`s (take_actions()), which the shell executes in order.
// The log is reached through the log_store interface (synchronous reads, asynchronous
// appends reported back with handle_log_written()).
//
// Time: the shell passes the current wall-clock time (ms) with set_time() before events;
// it is used only to stamp entries (command_meta::system_time) and for machine ticks.
// Randomness: only from the server's own PRNG seeded by server_config::rng_seed.

#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <random>
#include <string>
#include <variant>
#include <vector>

#include "libra/actions.hpp"
#include "ra/cluster.hpp"
#include "ra/config.hpp"
#include "libra/log_store.hpp"
#include "ra/machine.hpp"
#include "libra/messages.hpp"
#include "ra/overview.hpp"
#include "libra/quorum.hpp"
#include "libra/small_rng.hpp"
#include "ra/types.hpp"

namespace ra {

/// Term and vote as last made durable (persist_meta_action), handed back on restart.
struct durable_meta {
  term_t current_term{0};
  std::optional<server_id> voted_for;
};

/// Counters readable without messaging the server (Ra's key_metrics).
struct server_metrics {
  uint64_t commands = 0;
  uint64_t elections = 0;
  uint64_t pre_vote_elections = 0;
  uint64_t rpcs_sent = 0;
  uint64_t snapshots_sent = 0;
  uint64_t snapshots_installed = 0;
  uint64_t snapshots_written = 0;
  uint64_t checkpoints_written = 0;
  uint64_t checkpoints_promoted = 0;
  uint64_t consistent_queries = 0;
  uint64_t aer_received = 0;
  /// Peer messages handled (every kind, from every member).
  uint64_t messages_received = 0;
  /// Times current_term changed (a newer term seen, or an election started).
  uint64_t term_changes = 0;
  /// Committed commands whose apply threw and that were skipped (apply_failure_policy::reject).
  uint64_t commands_rejected = 0;
};

/// A leader whose log stays unwritable for this many of its ticks in a row
/// (tick_timeout_ms each: 2 to 3 s by default) hands leadership over (review F5).
inline constexpr uint32_t storage_failure_ticks_before_handover = 3;

namespace detail {
struct snapshot_receipt;  // server_internal.hpp

// Per-role state of ra::server (defined here, not nested, so that they are complete
// before the server class is).

/// State only a follower (or a follower receiving a snapshot) has. Created fresh when
/// the server starts following in a new term or after another role.
struct follower_state {
  bool leader_alive = false;  ///< heard the leader and no down signal since
  index_t consistent_index{0};  ///< highest index known to match the current leader's log
  index_t acked_index{0};       ///< last index acknowledged to the leader
  std::unique_ptr<snapshot_receipt> receipt;  ///< set exactly in receive_snapshot
};
/// State only a pre-vote or vote candidate has: one election round.
struct candidate_state {
  uint64_t token = 0;  ///< pre-vote round (ties replies to it)
  quorum::vote_tally votes;
};
}  // namespace detail

class server {
 public:
  /// Builds a server from what storage holds: `log` (entries and snapshot) and `meta`.
  /// The machine is restored from the log's snapshot, or initialised. A server whose log
  /// is empty and has no snapshot is "new" and waits for trigger_election() or a leader.
  server(server_config cfg, log_store& log, std::unique_ptr<machine> m, durable_meta meta);
  ~server();
  server(const server&) = delete;
  server& operator=(const server&) = delete;

  // -- events ----------------------------------------------------------------------

  void set_time(int64_t now_ms) { now_ms_ = now_ms; }

  void handle(const server_id& from, const peer_message& msg);
  void handle_command(command_request req);
  void handle_query(query_request req);
  void handle_membership(membership_request req);
  void handle_transfer_leadership(client_ref from, const server_id& target);
  /// Start an election now (Ra's trigger_election): enter pre_vote if this is a voter.
  void handle_trigger_election();
  void handle_timeout(timer_kind kind);
  /// The log's last_written() advanced (or may have): re-evaluate acks and commit.
  void handle_log_written();
  /// Writing the log failed (full disk, failing sync): nothing is acknowledged until it
  /// works again. Meanwhile a leader refuses new commands with storage_unavailable
  /// instead of queueing them without bound. Cleared by the next handle_log_written()
  /// that finds the written index moved.
  void handle_storage_error(std::string message);
  const std::string& storage_error() const { return storage_error_; }
  /// The shell's failure detector says the leader is down. `node_down` selects the longer
  /// (node-level) delay, so a false alarm can still be cancelled by hearing the leader.
  void handle_leader_down(bool node_down = false);
  void handle_flush_commands();
  /// A built-in machine command from the shell (a monitored process or node went down, a
  /// machine timer fired ...). Only a leader appends it (through the log, so every member
  /// applies it); elsewhere it is dropped and false is returned.
  bool handle_builtin(const builtin_command& cmd);
  /// Ra's delete_cluster: the leader appends an end-of-life entry; every member that
  /// applies it stops with stopped_action{delete_data = true}. `from` is answered (like a
  /// membership change) once the leader applied it.
  void handle_delete_cluster(client_ref from);
  /// Effects produced outside apply (e.g. by a log effect's continuation): routed like
  /// those of tick / state_enter.
  void handle_machine_effects(effects effs);
  /// Ra's aux_command: runs the machine's aux handler on this member (any role) and
  /// replies to `from` (client_ref{} = no reply) with its reply; its effects run here.
  void handle_aux(client_ref from, const shared_bytes& cmd);

  /// The store finished the snapshot install it completes off the server's thread
  /// (log_store::completes_receipts_later; the shell calls the store's own finish first):
  /// the machine is restored and the leader acknowledged, or the server stops on a
  /// failure. Events that arrived meanwhile were held back (install_pending) and are
  /// handled now, in order: none of them saw the log half-installed.
  void handle_snapshot_installed(log_status installed);

  /// Drains the actions produced so far, in order.
  std::vector<action> take_actions();

  // -- observers (for shells, tests and the simulator) --------------------------------

  const server_id& id() const { return cfg_.id; }
  /// A received snapshot's install is being made durable off the server's thread.
  bool install_pending() const { return pending_install_.has_value(); }
  role current_role() const { return role_; }
  term_t current_term() const { return current_term_; }
  const std::optional<server_id>& voted_for() const { return voted_for_; }
  const std::optional<server_id>& leader() const { return leader_id_; }
  index_t commit_index() const { return commit_index_; }
  index_t last_applied() const { return last_applied_; }
  const cluster_config& cluster() const { return cluster_; }
  const machine& state_machine() const { return *machine_; }
  const server_metrics& metrics() const { return metrics_; }
  /// Writable: the runtime carries the counters over a restart (ra/key_metrics.hpp).
  server_metrics& metrics() { return metrics_; }
  const server_config& config() const { return cfg_; }
  uint32_t effective_machine_version() const { return machine_version_; }
  const log_store& log() const { return log_; }
  /// Why the server stopped, if it did.
  const std::string& stop_reason() const { return stop_reason_; }
  /// Member overview (Ra's member_overview), typed; JSON only at the edge.
  server_overview overview() const;

 private:
  struct peer;
  struct pending_query;
  struct leader_state;

  using follower_state = detail::follower_state;
  using candidate_state = detail::candidate_state;
  /// Exactly one role's state at a time (a stopped server keeps an empty follower_state),
  /// so leaving a role cannot forget a reset. The leader's (large) state lives on the
  /// heap: thousands of idle followers do not carry it.
  using role_state = std::variant<follower_state, candidate_state, std::unique_ptr<leader_state>>;

  // Implementation files: server.cpp (construction, roles, timers), step.cpp (the one
  // prologue for peer messages and the per-role steps), election.cpp, replication.cpp,
  // apply.cpp, membership.cpp, queries.cpp, snapshots.cpp.

  // role state access: null unless the server is in that role
  leader_state* lead();
  const leader_state* lead() const;
  follower_state* following() { return std::get_if<follower_state>(&role_state_); }
  const follower_state* following() const { return std::get_if<follower_state>(&role_state_); }
  candidate_state* standing() { return std::get_if<candidate_state>(&role_state_); }

  // the prologue and the per-role steps (step.cpp)
  void reject_stale(const server_id& from, const peer_message& msg);
  void step_leader(const server_id& from, const peer_message& msg);
  void step_candidate(const server_id& from, const peer_message& msg);
  void step_follower(const server_id& from, const peer_message& msg);
  /// Who to ask instead of this server, and why it cannot serve a leader-only request.
  command_error not_leader_error() const;
  void refuse_command(const command_request& req, const command_error& err);
  /// Runs `f` on each peer while this server still leads (f may end the leadership).
  template <class F> void each_peer(F&& f);

  // roles
  void become_follower(term_t term, std::optional<server_id> leader);
  void become_pre_vote();
  void become_candidate(bool transfer);
  void become_leader();
  void leave_leadership(error_code pending_code);
  void set_role(role r);
  void update_term(term_t t);
  void stop(const std::string& reason, bool delete_data = false, bool failed = true);
  void arm_election(uint64_t ms);
  uint64_t rand_ms(uint64_t upto);
  uint64_t short_timeout();
  uint64_t medium_timeout();
  uint64_t long_timeout();
  bool is_voter() const { return cluster_.is_voter(cfg_.id); }
  /// Whether this server stands for election: a voter of its latest configuration, or
  /// (Raft thesis 4.2.2) a voter that the latest change removes while that change is not
  /// known committed: it may still be needed (it may hold the only copy of the change,
  /// and the longest log, which the remaining voters' votes require). It then does not
  /// count its own vote, and a leader it becomes steps down once the change commits.
  bool may_campaign() const;
  bool is_leaderish() const { return role_ == role::leader || role_ == role::await_condition; }
  /// Heard the leader, no down signal since, and the leader is still a member: a removed
  /// leader steps down once its removal commits but stays alive, so it must not hold
  /// back elections (pre-vote stickiness, the election timer) (review F8).
  bool leader_alive() const {
    auto* f = following();
    return f && f->leader_alive && (!leader_id_ || cluster_.contains(*leader_id_));
  }
  /// A follower whose leader is no longer a member arms the election timer, which the
  /// removed leader's messages do not cancel: its timeout_now may be lost.
  void watch_removed_leader();
  void emit(action a) { actions_.push_back(std::move(a)); }
  void send(const server_id& to, peer_message m);
  void note_leader(const server_id& leader);
  bool log_up_to_date(index_t last_idx, term_t last_term) const;
  index_term last_entry() const;

  // election
  void on_pre_vote(const server_id& from, const pre_vote_rpc& m);
  void on_pre_vote_result(const server_id& from, const pre_vote_result& m);
  void on_request_vote(const server_id& from, const request_vote_rpc& m);
  void on_request_vote_result(const server_id& from, const request_vote_result& m);
  void on_timeout_now();

  // replication
  void on_append_entries(const server_id& from, const append_entries_rpc& m);
  void on_append_entries_reply(const server_id& from, const append_entries_reply& m);
  void append_local(std::vector<log_entry> entries);
  index_t append_new(entry_kind kind, shared_bytes payload);
  void replicate_to(peer& p, bool force_heartbeat);
  void replicate_all(bool force_heartbeat);
  void follower_ack();
  void advance_commit();
  void maybe_arm_tick();
  void on_tick();

  // applying
  void apply_committed();
  void apply_entry(const log_entry& e);
  void answer_membership(const log_entry& e);
  /// What a machine call that threw left behind.
  struct machine_failure {
    std::string what;
    bool state_lost = false;  ///< machine_state_lost: the state cannot be kept as it was
  };
  /// Runs a machine call; its failure if it threw.
  static std::optional<machine_failure> machine_failure_of(const std::function<void()>& fn);
  /// Runs a machine call; if it throws, stops the server with the reason.
  bool guarded_apply(index_t index, const std::function<void()>& fn);
  /// Runs a machine callback other than apply (state_enter, tick, snapshot, accepts ...).
  /// If it throws, the server stops at the end of the current event (take_actions), not
  /// in the middle of, say, a role change whose callers still expect their role's state.
  bool guard_machine(const char* what, const std::function<void()>& fn);
  /// apply_failure_policy::reject: answers the command's caller with apply_failed.
  void skip_failed_command(const log_entry& e);
  bool apply_builtin_entry(const log_entry& e, const builtin_command& cmd);
  void maybe_upgrade_machine_version();
  void run_effects(effects effs, bool from_apply);
  void flush_notifications();
  void take_snapshot(index_t index);
  /// The machine state as a snapshot; empty if the machine's snapshot() threw (the
  /// server then stops at the end of the event).
  std::optional<stored_snapshot> snapshot_of_state();
  void fail_pending(error_code code);
  void append_commands(std::vector<command_request> reqs);
  void reply_error(const client_ref& to, error_code code, const server_id& hint = {});

  // membership
  void recompute_config();
  cluster_config config_at(index_t i) const;
  bool cluster_change_permitted() const;
  void truncate_config_history(index_t from);
  void config_appended(const log_entry& e);
  void rebuild_peers();
  void maybe_promote();
  void on_cluster_change_committed();
  /// The voter with the highest match index (null if the leader has no voter peer).
  peer* most_up_to_date_voter();
  /// Sends timeout_now to `target` and waits in await_condition for it to take over.
  void begin_transfer(const server_id& target);
  /// On the leader's tick: a log that stays unwritable makes the leader hand over to the
  /// most up-to-date voter, so a healthy majority takes writes again (review F5).
  void hand_over_if_storage_failing();

  // queries
  void on_heartbeat(const server_id& from, const heartbeat_rpc& m);
  void on_heartbeat_reply(const server_id& from, const heartbeat_reply& m);
  void start_query_round();
  void fail_queries(error_code code);
  void send_query_heartbeats();
  void serve_ready_queries();

  // snapshots
  void send_snapshot_chunk(peer& p);
  void on_install_snapshot(const server_id& from, const install_snapshot_rpc& m);
  void on_install_snapshot_result(const server_id& from, const install_snapshot_result& m);
  void start_snapshot_send(peer& p);
  /// The follower `from` answered us (a query heartbeat, a pre-vote): a snapshot transfer
  /// to it that backed off while it did not answer is retried at the next tick.
  void snapshot_peer_heard(const server_id& from);
  /// False if nothing was installed (the server stopped, or the received bytes did not
  /// match the leader's checksum and the leader retries): then no acknowledgement.
  /// With a store that completes receipts later, the install is pending (false here):
  /// handle_snapshot_installed finishes it and acknowledges chunk `chunk_no` to `from`.
  bool install_received_snapshot(const server_id& from, uint32_t chunk_no);
  /// The install after the store's completion: machine restored, indexes moved.
  bool finish_received_snapshot(const snapshot_meta& meta, const log_status& installed);
  void acknowledge_install(const server_id& from, const snapshot_meta& meta, uint32_t chunk_no);
  void abandon_receipt();
  /// Holds an event back while an install is pending (replayed in order after it).
  void defer(std::function<void()> event) { deferred_.push_back(std::move(event)); }
  index_term ack_point() const;

  peer* find_peer(const server_id& id);

  server_config cfg_;
  log_store& log_;
  std::unique_ptr<machine> machine_;
  small_rng rng_;
  std::vector<action> actions_;
  int64_t now_ms_ = 0;

  role role_ = role::follower;
  role_state role_state_;
  term_t current_term_{0};
  std::optional<server_id> voted_for_;
  std::optional<server_id> leader_id_;
  /// A received snapshot being installed off the server's thread, and the events held
  /// back meanwhile.
  struct pending_install {
    snapshot_meta meta;
    server_id from;
    uint32_t chunk_no = 0;
  };
  std::optional<pending_install> pending_install_;
  std::deque<std::function<void()>> deferred_;
  index_t commit_index_{0};
  index_t last_applied_{0};
  index_t last_checkpoint_{0};
  uint32_t machine_version_ = 0;  ///< the cluster's effective version (applied noops)
  /// What the machine code says of itself, read once (guarded) at construction: it does
  /// not change for a machine instance, and the core asks for it on every reply.
  uint32_t machine_code_version_ = 0;
  bool machine_wants_tick_ = false;
  /// Set by guard_machine: the stop reason the next take_actions() stops with.
  std::optional<std::string> machine_callback_failure_;
  std::string stop_reason_;
  std::string storage_error_;  ///< non-empty while the log cannot be written
  index_t written_at_error_{0};

  // membership: current (possibly uncommitted) config and the history of changes
  cluster_config cluster_;
  cluster_config base_config_;  ///< config at the snapshot (or the initial members)
  std::map<index_t, cluster_config> config_history_;  ///< index -> config from that entry

  server_metrics metrics_;
};

}  // namespace ra
