#include "sim/simulator.hpp"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>

#include "sim/clients.hpp"
#include "sim/cluster.hpp"
#include "sim/faults.hpp"
#include "sim/invariants.hpp"
#include "sim/recording_machine.hpp"
#include "sim/register_machine.hpp"
#include "lincheck/checker.hpp"

namespace ra::sim {

namespace {

/// Everything a seed decides before the run starts.
struct run_setup {
  int servers = 3;
  int spares = 2;
  std::vector<ra::server_config> configs;
  uint64_t release_every = 10;
  uint64_t checkpoint_every = 0;
  network_profile net;
  disk_profile disk;
  detector_profile detector;
  client_profile clients;
  fault_profile faults;
};

run_setup draw_setup(const sim_options& opts, rng& r) {
  run_setup s;
  s.servers = opts.servers > 0 ? opts.servers : (r.chance(0.5) ? 3 : 5);
  s.spares = std::max(0, std::min(2, 7 - s.servers));
  // Ra's timer relationships at a smaller scale: detector poll ~ 10 x broadcast time.
  const uint64_t broadcast = static_cast<uint64_t>(r.between(20, 100));
  const uint64_t poll = broadcast * static_cast<uint64_t>(r.between(8, 12));
  ra::server_config base;
  base.cluster_name = "sim";
  base.broadcast_time_ms = broadcast;
  base.detector_poll_ms = poll;
  base.tick_timeout_ms = broadcast * static_cast<uint64_t>(r.between(2, 10));
  base.await_condition_timeout_ms = static_cast<uint64_t>(r.between(500, 3000));
  base.receive_snapshot_timeout_ms = static_cast<uint64_t>(r.between(1000, 5000));
  base.max_pipeline_count = r.chance(0.3) ? static_cast<uint32_t>(r.between(1, 8)) : 4096;
  base.max_append_entries_rpc_batch_size = r.chance(0.3) ? static_cast<uint32_t>(r.between(1, 4)) : 128;
  base.low_priority_commands_flush_size = static_cast<uint32_t>(r.between(1, 16));
  base.snapshot_chunk_size = static_cast<uint64_t>(r.between(16, 64));
  base.min_snapshot_interval = static_cast<uint64_t>(r.between(5, 50));
  s.release_every = static_cast<uint64_t>(r.between(3, 20));
  // Half the seeds also checkpoint (cheap, non-durable snapshots that a later release
  // cursor promotes).
  s.checkpoint_every = r.chance(0.5) ? static_cast<uint64_t>(r.between(2, 10)) : 0;
  base.min_checkpoint_interval = static_cast<uint64_t>(r.between(2, 20));
  // Half the seeds batch normal-priority commands as the actor runtime does.
  base.batch_commands = r.chance(0.5);

  std::vector<ra::member> initial;
  for (int i = 0; i < s.servers; ++i)
    initial.push_back(ra::member{ra::server_id{"s" + std::to_string(i + 1), ""}, ra::membership::voter, ra::index_t{0}});
  for (int i = 0; i < s.servers + s.spares; ++i) {
    ra::server_config c = base;
    c.id = ra::server_id{"s" + std::to_string(i + 1), ""};
    if (i < s.servers)
      c.initial_members = initial;  // spares start empty and wait to be added
    s.configs.push_back(c);
  }

  if (opts.faults) {
    s.net.min_delay_ms = 1;
    s.net.max_delay_ms = r.between(5, 50);
    if (r.chance(0.5)) {
      s.net.long_delay_chance = 0.001 + 0.02 * r.unit();
      s.net.long_delay_max_ms = r.between(200, 2000);
    }
    s.net.loss = r.chance(0.6) ? 0.1 * r.unit() : 0;
    s.net.duplicate = r.chance(0.5) ? 0.05 * r.unit() : 0;
    s.disk = disk_profile{0, r.between(0, 5), r.chance(0.5) ? 0.3 : 0};
    s.detector = detector_profile{r.between(10, 50), r.between(100, 400)};
    s.faults = fault_profile::random(r, s.servers);
    if (opts.all_faults)
      for (auto& w : s.faults.weights)
        w = std::max<uint32_t>(w, 1);
  } else {
    s.net = network_profile{1, 5, 0, 0, 0, 0};
    s.disk = disk_profile{0, 2, 0};
  }
  s.clients.clients = static_cast<int>(r.between(3, 5));
  s.clients.op_timeout_ms = r.between(1500, 5000);
  if (opts.sabotage_local_reads) {
    s.clients.read_kind = ra::query_kind::local;
    s.clients.read_ratio = 0.6;
  }
  return s;
}

/// Small WAL files and segments, so roll-over and segment flushes happen in every run.
/// A stream of its own: the other draws of a seed stay what they are in memory mode.
real_storage_profile draw_real_storage(uint64_t seed, disk_model model) {
  rng r(hash_mix(hash_mix(hash_start, seed), 0x5707a6e));
  real_storage_profile p;
  p.wal_max_entries = static_cast<uint64_t>(r.between(8, 64));
  p.segment_max_entries = static_cast<uint32_t>(r.between(4, 32));
  // Small pages on some seeds: the entries are short, and a WAL batch must span pages for
  // a crash to keep a later page of it and lose an earlier one.
  static const std::vector<uint64_t> page_sizes{4096, 512, 128};
  p.crash.page_bytes = r.pick(page_sizes);
  p.crash.sector_bytes = p.crash.page_bytes / 8;
  p.crash.reorder_writeback = model == disk_model::reorder;
  p.crash.size_runs_ahead = model != disk_model::ordered;
  // A quarter of the seeds rot one bit on one member's disk (bit_rot_member): the
  // checksums must catch it (the member stops or does not recover), never apply it.
  if (r.chance(0.25)) {
    p.faults.read_bit_flip = 0.0002 + 0.002 * r.unit();
    p.faults.max_bit_flips = 1;
  }
  return p;
}

/// A default-constructed peer_message holding alternative `k` (to ask for its name).
template <size_t... K>
ra::peer_message variant_at_impl(size_t k, std::index_sequence<K...>) {
  ra::peer_message out;
  ((k == K ? (out = std::variant_alternative_t<K, ra::peer_message>{}, 0) : 0), ...);
  return out;
}
ra::peer_message variant_at(size_t k) {
  return variant_at_impl(k, std::make_index_sequence<std::variant_size_v<ra::peer_message>>{});
}

class fuzz_run final : public cluster_observer, public apply_listener {
 public:
  fuzz_run(const sim_options& opts)
    : opts_(opts),
      master_(hash_mix(hash_start, opts.seed)),
      setup_rng_(master_.fork()),
      setup_(draw_setup(opts, setup_rng_)),
      cluster_(opts.seed, [this](int i) { return make_machine_for(i); }),
      clients_(cluster_, master_.fork(), setup_.clients, checker_),
      faults_(cluster_, master_.fork(), setup_.faults, setup_.disk) {
    cluster_.set_observer(this);
    if (opts.verbose)
      cluster_.set_trace(opts.log ? opts.log : &std::cout);
    cluster_.net().set_profile(setup_.net);
    cluster_.set_detector(setup_.detector);
    cluster_.set_amnesia(opts.sabotage_amnesia);
    if (uses_real_storage(opts))
      cluster_.use_real_storage(draw_real_storage(opts.seed, opts.disk));
    for (const ra::server_config& c : setup_.configs) {
      const int i = cluster_.add_node(c);
      cluster_.node(i).disk = setup_.disk;
      sim_node& n = cluster_.node(i);
      if (n.real && i != static_cast<int>(opts.seed / 2 % static_cast<uint64_t>(setup_.servers)))
        n.real->disk().set_faults({});  // bit rot on one member only: the others keep a majority
    }
    watch_.resize(setup_.configs.size());
  }

  sim_result run();

  // cluster_observer
  void on_client_action(int node, const ra::action& a) override;
  void after_event(const std::vector<int>& touched) override;
  void on_stopped(int node, const std::string& reason) override;

  // apply_listener
  void on_apply(int member, const ra::command_meta& meta, const ra::shared_bytes& command) override;
  void on_reset(int member) override { checker_.on_machine_reset(cluster_.node(member).name()); }
  void on_applied_state(int member, const ra::command_meta& meta, const ra::shared_bytes& state) override {
    checker_.on_state(cluster_.node(member).name(), meta.index.value, fingerprint(state));
  }

 private:
  /// What the invariant checks remember per member between events.
  struct watch {
    uint64_t incarnation = UINT64_MAX;
    uint64_t seen_commit = 0;
    uint64_t leader_term = 0;
    uint64_t leader_cursor = 1;
    uint64_t snapshot_checked = 0;  ///< index of the last snapshot compared with the log
  };

  std::unique_ptr<ra::machine> make_machine_for(int i) {
    auto inner = ra::make_machine<register_machine>(register_machine{setup_.release_every, setup_.checkpoint_every});
    return std::make_unique<recording_machine>(std::move(inner), *this, i);
  }
  /// For the log checks: whether a member's read errors are its disk's caught bit rot.
  static std::function<bool()> rotted(const sim_node& n) {
    if (!n.real)
      return {};
    return [&n] { return n.real->disk().counters().bits_flipped > 0; };
  }
  /// Whether a member's disk rotted or failed an operation (else it only crashed).
  static bool disk_misbehaved(const sim_node& n) {
    const auto& disk = n.real->disk().counters();
    return disk.bits_flipped > 0 || disk.write_faults > 0 || disk.sync_faults > 0;
  }
  void check_member(int i);
  void check_leaders(bool from_start);
  void full_check();
  bool failed() {
    if (checker_.ok())
      return false;
    if (failed_step_ == 0)
      failed_step_ = cluster_.steps();
    return true;
  }
  std::string describe_cluster() const;
  /// The most sent message types so far, for storm reports.
  std::string busiest_messages() const;
  /// As ra:start_cluster: brand-new servers wait to be told, so trigger an election on
  /// one, and again while no member has left term 0 (the first may have crashed).
  void start_cluster();
  /// "<member> applied only up to ..." for a running member of `leader`'s configuration
  /// that has not applied up to `target`, or "" if none lags.
  std::string lagging_member(const ra::server& leader, uint64_t target) const;

  sim_options opts_;
  rng master_;
  rng setup_rng_;
  run_setup setup_;
  safety_checker checker_;
  sim_cluster cluster_;
  client_pool clients_;
  fault_injector faults_;
  std::vector<watch> watch_;
  uint64_t failed_step_ = 0;
  uint64_t corruption_stops_ = 0;  ///< servers stopped because their disk rotted or failed
};

void fuzz_run::on_client_action(int node, const ra::action& a) {
  uint64_t ref = 0;
  if (const auto* r = std::get_if<ra::reply_action>(&a))
    ref = r->to.id;
  else if (const auto* n = std::get_if<ra::notify_action>(&a))
    ref = n->to.id;
  else if (const auto* j = std::get_if<ra::reject_action>(&a))
    ref = j->to.id;
  else if (const auto* q = std::get_if<ra::query_reply_action>(&a))
    ref = q->to.id;
  if (ref >= fault_injector::ref_base)
    faults_.on_client_action(node, a);
  else
    clients_.on_client_action(node, a);
}

void fuzz_run::on_apply(int member, const ra::command_meta& meta, const ra::shared_bytes& command) {
  const sim_node& n = cluster_.node(member);
  checker_.on_apply(n.name(), meta.index.value, meta.term.value, fingerprint(command));
  // Applied means committed, in a term no later than the member's current one.
  const uint64_t bound = n.server ? n.server->current_term().value : UINT64_MAX;
  checker_.on_committed("apply on " + n.name(), meta.index.value, meta.term.value, bound);
}

void fuzz_run::check_member(int i) {
  sim_node& n = cluster_.node(i);
  if (!n.server || n.crashed)
    return;
  watch& w = watch_[static_cast<size_t>(i)];
  if (w.incarnation != n.incarnation) {  // a new server: its commit index starts over
    w = watch{};
    w.incarnation = n.incarnation;
    // What recovery rebuilt must match the committed log, all of it (not only what
    // changed since the last look: the real stack may bring back more or less).
    n.log.take_changed_from();
    checker_.check_log(n.name(), n.log, 0, rotted(n));
  }
  if (auto from = n.log.take_changed_from())
    checker_.check_log(n.name(), n.log, from->value, rotted(n));
  if (n.real && n.real->segment_error() && !disk_misbehaved(n))
    checker_.fail("storage recovery", n.name() + " cannot move a rolled-over WAL file into segments on a disk that "
                                                 "only crashed: " + *n.real->segment_error());
  const ra::server& s = *n.server;
  const uint64_t commit = s.commit_index().value;
  if (commit > s.log().last_index().value)
    checker_.fail("commit index within the log", n.name() + " has commit index " + std::to_string(commit) +
                                                   " beyond its last index " + std::to_string(s.log().last_index().value));
  for (uint64_t idx = std::max(w.seen_commit + 1, s.log().first_index().value - 1); idx <= commit; ++idx)
    if (auto t = s.log().term_at(ra::index_t{idx}); t && idx > 0)
      checker_.on_committed(n.name(), idx, t->value, s.current_term().value);
  w.seen_commit = std::max(w.seen_commit, commit);
  // A new snapshot (taken, installed or recovered) must hold the committed log's state.
  if (auto snap = s.log().snapshot(); snap && snap->meta.index.value != w.snapshot_checked) {
    w.snapshot_checked = snap->meta.index.value;
    if (auto state = s.log().load_snapshot_state())
      checker_.check_snapshot(n.name(), snap->meta.index.value, fingerprint(*state));
  }
  if (is_leaderish(s.current_role()))
    checker_.on_leader(n.name(), s.current_term().value);
}

void fuzz_run::check_leaders(bool from_start) {
  for (size_t i = 0; i < cluster_.size(); ++i) {
    sim_node& n = cluster_.node(static_cast<int>(i));
    if (!n.running() || !is_leaderish(n.server->current_role()))
      continue;
    watch& w = watch_[i];
    const uint64_t term = n.server->current_term().value;
    if (w.leader_term != term || from_start) {
      w.leader_term = term;
      w.leader_cursor = 1;
    }
    w.leader_cursor = checker_.check_leader_log(n.name(), term, n.server->log(), w.leader_cursor);
  }
}

void fuzz_run::full_check() {
  for (size_t i = 0; i < cluster_.size(); ++i) {
    const sim_node& n = cluster_.node(static_cast<int>(i));
    if (n.started)
      checker_.check_log(n.name(), n.log, 0, rotted(n));
  }
  check_leaders(true);
}

void fuzz_run::after_event(const std::vector<int>& touched) {
  if (!checker_.ok())
    return;
  for (int i : touched)
    check_member(i);
  check_leaders(false);
  if (opts_.full_check_every != 0 && cluster_.steps() % opts_.full_check_every == 0)
    full_check();
  if (!failed())
    faults_.after_event(touched);  // after the checks: they saw the state before a crash
}

void fuzz_run::on_stopped(int node, const std::string& reason) {
  const sim_node& n = cluster_.node(node);
  if (!n.real)
    return;
  // On the real stack a server stops for storage reasons only if its disk returned
  // corrupt data (a flipped bit the checksums caught) or failed an operation; with
  // neither, recovery or the log failed on what a crash legitimately leaves behind.
  if (disk_misbehaved(n)) {
    ++corruption_stops_;
    return;
  }
  if (reason.starts_with("recovery:") || reason.starts_with("log:") || reason.starts_with("meta store:"))
    checker_.fail("storage recovery", n.name() + " stopped on a disk that only crashed: " + reason);
}

std::string fuzz_run::describe_cluster() const {
  std::ostringstream os;
  for (size_t i = 0; i < cluster_.size(); ++i) {
    const sim_node& n = cluster_.node(static_cast<int>(i));
    if (i != 0)
      os << "; ";
    os << n.name() << ": ";
    if (!n.started) {
      os << "never started";
      continue;
    }
    if (!n.server) {  // recovery failed
      os << "stopped (" << n.stop_reason << ")";
      continue;
    }
    if (n.crashed) {
      os << "crashed";
      continue;
    }
    if (n.stopped)
      os << "stopped (" << n.stop_reason << ") ";
    const ra::server& s = *n.server;
    os << ra::to_string(s.current_role()) << " term " << s.current_term() << " commit " << s.commit_index()
       << " last " << s.log().last_index() << " written " << s.log().last_written().index << " members "
       << s.cluster().members().size();
  }
  os << "; cuts: " << cluster_.net().describe_cuts();
  return os.str();
}

std::string fuzz_run::lagging_member(const ra::server& leader, uint64_t target) const {
  for (const ra::member& m : leader.cluster().members()) {
    const std::optional<int> i = cluster_.find(m.id);
    if (!i || !cluster_.running(*i))
      continue;  // stopped by a storage error, or not a simulated member
    const uint64_t applied = cluster_.node(*i).server->last_applied().value;
    if (applied < target)
      return cluster_.node(*i).name() + " applied only up to " + std::to_string(applied) + " of " +
             std::to_string(target) + "; ";
  }
  return {};
}

void fuzz_run::start_cluster() {
  // Started once a member holds a term durably (it then looks for a leader on its own
  // whenever it runs). The term of a member stopped or crashed does not count: it may be
  // one whose persisting failed (a brand-new member's candidacy on a full disk), gone
  // when it restarts, and then no member of the still-new cluster ever holds an election.
  bool started = false;
  for (size_t i = 0; i < cluster_.size(); ++i) {
    const sim_node& n = cluster_.node(static_cast<int>(i));
    started = started || n.meta.current_term > ra::term_t{0} ||
              (n.running() && n.server->current_term() > ra::term_t{0});
  }
  if (started)
    return;
  std::vector<int> candidates;
  for (int i = 0; i < setup_.servers; ++i)
    if (cluster_.running(i))
      candidates.push_back(i);
  if (!candidates.empty())
    cluster_.invoke(setup_rng_.pick(candidates), [](ra::server& s) { s.handle_trigger_election(); });
  cluster_.schedule(2000, "start_cluster check", [this] { start_cluster(); });
}

std::string fuzz_run::busiest_messages() const {
  const auto& sent = cluster_.stats().sent_by_type;
  std::vector<std::pair<uint64_t, size_t>> by_count;
  for (size_t k = 0; k < sent.size(); ++k)
    by_count.emplace_back(sent[k], k);
  std::sort(by_count.rbegin(), by_count.rend());
  std::string out = "messages sent:";
  for (size_t k = 0; k < 3 && k < by_count.size(); ++k) {
    ra::peer_message probe = variant_at(by_count[k].second);
    out += std::string(k == 0 ? " " : ", ") + ra::message_name(probe) + " " + std::to_string(by_count[k].first);
  }
  return out;
}

sim_result fuzz_run::run() {
  sim_result result;
  result.seed = opts_.seed;
  result.real_storage = cluster_.real_storage();
  if (std::ostream* out = cluster_.trace())
    *out << "seed " << opts_.seed << ": " << setup_.servers << " servers + " << setup_.spares << " spares, faults: "
         << setup_.faults.describe() << "\n";
  for (int i = 0; i < setup_.servers; ++i)
    cluster_.start(i);
  start_cluster();
  clients_.start();
  if (opts_.faults)
    faults_.start();

  // Fault phase.
  while (cluster_.steps() < opts_.steps && !failed() && cluster_.step()) {
  }

  // Liveness phase: heal everything; a leader must emerge and every client get a write in.
  if (!failed()) {
    faults_.heal();
    cluster_.net().set_profile(network_profile{1, 5, 0, 0, 0, 0});
    clients_.begin_liveness();
    const sim_time healed_at = cluster_.now();
    const sim_time deadline = healed_at + opts_.liveness_ms;
    const uint64_t step_limit = cluster_.steps() + opts_.max_heal_steps;
    // Live: a leader, every client got a write in, and every running member of the
    // leader's configuration (restarted ones included) applied everything committed when
    // the clients first got through.
    std::optional<uint64_t> catch_up_target;
    const bool live = cluster_.run_until(
      [&] {
        const std::optional<int> leader = cluster_.leader();
        if (!clients_.live() || !leader)
          return false;
        const ra::server& l = *cluster_.node(*leader).server;
        if (!catch_up_target)
          catch_up_target = l.commit_index().value;
        return lagging_member(l, *catch_up_target).empty();
      },
      deadline, [&] { return !failed() && cluster_.steps() < step_limit; });
    if (!failed() && !live && cluster_.steps() >= step_limit)
      checker_.fail("liveness", "event storm: " + std::to_string(opts_.max_heal_steps) + " events in " +
                                  std::to_string(cluster_.now() - healed_at) + " ms of simulated time after healing; " +
                                  busiest_messages() + "; " + describe_cluster());
    else if (!failed() && !live)
      checker_.fail("liveness", "no progress within " + std::to_string(opts_.liveness_ms) +
                                  " ms of simulated time after healing: " + clients_.waiting() + "; " +
                                  (cluster_.leader() ? "" : "no leader; ") +
                                  (catch_up_target && cluster_.leader()
                                     ? lagging_member(*cluster_.node(*cluster_.leader()).server, *catch_up_target)
                                     : std::string()) +
                                  describe_cluster());
  }

  // Let operations in flight finish, then close the history.
  clients_.stop_issuing();
  if (!failed()) {
    const uint64_t step_limit = cluster_.steps() + opts_.max_heal_steps;
    cluster_.run_until([&] { return false; }, cluster_.now() + setup_.clients.op_timeout_ms + 100,
                       [&] { return !failed() && cluster_.steps() < step_limit; });
  }
  clients_.finish();
  if (!failed()) {
    full_check();
    failed();
  }
  if (!failed()) {
    lincheck::check_options lo;
    lo.timeout_seconds = opts_.lincheck_timeout_s;
    const lincheck::verdict v = lincheck::check_register(prune_unobserved_unknowns(clients_.history()), lo);
    if (v == lincheck::verdict::not_linearizable)
      checker_.fail("linearizability", "the client history (" + std::to_string(clients_.history().size()) +
                                         " events) is not linearizable");
    else if (v == lincheck::verdict::timeout)
      checker_.fail("linearizability", "the checker timed out on " + std::to_string(clients_.history().size()) +
                                         " events");
    failed();
  }

  result.ok = checker_.ok();
  result.failure = checker_.failure();
  result.failed_step = failed_step_;
  result.steps = cluster_.steps();
  result.trace_hash = cluster_.trace_hash();
  result.history = clients_.history();

  sim_stats& st = result.stats;
  const cluster_stats& cs = cluster_.stats();
  st.servers = setup_.servers;
  st.spares = setup_.spares;
  st.sim_time_ms = static_cast<uint64_t>(cluster_.now());
  st.commit_index = checker_.committed_index();
  st.leader_terms = checker_.leaders_seen();
  st.crashes = cs.crashes;
  st.restarts = cs.restarts;
  st.messages_sent = cs.messages_sent;
  st.messages_dropped = cs.messages_dropped;
  st.messages_duplicated = cs.messages_duplicated;
  st.partial_syncs = cs.partial_syncs;
  st.leader_down_signals = cs.leader_down_signals;
  for (uint64_t n : faults_.stats().injected)
    st.faults_injected += n;
  st.membership_ok = faults_.stats().membership_ok;
  for (size_t i = 0; i < cluster_.size(); ++i) {
    const sim_node& n = cluster_.node(static_cast<int>(i));
    if (n.server) {
      st.snapshots_written += n.server->metrics().snapshots_written;
      st.snapshots_installed += n.server->metrics().snapshots_installed;
      st.checkpoints_promoted += n.server->metrics().checkpoints_promoted;
    }
  }
  const client_stats& cl = clients_.stats();
  st.ops_invoked = cl.invoked;
  st.ops_ok = cl.ok;
  st.ops_fail = cl.fail;
  st.ops_info = cl.info;
  st.fault_profile = opts_.faults ? setup_.faults.describe() : "no faults";
  st.snapshots_checked = checker_.snapshots_checked();
  st.recovery_failures = cs.recovery_failures;
  st.corruption_stops = corruption_stops_;
  st.storage_stops = cs.storage_stops;
  st.wal_errors = cs.wal_errors;
  st.installs_off_thread = cs.installs_off_thread;
  for (size_t i = 0; i < cluster_.size(); ++i) {
    const sim_node& n = cluster_.node(static_cast<int>(i));
    if (!n.real)
      continue;
    st.wal_rollovers += n.real->rollovers();
    st.segment_flushes += n.real->segment_flushes();
    st.snapshot_jobs += n.real->snapshot_jobs();
    const auto& disk = n.real->disk().counters();
    st.pages_torn += disk.pages_torn;
    st.pages_lost += disk.pages_lost;
    st.power_cuts += disk.power_cuts;
    st.dir_changes_undone += disk.dir_changes_undone;
    st.bits_flipped += disk.bits_flipped;
  }

  if (!opts_.history_dir.empty()) {
    std::filesystem::create_directories(opts_.history_dir);
    std::ofstream out(std::filesystem::path(opts_.history_dir) / ("seed-" + std::to_string(opts_.seed) + ".log"));
    lincheck::write_jepsen(out, result.history);
  }
  if (std::ostream* out = cluster_.trace())
    *out << summarize(result) << "\n";
  return result;
}

}  // namespace

bool uses_real_storage(const sim_options& opts) {
  switch (opts.storage) {
    case storage_mode::memory: return false;
    case storage_mode::real: return true;
    case storage_mode::by_seed: break;
  }
  return opts.seed % 2 == 0;
}

const char* to_string(storage_mode m) {
  switch (m) {
    case storage_mode::by_seed: return "by-seed";
    case storage_mode::memory: return "memory";
    case storage_mode::real: return "real";
  }
  return "?";
}

const char* to_string(disk_model m) {
  switch (m) {
    case disk_model::ordered: return "ordered";
    case disk_model::size_ahead: return "size-ahead";
    case disk_model::reorder: return "reorder";
  }
  return "?";
}

sim_result run_simulation(const sim_options& opts) {
  auto run = std::make_unique<fuzz_run>(opts);
  return run->run();
}

std::string summarize(const sim_result& r) {
  std::ostringstream os;
  const sim_stats& s = r.stats;
  os << "seed " << r.seed << (r.ok ? " ok" : " FAILED") << " (" << (r.real_storage ? "real" : "memory")
     << " storage): " << r.steps << " steps, " << s.sim_time_ms
     << " ms simulated, " << s.servers << "+" << s.spares << " servers, commit " << s.commit_index << ", "
     << s.leader_terms << " leader terms, ops " << s.ops_ok << " ok/" << s.ops_fail << " fail/" << s.ops_info
     << " info, " << s.faults_injected << " faults (" << s.crashes << " crashes), msgs " << s.messages_sent
     << " sent/" << s.messages_dropped << " dropped, snapshots " << s.snapshots_written << " written/"
     << s.snapshots_installed << " installed, checkpoints " << s.checkpoints_promoted << " promoted, " << s.snapshots_checked << " snapshots checked, hash " << std::hex << r.trace_hash << std::dec;
  if (r.real_storage)
    os << ", disk: " << s.wal_rollovers << " WAL roll-overs, " << s.segment_flushes << " segment flushes, "
       << s.snapshot_jobs << " snapshot writes, " << s.installs_off_thread << " installs off-thread, " << s.pages_torn << " pages torn/" << s.pages_lost << " lost, "
       << s.dir_changes_undone << " directory changes undone, " << s.power_cuts << " power cuts inside I/O, " << s.bits_flipped << " bits flipped (" << s.corruption_stops << " caught), "
       << s.wal_errors << " WAL errors, " << s.storage_stops << " storage stops, " << s.recovery_failures
       << " failed recoveries";
  if (!r.ok)
    os << "\n  at step " << r.failed_step << ": " << r.failure;
  return os.str();
}

}  // namespace ra::sim
