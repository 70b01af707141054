#pragma once
// The server actor's private shell: its state and the few functions its two files share.
// server_actor.cpp holds the behaviours (what each role answers) and the start;
// server_executor.cpp executes what the core asks (actions) and what the machine asks
// (effects). Included by those two files only: nothing public reaches it.

#include <array>
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <set>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include <caf/all.hpp>

#include "ra/key_metrics.hpp"
#include "actors/messages.hpp"
#include "actors/server_actor.hpp"
#include "log/durable_log.hpp"

namespace ra::detail::shell {

using namespace ra::actors;
using namespace ra::storage;

struct server_state;
using server_actor = caf::stateful_actor<server_state, server_actor_interface::base>;
using server_behavior = server_actor_interface::behavior_type;

/// The shell behaviours: which one a role runs (behavior_of).
enum class shell_behavior : uint8_t { follower, candidate, leader };

/// The durable_log's writes go to the node's WAL actor, which notifies this server.
class actor_wal_sink final : public wal_sink {
 public:
  actor_wal_sink(server_actor* self, caf::actor wal) : self_(self), wal_(std::move(wal)) {}
  void write(const std::string& uid, std::vector<log_entry> entries, bool starts_new_log) override;

 private:
  server_actor* self_;
  caf::actor wal_;
};

/// Snapshot writes run on a short-lived detached helper actor, which messages the
/// result back (snapshot_done_atom) so the log is updated on the server's thread.
class actor_snapshot_worker final : public snapshot_worker {
 public:
  explicit actor_snapshot_worker(server_actor* self) : self_(self) {}
  void submit(const std::string& uid, storage::storage_job kind, std::function<io_result<std::string>()> job) override;

 private:
  server_actor* self_;
};

struct server_state {
  std::shared_ptr<system_core> core;
  // Of the stored config (persisted_server_config, ~300 bytes) only what the shell needs
  // after the start: the core keeps its server_config.
  std::string uid;      ///< names the server's data directory and meta store entry
  std::string machine;  ///< the machine's registered name (overview)
  std::string tag;  ///< "cluster/name@node" for log lines
  // Destroyed in reverse order: the server before its log, the log before its sink.
  std::unique_ptr<actor_wal_sink> sink;
  std::unique_ptr<actor_snapshot_worker> worker;
  std::unique_ptr<durable_log> log;
  std::unique_ptr<server> srv;
  /// Set by init_server when the server could not start: why (a pointer: a server that
  /// started pays 8 bytes for it, not an api_error's size).
  std::unique_ptr<api_error> init_error;
  bool initializing = true;
  bool stopping = false;
  std::array<uint64_t, 4> timer_gen{};  ///< per timer_kind: ticks with an older number are stale
  uint64_t next_client = 0;
  /// client_ref id -> the request waiting for a reply_action / query_reply_action
  std::map<uint64_t, caf::typed_response_promise<command_result>> command_waiters;
  std::map<uint64_t, caf::typed_response_promise<query_result>> query_waiters;
  std::map<uint64_t, caf::typed_response_promise<named_query_result>> named_query_waiters;
  std::map<uint64_t, caf::actor> notify_targets;       ///< client_ref id -> pipelining actor
  std::map<caf::actor_addr, uint64_t> notify_ids;
  std::optional<server_id> watched;  ///< the leader being monitored
  caf::actor_addr watched_addr;
  // Machine effects (leader-local): monitored processes and named timers.
  std::map<caf::actor_addr, pid> monitored;
  /// Monitors of pids of other processes waiting for the node actor to resolve them.
  std::set<pid> resolving_monitors;
  std::map<std::string, uint64_t> machine_timers;  ///< name -> generation of the live arming
  uint64_t machine_timer_seq = 0;
  /// reply_from: requests waiting until last_applied reaches an index.
  std::multimap<index_t, caf::typed_response_promise<caf::ok_atom, index_t>> apply_waiters;
  /// The behaviour installed (changed by sync_behavior when the role needs another).
  shell_behavior installed = shell_behavior::follower;
  /// Leader calls postponed (left in the mailbox with caf::skip) -> when the core answers
  /// them anyway. Keyed by the mailbox element, which keeps its address while skipped.
  std::unordered_map<const caf::mailbox_element*, caf::actor_clock::time_point> postponed;
  caf::timespan postpone_bound{};
  bool postpone_timer_armed = false;
  std::shared_ptr<key_metrics_block> metrics;

  // Durable votes (libra/actions.hpp: nothing after a persist_meta runs before it is
  // durable). The vote goes to the node's meta writer (group commit, off the scheduler
  // threads); until it answers, every later action of the core and every WAL write of
  // the log wait here, in order.
  uint64_t meta_seq = 0;
  std::optional<uint64_t> awaiting_meta;  ///< seq of the vote not yet durable
  /// That vote, kept to be sent again if the meta store fails to make it durable (a full
  /// disk): the server waits, retrying, instead of stopping for good.
  std::unique_ptr<storage::meta_vote_msg> awaiting_vote;
  uint32_t meta_retry_ms = 0;  ///< the next retry's delay (doubles up to 2 s)
  // A vector, not a deque: an empty std::deque allocates ~600 bytes (its map and a first
  // block), per server, for a queue that is empty but for a vote's few milliseconds.
  std::vector<action> deferred;
  struct deferred_wal_write {
    std::string uid;
    std::vector<log_entry> entries;
    bool starts_new_log;
  };
  std::vector<deferred_wal_write> deferred_wal_writes;

  /// Set when the cluster was deleted; read by the exit hook (outlives the state).
  std::shared_ptr<bool> delete_on_exit = std::make_shared<bool>(false);
};

/// Sends to a dynamically typed actor (the WAL, a peer, a pipelining client, a machine's
/// pid) with the server as sender. CAF 0.17 lets a typed actor send() only to typed
/// actors. None of these messages expects an answer (a machine's send_msg target that
/// answers anyway gets the server's unexpected-message handling, as before).
template <class... Ts>
void send_untyped(server_actor* self, const caf::actor& dst, Ts&&... xs) {
  caf::unsafe_send_as(self, dst, std::forward<Ts>(xs)...);
}

inline int64_t now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
    .count();
}

// -- shared by the two files --------------------------------------------------------------

/// Executes every pending action of the core, in order (server_executor.cpp).
void run_actions(server_actor* self);
/// The meta writer made vote `seq` durable: what waited behind it runs (server_executor.cpp).
void on_meta_durable(server_actor* self, uint64_t seq);
/// The meta writer failed to make vote `seq` durable: it is sent again after a backoff.
void on_meta_failed(server_actor* self, uint64_t seq, const std::string& message);
void on_meta_retry(server_actor* self, uint64_t seq);
/// Answers every request the server holds a promise for (server_executor.cpp).
void fail_waiters(server_state& st);
/// Stops the server, answering what it holds (server_executor.cpp).
void stop_server(server_actor* self, const std::string& reason, bool error);
/// The reason a monitored actor went down, as the machine's down command says it.
std::string down_reason(server_actor* self, const caf::error& reason);
/// The node actor resolved `p` (a pid of another node) for a machine's monitor effect:
/// monitor `a`, or report the pid down (noproc) if it is null (server_executor.cpp).
void on_pid_resolved(server_actor* self, const pid& p, const caf::actor& a);
/// The node of `p` (a monitored pid of another node) was declared down: the machine gets
/// down with noconnection, once.
void on_pid_lost(server_actor* self, const pid& p);
/// Installs the behaviour of the core's role if it is not the current one (server_actor.cpp).
void sync_behavior(server_actor* self);

/// Feeds one event to the core (f), then executes what it asks.
template <class F>
void with_server(server_actor* self, F&& f) {
  auto& st = self->state;
  if (!st.srv || st.stopping) return;
  st.srv->set_time(now_ms());
  f(*st.srv);
  run_actions(self);
}

}  // namespace ra::detail::shell
