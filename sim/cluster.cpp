#include "sim/cluster.hpp"

#include <algorithm>
#include <cstdio>
#include <sstream>

namespace ra::sim {

namespace {

template <class... F>
struct overloaded : F... {
  using F::operator()...;
};
template <class... F>
overloaded(F...) -> overloaded<F...>;

uint64_t message_term(const ra::peer_message& m) {
  return std::visit([](const auto& x) { return x.term.value; }, m);
}

/// The fields of a message that matter when reading an event log.
std::string describe(const ra::peer_message& m) {
  std::ostringstream os;
  os << ra::message_name(m) << " (term " << message_term(m);
  std::visit(overloaded{
               [&](const ra::append_entries_rpc& x) {
                 os << ", prev " << x.prev_log_index << "/" << x.prev_log_term << ", " << x.entries.size()
                    << " entries, commit " << x.leader_commit;
               },
               [&](const ra::append_entries_reply& x) {
                 os << (x.success ? ", ok" : ", FAIL") << ", next " << x.next_index << ", last " << x.last_index << "/"
                    << x.last_term;
               },
               [&](const ra::pre_vote_rpc& x) { os << ", last " << x.last_log_index << "/" << x.last_log_term; },
               [&](const ra::pre_vote_result& x) { os << (x.vote_granted ? ", granted" : ", denied"); },
               [&](const ra::request_vote_rpc& x) {
                 os << ", last " << x.last_log_index << "/" << x.last_log_term << (x.leadership_transfer ? ", transfer" : "");
               },
               [&](const ra::request_vote_result& x) { os << (x.vote_granted ? ", granted" : ", denied"); },
               [&](const ra::install_snapshot_rpc& x) {
                 os << ", snapshot " << x.meta.index << "/" << x.meta.term << ", chunk " << x.chunk_no
                    << (x.last ? " (last)" : "") << ", " << x.data.size() << " bytes";
               },
               [&](const ra::install_snapshot_result& x) {
                 os << ", snapshot " << x.snapshot_index << ", chunk " << x.chunk_no << ", last " << x.last_index << "/"
                    << x.last_term;
               },
               [&](const ra::heartbeat_rpc& x) { os << ", query " << x.query_index; },
               [&](const ra::heartbeat_reply& x) { os << ", query " << x.query_index; },
               [&](const ra::timeout_now_rpc&) {},
             },
             m);
  os << ")";
  return os.str();
}

const char* event_kind_name(int k) {
  static const char* names[] = {"deliver", "timer", "disk_sync", "leader_down", "flush", "call"};
  return names[k];
}

}  // namespace

bool is_leaderish(ra::role r) {
  return r == ra::role::leader || r == ra::role::await_condition;
}

sim_cluster::sim_cluster(uint64_t seed, machine_factory factory)
  : seed_(seed), factory_(std::move(factory)), rng_(hash_mix(hash_start, seed)) {}

sim_cluster::~sim_cluster() = default;

int sim_cluster::add_node(ra::server_config config) {
  auto n = std::make_unique<sim_node>();
  n->index = static_cast<int>(nodes_.size());
  n->config = std::move(config);
  if (real_profile_)
    n->real = std::make_unique<real_node_storage>(hash_mix(hash_mix(seed_, 0x5d15c), static_cast<uint64_t>(n->index)),
                                                  n->config.id.name, *real_profile_);
  nodes_.push_back(std::move(n));
  return static_cast<int>(nodes_.size()) - 1;
}

std::optional<int> sim_cluster::find(const ra::server_id& id) const {
  for (const auto& n : nodes_)
    if (n->config.id == id)
      return n->index;
  return std::nullopt;
}

std::optional<int> sim_cluster::leader() const {
  std::optional<int> best;
  for (const auto& n : nodes_) {
    if (!n->running() || !is_leaderish(n->server->current_role()))
      continue;
    if (!best || n->server->current_term() > node(*best).server->current_term())
      best = n->index;
  }
  return best;
}

std::string sim_cluster::stamp() const {
  char buf[32];
  std::snprintf(buf, sizeof buf, "[%7lld ms]", static_cast<long long>(now_));
  return buf;
}

// -- members --------------------------------------------------------------------------

void sim_cluster::start(int i) {
  sim_node& n = node(i);
  if (n.running())
    return;
  // A fresh PRNG per incarnation: a restarted server must not replay its old timeouts.
  n.config.rng_seed = hash_mix(hash_mix(hash_mix(hash_start, seed_), static_cast<uint64_t>(i)), n.incarnation);
  if (n.real) {
    // The real recovery path; a node that cannot recover stays down, as ra::system would.
    if (auto failure = n.real->open(n.meta)) {
      ++stats_.recovery_failures;
      n.started = true;
      n.crashed = false;
      n.storage_stopped = true;
      stop_node(i, "recovery: " + *failure);
      return;
    }
    n.log.attach(&n.real->log());
  }
  n.server = std::make_unique<ra::server>(n.config, n.log, factory_(i), n.meta);
  n.server->set_time(now_);
  n.started = true;
  n.crashed = false;
  n.reported_written = n.log.last_written();
  if (trace_)
    *trace_ << stamp() << " " << n.name() << " started (incarnation " << n.incarnation << ", log "
            << n.log.first_index() << ".." << n.log.last_index() << ", term " << n.meta.current_term << ")\n";
  execute_actions(i);
  touched_.push_back(i);
  if (!in_event_)
    settle();
}

void sim_cluster::crash(int i) {
  sim_node& n = node(i);
  if (!n.server || n.crashed)
    return;
  n.server.reset();
  if (n.real) {
    // Half the crashes strike in the middle of the storage work the node had pending (a
    // WAL batch between its write and its sync, a segment flush, a snapshot write).
    if (!n.real->disk().powered_off() && !n.power_cut_pending && n.real->has_work() && rng_.chance(0.5)) {
      n.real->disk().cut_power_after(rng_.below(8));
      n.real->run_io();  // the process dies with the power: nothing is reported
    }
    n.power_cut_pending = false;
    n.log.attach(nullptr);
    n.real->crash();
  } else {
    n.log.disk().crash();
  }
  if (amnesia_) {
    n.log.disk() = ra::memory_log{};
    n.meta = ra::durable_meta{};
  }
  n.log.take_changed_from();  // the durable image was checked when first appended
  n.crashed = true;
  ++n.incarnation;  // orphans its timers, syncs and detector signals
  n.sync_pending = false;
  n.monitored_leader.reset();
  n.leader_down_pending = false;
  ++stats_.crashes;
  if (trace_)
    *trace_ << stamp() << " " << n.name() << " CRASHED (durable log " << n.log.first_index() << ".."
            << n.log.last_index() << ")\n";
}

void sim_cluster::restart(int i) {
  sim_node& n = node(i);
  if (!n.crashed || n.stopped)
    return;
  ++stats_.restarts;
  start(i);
}

void sim_cluster::power_cut(int i, int64_t downtime) {
  sim_node& n = node(i);
  if (!n.real || !n.running() || n.power_cut_pending)
    return;
  n.real->disk().cut_power_after(rng_.below(8));
  n.power_cut_pending = true;
  n.power_cut_downtime = downtime;
  if (trace_)
    *trace_ << stamp() << " " << n.name() << " power cut armed\n";
  if (n.real->has_work()) {
    n.real->run_io();
    finish_power_cut(i);
  }
}

void sim_cluster::finish_power_cut(int i) {
  sim_node& n = node(i);
  const int64_t downtime = n.power_cut_downtime;
  crash(i);
  schedule(downtime, "restart " + n.name() + " after the power cut", [this, i] {
    if (node(i).crashed)
      restart(i);
  });
}

void sim_cluster::revive(int i) {
  sim_node& n = node(i);
  if (!n.real || !n.stopped || !n.storage_stopped)
    return;
  // The process exits; the machine stays up, so the page cache (unsynced writes, pages
  // a failed sync dropped) survives for the next process to read.
  n.server.reset();
  n.log.attach(nullptr);
  if (n.real->disk().powered_off()) {
    n.real->crash();  // a power cut struck meanwhile: the crash model already ran
  } else {
    n.real->disk().cancel_power_cut();
    n.real->stop_process();
  }
  n.stopped = false;
  n.storage_stopped = false;
  n.stop_reason.clear();
  n.crashed = true;
  ++n.incarnation;
  n.sync_pending = false;
  n.power_cut_pending = false;
  n.monitored_leader.reset();
  n.leader_down_pending = false;
  if (trace_)
    *trace_ << stamp() << " " << n.name() << " revived after a storage stop\n";
  restart(i);
}

void sim_cluster::false_alarm(int i) {
  if (trace_ && running(i))
    *trace_ << stamp() << " " << node(i).name() << " false leader-down alarm\n";
  invoke(i, [](ra::server& s) { s.handle_leader_down(false); });
}

// -- events ---------------------------------------------------------------------------

void sim_cluster::push(sim_time delay, event ev) {
  queue_.emplace(std::make_pair(now_ + std::max<sim_time>(delay, 0), next_seq_++), std::move(ev));
}

void sim_cluster::schedule(sim_time delay, std::string label, std::function<void()> fn) {
  event ev;
  ev.kind = event_kind::call;
  ev.label = std::move(label);
  ev.fn = std::move(fn);
  push(delay, std::move(ev));
}

bool sim_cluster::invoke(int i, const std::function<void(ra::server&)>& fn) {
  sim_node& n = node(i);
  if (!n.running())
    return false;
  n.server->set_time(now_);
  fn(*n.server);
  execute_actions(i);
  touched_.push_back(i);
  if (!in_event_)
    settle();
  return true;
}

bool sim_cluster::step() {
  if (queue_.empty())
    return false;
  auto handle = queue_.extract(queue_.begin());
  now_ = handle.key().first;
  ++steps_;
  event& ev = handle.mapped();
  hash_event(ev);
  if (trace_)
    trace_event(ev);
  in_event_ = true;
  touched_.clear();
  dispatch(ev);
  in_event_ = false;
  settle();
  return true;
}

bool sim_cluster::run_until(const std::function<bool()>& done, sim_time deadline,
                            const std::function<bool()>& keep_going) {
  while (!done()) {
    if (keep_going && !keep_going())
      return false;
    if (queue_.empty() || queue_.begin()->first.first > deadline)
      return done();
    step();
  }
  return true;
}

void sim_cluster::hash_event(const event& ev) {
  uint64_t h = hash_mix(trace_hash_, static_cast<uint64_t>(now_));
  h = hash_mix(h, static_cast<uint64_t>(ev.kind));
  h = hash_mix(h, static_cast<uint64_t>(ev.node + 1));
  h = hash_mix(h, static_cast<uint64_t>(ev.from + 1));
  h = hash_mix(h, ev.generation);
  h = hash_mix(h, static_cast<uint64_t>(ev.timer));
  if (ev.msg) {
    h = hash_mix(h, ev.msg->index());
    h = hash_mix(h, message_term(*ev.msg));
  }
  trace_hash_ = hash_bytes(h, ev.label.data(), ev.label.size());
}

void sim_cluster::trace_event(const event& ev) const {
  std::ostream& os = *trace_;
  os << stamp() << " #" << steps_ << " " << event_kind_name(static_cast<int>(ev.kind));
  if (ev.kind == event_kind::call) {
    os << " " << ev.label << "\n";
    return;
  }
  os << " " << node(ev.node).name();
  if (ev.kind == event_kind::deliver)
    os << " <- " << node(ev.from).name() << " " << describe(*ev.msg);
  if (ev.kind == event_kind::timer)
    os << " " << ra::to_string(ev.timer);
  os << "\n";
}

void sim_cluster::dispatch(event& ev) {
  switch (ev.kind) {
    case event_kind::call:
      ev.fn();
      return;
    case event_kind::deliver: {
      if (!running(ev.node) || !net_.link_up(ev.from, ev.node)) {
        ++stats_.messages_dropped;
        return;
      }
      ++stats_.messages_delivered;
      const ra::server_id from = node(ev.from).config.id;
      invoke(ev.node, [&](ra::server& s) { s.handle(from, *ev.msg); });
      return;
    }
    case event_kind::timer: {
      sim_node& n = node(ev.node);
      if (!n.running() || n.incarnation != ev.incarnation ||
          n.timer_generation[static_cast<size_t>(ev.timer)] != ev.generation)
        return;
      ++stats_.timers_fired;
      invoke(ev.node, [&](ra::server& s) { s.handle_timeout(ev.timer); });
      return;
    }
    case event_kind::disk_sync: {
      sim_node& n = node(ev.node);
      if (!n.running() || n.incarnation != ev.incarnation)
        return;
      n.sync_pending = false;
      complete_sync(ev.node);
      return;
    }
    case event_kind::leader_down: {
      sim_node& n = node(ev.node);
      if (!n.running() || n.incarnation != ev.incarnation || n.monitor_generation != ev.generation ||
          !n.leader_down_pending)
        return;
      n.leader_down_pending = false;
      n.monitored_leader.reset();  // a monitor fires once; the core monitors again when it hears a leader
      ++stats_.leader_down_signals;
      invoke(ev.node, [&](ra::server& s) { s.handle_leader_down(ev.node_down); });
      return;
    }
    case event_kind::flush: {
      sim_node& n = node(ev.node);
      if (!n.running() || n.incarnation != ev.incarnation)
        return;
      invoke(ev.node, [](ra::server& s) { s.handle_flush_commands(); });
      return;
    }
  }
}

void sim_cluster::complete_sync(int i) {
  sim_node& n = node(i);
  if (n.real) {
    // What the WAL, segment writer and snapshot worker did meanwhile, reported in the
    // order their messages would reach the server.
    const io_round round = n.real->run_io();
    ++stats_.syncs;
    if (n.power_cut_pending) {  // the power went during that work: the server hears nothing
      finish_power_cut(i);
      return;
    }
    n.reported_written = n.log.last_written();
    invoke(i, [](ra::server& s) { s.handle_log_written(); });
    if (round.installed) {
      ++stats_.installs_off_thread;
      invoke(i, [&](ra::server& s) { s.handle_snapshot_installed(*round.installed); });
    }
    if (round.wal_error) {
      ++stats_.wal_errors;
      invoke(i, [&](ra::server& s) { s.handle_storage_error(*round.wal_error); });
    }
    check_storage(i);
    return;
  }
  ra::memory_log& disk = n.log.disk();
  ra::index_t up_to = disk.last_index();
  if (disk.unsynced_from() <= disk.last_index() && rng_.chance(n.disk.partial_sync)) {
    up_to = ra::index_t{static_cast<uint64_t>(rng_.between(static_cast<int64_t>(disk.unsynced_from().value),
                                                           static_cast<int64_t>(disk.last_index().value)))};
    ++stats_.partial_syncs;
  }
  if (disk.sync(up_to))
    ++stats_.syncs;
  n.reported_written = disk.last_written();
  invoke(i, [](ra::server& s) { s.handle_log_written(); });
}

// -- actions --------------------------------------------------------------------------

void sim_cluster::execute_actions(int i) {
  for (;;) {
    sim_node& n = node(i);
    if (!n.server)
      return;
    if (n.real && n.real->disk().powered_off()) {
      finish_power_cut(i);  // the power went while the server wrote: nothing more of it
      return;
    }
    std::vector<ra::action> actions = n.server->take_actions();
    if (actions.empty()) {
      check_storage(i);
      return;
    }
    for (ra::action& a : actions) {
      if (n.real && (n.stopped || n.real->disk().powered_off()))
        break;  // as the actor shell: nothing more of a server stopped by a storage error
      execute(i, a);
    }
    if (n.real && n.stopped)
      return;
  }
}

void sim_cluster::send(int from, ra::send_action& s) {
  ++stats_.messages_sent;
  ++stats_.sent_by_type[s.msg.index()];
  std::optional<int> to = find(s.to);
  if (!to || !net_.link_up(from, *to)) {
    ++stats_.messages_dropped;
    return;
  }
  std::vector<int64_t> delays = net_.plan_delivery(rng_);
  if (delays.empty())
    ++stats_.messages_dropped;
  if (delays.size() > 1)
    ++stats_.messages_duplicated;
  for (int64_t d : delays) {
    event ev;
    ev.kind = event_kind::deliver;
    ev.node = *to;
    ev.from = from;
    ev.msg = s.msg;
    push(d, std::move(ev));
  }
}

void sim_cluster::execute(int i, ra::action& a) {
  sim_node& n = node(i);
  std::visit(
    overloaded{
      [&](ra::send_action& s) { send(i, s); },
      [&](ra::persist_meta_action& p) {
        if (n.real && !n.stopped) {
          auto failure = n.real->persist_meta(p.term, p.voted_for);
          if (failure && n.real->disk().powered_off())
            return;  // not an error of the store: the node is dying (execute_actions)
          if (failure) {
            n.storage_stopped = true;
            stop_node(i, *failure);  // never act on a vote that is not durable
            return;
          }
        }
        n.meta = ra::durable_meta{p.term, p.voted_for};
      },
      [&](ra::set_timer_action& t) {
        event ev;
        ev.kind = event_kind::timer;
        ev.node = i;
        ev.incarnation = n.incarnation;
        ev.timer = t.kind;
        ev.generation = ++n.timer_generation[static_cast<size_t>(t.kind)];
        push(static_cast<sim_time>(t.ms), std::move(ev));
      },
      [&](ra::cancel_timer_action& t) { ++n.timer_generation[static_cast<size_t>(t.kind)]; },
      [&](ra::effect_action&) { ++stats_.effects; },
      [&](ra::role_change_action& r) {
        if (trace_)
          *trace_ << stamp() << " " << n.name() << " " << ra::to_string(r.from) << " -> " << ra::to_string(r.to)
                  << " in term " << r.term << (r.leader.empty() ? "" : ", leader " + r.leader.to_string()) << "\n";
        if (observer_)
          observer_->on_role_change(i, r);
      },
      [&](ra::monitor_leader_action& m) {
        std::optional<int> l = find(m.leader);
        if (l == n.monitored_leader)
          return;  // keep a pending down signal: re-monitoring the same leader does not reset it
        if (trace_)
          *trace_ << stamp() << " " << n.name() << " monitors leader " << m.leader << "\n";
        n.monitored_leader = l;
        ++n.monitor_generation;
        n.leader_down_pending = false;
      },
      [&](ra::flush_commands_action&) {
        event ev;
        ev.kind = event_kind::flush;
        ev.node = i;
        ev.incarnation = n.incarnation;
        push(1, std::move(ev));
      },
      [&](ra::stopped_action& s) {
        // The core stops itself on a snapshot write or read that failed: a storage stop.
        if (n.real && (s.reason.find("Input/output error") != std::string::npos ||
                       s.reason.find("No space left on device") != std::string::npos))
          n.storage_stopped = true;
        stop_node(i, s.reason);
      },
      [&](auto&) {
        // reply, notify, reject, query_reply: for the clients above.
        if (observer_)
          observer_->on_client_action(i, a);
      },
    },
    a);
}

// -- after each event -----------------------------------------------------------------

void sim_cluster::stop_node(int i, const std::string& reason) {
  sim_node& n = node(i);
  if (n.stopped)
    return;
  n.stopped = true;
  n.stop_reason = reason;
  ++stats_.stops;
  if (trace_)
    *trace_ << stamp() << " " << n.name() << " STOPPED: " << reason << "\n";
  if (observer_)
    observer_->on_stopped(i, reason);
}

void sim_cluster::check_storage(int i) {
  sim_node& n = node(i);
  if (!n.real || !n.real->is_open() || n.stopped)
    return;
  if (n.real->disk().powered_off()) {
    finish_power_cut(i);  // the errors the log saw are the power cut's, not the disk's
    return;
  }
  if (const auto& error = n.real->log().error()) {
    ++stats_.storage_stops;
    n.storage_stopped = true;
    stop_node(i, "log: " + error->message());
  }
}

void sim_cluster::schedule_sync(int i) {
  sim_node& n = node(i);
  if (!n.running() || n.sync_pending)
    return;
  if (n.real) {
    if (!n.real->has_work() && n.log.last_written() == n.reported_written)
      return;
  } else {
    const ra::memory_log& disk = n.log.disk();
    if (disk.unsynced_from() > disk.last_index() && disk.last_written() == n.reported_written)
      return;
  }
  n.sync_pending = true;
  event ev;
  ev.kind = event_kind::disk_sync;
  ev.node = i;
  ev.incarnation = n.incarnation;
  push(rng_.between(n.disk.min_sync_ms, n.disk.max_sync_ms), std::move(ev));
}

void sim_cluster::run_detector() {
  for (auto& fp : nodes_) {
    sim_node& f = *fp;
    if (!f.running() || !f.monitored_leader || f.leader_down_pending)
      continue;
    const int l = *f.monitored_leader;
    const sim_node& leader = node(l);
    const bool link_cut = !net_.link_up(l, f.index) || !net_.link_up(f.index, l);
    const bool down = !leader.running() || link_cut || !is_leaderish(leader.server->current_role()) ||
                      leader.server->current_term() < f.server->current_term();
    if (!down)
      continue;
    f.leader_down_pending = true;
    event ev;
    ev.kind = event_kind::leader_down;
    ev.node = f.index;
    ev.incarnation = f.incarnation;
    ev.generation = f.monitor_generation;
    ev.node_down = link_cut;  // unreachable node: Ra's longer, cancellable node-down delay
    push(rng_.between(detector_.min_ms, detector_.max_ms), std::move(ev));
  }
}

void sim_cluster::settle() {
  std::sort(touched_.begin(), touched_.end());
  touched_.erase(std::unique(touched_.begin(), touched_.end()), touched_.end());
  for (int i : touched_)
    schedule_sync(i);
  run_detector();
  std::vector<int> touched = std::move(touched_);
  touched_.clear();
  if (observer_)
    observer_->after_event(touched);
}

}  // namespace ra::sim
