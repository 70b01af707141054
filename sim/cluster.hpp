#pragma once
// The deterministic discrete-event driver of a cluster of ra::servers: it plays the
// actor shell for every member (executes their actions), the network between them, their
// disks (sync completion, possibly late or partial), their timers and Ra's failure
// detector (monitor_leader -> handle_leader_down). One seed drives everything; events
// are ordered by (simulated time, sequence number), so a seed replays the same run.
//
// Clients, fault schedules and invariant checks live above this (simulator.cpp, the
// demo); they schedule `call` events and watch through a cluster_observer.

#include <array>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <ostream>
#include <string>
#include <vector>

#include "libra/server.hpp"
#include "sim/network.hpp"
#include "sim/observed_log.hpp"
#include "sim/real_storage.hpp"
#include "sim/rng.hpp"

namespace ra::sim {

using sim_time = int64_t;  ///< simulated milliseconds since the start of the run

struct disk_profile {
  int64_t min_sync_ms = 0;
  int64_t max_sync_ms = 2;
  double partial_sync = 0;  ///< chance that a sync makes only a prefix durable
};

/// How long the failure detector takes to report a lost leader.
struct detector_profile {
  int64_t min_ms = 20;
  int64_t max_ms = 300;
};

/// One simulated member: its storage (which survives crashes) and its server, if running.
struct sim_node {
  int index = 0;
  ra::server_config config;
  observed_log log;
  ra::durable_meta meta;  ///< what persist_meta made durable
  /// Real-storage mode: the node's WAL, segments, snapshots and meta store on its own
  /// simulated disk (null in the in-memory mode, where `log` is the disk).
  std::unique_ptr<real_node_storage> real;
  /// A power cut is armed on the disk: the node crashes at the end of its next storage work.
  bool power_cut_pending = false;
  bool storage_stopped = false;  ///< stopped by a storage error (revive() may restart it)
  int64_t power_cut_downtime = 0;
  std::unique_ptr<ra::server> server;
  bool started = false;
  bool crashed = false;
  bool stopped = false;
  std::string stop_reason;
  uint64_t incarnation = 0;
  std::array<uint64_t, 4> timer_generation{};  ///< per timer_kind; bumped by set/cancel
  bool sync_pending = false;
  ra::index_term reported_written;
  disk_profile disk;
  std::optional<int> monitored_leader;
  uint64_t monitor_generation = 0;
  bool leader_down_pending = false;

  bool running() const { return server && !crashed && !stopped; }
  const std::string& name() const { return config.id.name; }
};

struct cluster_stats {
  uint64_t messages_sent = 0;
  uint64_t messages_dropped = 0;
  uint64_t messages_duplicated = 0;
  uint64_t messages_delivered = 0;
  /// Per peer_message alternative (by variant index): a storm shows up here.
  std::array<uint64_t, std::variant_size_v<ra::peer_message>> sent_by_type{};
  uint64_t timers_fired = 0;
  uint64_t syncs = 0;
  uint64_t partial_syncs = 0;
  uint64_t leader_down_signals = 0;
  uint64_t crashes = 0;
  uint64_t restarts = 0;
  uint64_t effects = 0;
  uint64_t stops = 0;
  /// Real-storage mode: restarts whose recovery failed, servers stopped by a storage
  /// error (an unreadable log, a failed meta write), WAL batches that failed.
  uint64_t recovery_failures = 0;
  uint64_t storage_stops = 0;
  uint64_t wal_errors = 0;
  /// Leaders' snapshots installed by the worker while their server held events back.
  uint64_t installs_off_thread = 0;
};

class cluster_observer {
 public:
  virtual ~cluster_observer() = default;
  /// reply / notify / reject / query_reply emitted by `node`, while the cluster executes
  /// that node's actions (so within the event that caused it).
  virtual void on_client_action(int /*node*/, const ra::action& /*a*/) {}
  virtual void on_role_change(int /*node*/, const ra::role_change_action& /*a*/) {}
  virtual void on_stopped(int /*node*/, const std::string& /*reason*/) {}
  /// After every event, with the nodes whose servers it touched (possibly none).
  virtual void after_event(const std::vector<int>& /*touched*/) {}
};

class sim_cluster {
 public:
  using machine_factory = std::function<std::unique_ptr<ra::machine>(int node)>;

  sim_cluster(uint64_t seed, machine_factory factory);
  ~sim_cluster();
  sim_cluster(const sim_cluster&) = delete;
  sim_cluster& operator=(const sim_cluster&) = delete;

  // -- members ------------------------------------------------------------------------

  /// From now on, added members run on the real storage stack over a simulated disk
  /// (before add_node; without it they run on memory_log).
  void use_real_storage(const real_storage_profile& profile) { real_profile_ = profile; }
  bool real_storage() const { return real_profile_.has_value(); }
  /// Adds a member (not started). Returns its index.
  int add_node(ra::server_config config);
  /// Starts a server on the node's storage (first start or restart after a crash).
  void start(int node);
  /// Kills the server: un-synced log writes are lost, timers and pending syncs forgotten.
  void crash(int node);
  /// start() after crash(); counted as a restart.
  void restart(int node);
  /// Real-storage mode: the power fails in the middle of the node's storage work (what it
  /// has pending now, else its next WAL flush, segment flush or snapshot write), the node
  /// crashes, and it restarts `downtime` ms later.
  void power_cut(int node, int64_t downtime);
  /// Real-storage mode: restarts a member stopped by a storage error once its disk is
  /// healthy again, as an operator or a supervisor would (no power loss: the page cache
  /// survives).
  void revive(int node);
  /// Delivers a spurious leader-down signal to a follower (detector false alarm).
  void false_alarm(int node);

  size_t size() const { return nodes_.size(); }
  sim_node& node(int i) { return *nodes_.at(static_cast<size_t>(i)); }
  const sim_node& node(int i) const { return *nodes_.at(static_cast<size_t>(i)); }
  std::optional<int> find(const ra::server_id& id) const;
  bool running(int i) const { return node(i).running(); }
  /// The running member that is leader (or await_condition) in the highest term.
  std::optional<int> leader() const;

  // -- time and events ----------------------------------------------------------------

  sim_time now() const { return now_; }
  uint64_t steps() const { return steps_; }
  /// Hash of every event processed so far: equal hashes = same run.
  uint64_t trace_hash() const { return trace_hash_; }
  const cluster_stats& stats() const { return stats_; }
  network& net() { return net_; }
  const network& net() const { return net_; }
  rng& random() { return rng_; }
  void set_detector(const detector_profile& d) { detector_ = d; }
  void set_observer(cluster_observer* o) { observer_ = o; }
  /// Test-only sabotage: crashes wipe storage (log, term and vote) instead of keeping it.
  void set_amnesia(bool on) { amnesia_ = on; }
  /// Human-readable event log (nullptr: none).
  void set_trace(std::ostream* out) { trace_ = out; }
  std::ostream* trace() const { return trace_; }
  /// "[  1234 ms]" prefix for log lines.
  std::string stamp() const;

  /// Runs `fn` after `delay` ms. `label` goes into the trace hash and the event log.
  void schedule(sim_time delay, std::string label, std::function<void()> fn);
  /// Runs `fn` on a running server now and executes the actions it produced.
  /// Returns false (and does nothing) if the node is not running.
  bool invoke(int node, const std::function<void(ra::server&)>& fn);

  /// Processes the next event. False if there is none.
  bool step();
  /// Steps until `done()` holds (checked after each event), time passes `deadline`, or
  /// `keep_going()` says stop. Returns done().
  bool run_until(const std::function<bool()>& done, sim_time deadline,
                 const std::function<bool()>& keep_going = {});
  bool idle() const { return queue_.empty(); }

 private:
  enum class event_kind : uint8_t { deliver, timer, disk_sync, leader_down, flush, call };
  struct event {
    event_kind kind = event_kind::call;
    int node = -1;
    int from = -1;
    uint64_t incarnation = 0;
    uint64_t generation = 0;
    ra::timer_kind timer = ra::timer_kind::election;
    bool node_down = false;
    std::optional<ra::peer_message> msg;
    std::string label;
    std::function<void()> fn;
  };

  void push(sim_time delay, event ev);
  void dispatch(event& ev);
  void hash_event(const event& ev);
  void trace_event(const event& ev) const;
  void execute_actions(int node);
  void execute(int node, ra::action& a);
  void send(int from, ra::send_action& s);
  void complete_sync(int node);
  void settle();  // after an event: schedule syncs, run the failure detector, notify
  void schedule_sync(int node);
  void run_detector();
  /// The shell stops a server (a stopped_action, or a storage error it cannot run on).
  void stop_node(int node, const std::string& reason);
  /// Real-storage mode: stops the server if its log met an error (as the actor shell does).
  void check_storage(int node);
  void finish_power_cut(int node);

  uint64_t seed_;
  machine_factory factory_;
  rng rng_;
  network net_;
  detector_profile detector_;
  cluster_observer* observer_ = nullptr;
  std::ostream* trace_ = nullptr;
  std::vector<std::unique_ptr<sim_node>> nodes_;
  std::map<std::pair<sim_time, uint64_t>, event> queue_;
  uint64_t next_seq_ = 0;
  sim_time now_ = 0;
  uint64_t steps_ = 0;
  uint64_t trace_hash_ = hash_start;
  bool in_event_ = false;
  bool amnesia_ = false;
  std::optional<real_storage_profile> real_profile_;
  std::vector<int> touched_;
  cluster_stats stats_;
};

bool is_leaderish(ra::role r);

}  // namespace ra::sim
