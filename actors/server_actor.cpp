// The server actor: the CAF shell around ra::server (see server_actor.hpp and
// docs/runtime.md). Everything here runs on the actor's thread; the only shared state
// touched is the system core (meta store and directory, both behind mutexes).
//
// Behaviours, as the state functions of Ra's ra_server_proc: common() is the one handler
// set every role shares (peer RPCs, timers, storage notifications, failure detection,
// requests any member answers); leader_calls() is the part that differs per role, by the
// gate it is given (leader: take; follower: redirect through the core, postpone while no
// leader is known; candidate / pre_vote: postpone). The behaviour changes (become) only
// when the role needs another one (sync_behavior), never per action batch.

#include "actors/server_actor.hpp"

#include <tuple>
#include <variant>

#include <caf/all.hpp>
#include <spdlog/spdlog.h>

#include "actors/node_link.hpp"
#include "actors/server_data.hpp"
#include "actors/server_shell.hpp"
#include "libra/overloaded.hpp"

namespace ra::detail::shell {
namespace {

template <class Rpc>
auto peer_handler(server_actor* self) {
  return [self](peer_atom, const server_id& from, const Rpc& m) {
    // `from` is payload: it must belong to the node whose actor sent the message (review
    // F3: forged votes or AppendEntries replies from another process).
    auto& core = *self->state.core;
    if (!core.sender_speaks_for(self->current_sender(), from.node)) {
      auto n = ++core.forged_peer_messages;
      if (n <= 10 || n % 1000 == 0)
        spdlog::warn("[{}] dropped a peer message claiming to come from {}: its sender is not on that node ({} so far)",
                     self->state.tag, from.to_string(), n);
      return;
    }
    with_server(self, [&](server& s) { s.handle(from, peer_message{m}); });
  };
}

/// No core to ask: the server could not start, or it is stopping.
bool no_core(server_actor* self) { return !self->state.srv || self->state.stopping; }

/// A new client request waiting for one reply: its client_ref, and the promise that the
/// handler returns (answered when the core's reply_action / query_reply_action comes).
template <class Reply>
std::pair<client_ref, caf::typed_response_promise<Reply>>
await_reply(server_actor* self, std::map<uint64_t, caf::typed_response_promise<Reply>>& waiters) {
  auto id = ++self->state.next_client;
  auto rp = self->make_response_promise<Reply>();
  waiters.emplace(id, rp);
  return {client_ref{id}, rp};
}

// -- postponing leader calls (gen_statem's postpone) ------------------------------------------

/// Wakes the server when the oldest postponed call has waited its bound: a skipped
/// message is offered again only after the actor handled another one.
void arm_postpone_timer(server_actor* self) {
  auto& st = self->state;
  if (st.postpone_timer_armed) return;
  const auto now = self->clock().now();
  std::optional<caf::actor_clock::time_point> next;
  for (auto& [element, due] : st.postponed)
    if (due > now && (!next || due < *next)) next = due;
  if (!next) return;
  st.postpone_timer_armed = true;
  self->delayed_send(self, *next - now, postpone_atom::value);
}

/// Postpones the leader call being handled: true = leave it in the mailbox (the handler
/// returns caf::skip). CAF offers it again after every message the actor handles, so it
/// runs once a handler no longer holds it (a leader became known, the role changed).
/// False once it has waited postpone_bound: the core answers it then (not_leader).
bool postpone(server_actor* self) {
  auto& st = self->state;
  const auto now = self->clock().now();
  auto [it, fresh] = st.postponed.emplace(self->current_mailbox_element(), now + st.postpone_bound);
  if (fresh) {
    arm_postpone_timer(self);
    return true;
  }
  if (now < it->second) return true;
  st.postponed.erase(it);
  return false;
}

/// The leader call being handled goes to the core now: forget that it was postponed.
void taken(server_actor* self) {
  if (!self->state.postponed.empty()) self->state.postponed.erase(self->current_mailbox_element());
}

// -- leader calls: handing them to the core ----------------------------------------------------

caf::result<command_result> take_command(server_actor* self, const shared_bytes& payload, uint8_t mode) {
  // The mode comes off the wire: an unknown one (or notify, which needs pipeline_atom's
  // correlation and target) would keep a response promise forever.
  if (mode > static_cast<uint8_t>(reply_mode::noreply) || mode == static_cast<uint8_t>(reply_mode::notify))
    return caf::make_error(caf::sec::invalid_argument);
  auto rm = static_cast<reply_mode>(mode);
  // noreply: nobody waits, so keep no promise (it would only be answered at stop).
  if (rm == reply_mode::noreply) {
    with_server(self, [&](server& s) { s.handle_command(command_request{client_ref{}, payload, rm}); });
    return caf::delegated<command_result>{};
  }
  auto [from, rp] = await_reply(self, self->state.command_waiters);
  with_server(self, [&, from = from](server& s) { s.handle_command(command_request{from, payload, rm}); });
  return rp;
}

void take_pipeline(server_actor* self, const shared_bytes& payload, uint64_t correlation, uint8_t priority,
                   const caf::actor& notify) {
  auto& st = self->state;
  // try_emplace: no map node is built for the usual case, a client already known.
  auto [it, fresh] = st.notify_ids.try_emplace(notify.address(), 0);
  if (fresh) {
    it->second = ++st.next_client;
    st.notify_targets[it->second] = notify;
    self->monitor(notify);  // forgotten when it goes (down handler)
  }
  client_ref from{it->second};
  // From the wire: anything but low is taken as normal priority.
  auto prio = priority == static_cast<uint8_t>(command_priority::low) ? command_priority::low : command_priority::normal;
  with_server(self, [&](server& s) {
    s.handle_command(command_request{from, payload, reply_mode::notify, correlation, prio});
  });
}

caf::result<query_result> take_query(server_actor* self, const query_msg& q) {
  auto [from, rp] = await_reply(self, self->state.query_waiters);
  with_server(self, [&, from = from](server& s) { s.handle_query(query_request{from, q.kind, q.fn}); });
  return rp;
}

/// A named query becomes a query function over the machine here, in the server's own
/// process: the core treats both alike (ReadIndex for consistent ones).
caf::result<named_query_result> take_named_query(server_actor* self, query_kind kind, std::string name,
                                                 shared_bytes arg) {
  auto [from, rp] = await_reply(self, self->state.named_query_waiters);
  query_fn fn = [name = std::move(name), arg = std::move(arg)](const machine& m) -> std::any {
    return m.named_query(name, arg);
  };
  with_server(self, [&, from = from](server& s) { s.handle_query(query_request{from, kind, std::move(fn)}); });
  return rp;
}

/// A query kind off the wire: an unknown value is the caller's error.
std::optional<query_kind> query_kind_of(uint8_t raw) {
  if (raw > static_cast<uint8_t>(query_kind::consistent)) return std::nullopt;
  return static_cast<query_kind>(raw);
}

/// A request the core answers with a reply_action: `f(server&, client_ref)` hands it over.
template <class F>
caf::result<command_result> take_request(server_actor* self, F f) {
  auto [from, rp] = await_reply(self, self->state.command_waiters);
  with_server(self, [&, from = from](server& s) { f(s, from); });
  return rp;
}

/// What the role's gate says about the leader call being handled.
enum class gate_result : uint8_t { take, postponed, not_running };

template <class Hold>
gate_result gate(server_actor* self, const Hold& hold) {
  if (no_core(self)) return gate_result::not_running;
  if (hold(self) && postpone(self)) return gate_result::postponed;
  taken(self);
  return gate_result::take;
}

/// The answer to a leader call the gate did not let through.
template <class Reply>
caf::result<Reply> refused(gate_result g) {
  if (g == gate_result::postponed) return caf::skip;
  return caf::make_error(caf::sec::request_receiver_down);
}

/// The leader calls as a role handles them. `hold(self)` says whether the role postpones
/// them now; a call it lets through goes to the core, which takes it (leader) or answers
/// it (not_leader with the leader as hint, stopped, ...): the protocol stays in the core.
template <class Hold>
auto leader_calls(server_actor* self, Hold) {
  // Hold is a stateless lambda: each handler builds its own instead of capturing one, so
  // a handler holds only `self` (a behaviour is ~45 handlers, built per server).
  static_assert(std::is_empty_v<Hold>);
  return std::make_tuple(
    [self](command_atom, const shared_bytes& payload, uint8_t mode) -> caf::result<command_result> {
      if (auto g = gate(self, Hold{}); g != gate_result::take) return refused<command_result>(g);
      return take_command(self, payload, mode);
    },
    [self](pipeline_atom, const shared_bytes& payload, uint64_t correlation, uint8_t priority,
           const caf::actor& notify) -> caf::result<void> {
      auto g = gate(self, Hold{});
      if (g == gate_result::postponed) return caf::skip;
      if (g == gate_result::take) take_pipeline(self, payload, correlation, priority, notify);
      return {};
    },
    [self](query_atom, const query_msg& q) -> caf::result<query_result> {
      // A local query reads this member's own state: every role answers it at once.
      auto hold_query = [&](server_actor* s) { return q.kind != query_kind::local && Hold{}(s); };
      if (auto g = gate(self, hold_query); g != gate_result::take) return refused<query_result>(g);
      return take_query(self, q);
    },
    [self](named_query_atom, uint8_t raw_kind, const std::string& name,
           const shared_bytes& arg) -> caf::result<named_query_result> {
      auto kind = query_kind_of(raw_kind);
      if (!kind) return caf::make_error(caf::sec::invalid_argument);
      auto hold_query = [&](server_actor* s) { return *kind != query_kind::local && Hold{}(s); };
      if (auto g = gate(self, hold_query); g != gate_result::take) return refused<named_query_result>(g);
      return take_named_query(self, *kind, name, arg);
    },
    [self](membership_atom, uint8_t op, const member& target) -> caf::result<command_result> {
      if (auto g = gate(self, Hold{}); g != gate_result::take) return refused<command_result>(g);
      return take_request(self, [&](server& s, client_ref from) {
        s.handle_membership(membership_request{from, static_cast<membership_op>(op), target});
      });
    },
    [self](transfer_atom, const server_id& target) -> caf::result<command_result> {
      if (auto g = gate(self, Hold{}); g != gate_result::take) return refused<command_result>(g);
      return take_request(self, [&](server& s, client_ref from) { s.handle_transfer_leadership(from, target); });
    },
    [self](delete_cluster_atom) -> caf::result<command_result> {
      if (auto g = gate(self, Hold{}); g != gate_result::take) return refused<command_result>(g);
      return take_request(self, [&](server& s, client_ref from) { s.handle_delete_cluster(from); });
    });
}

// -- what every role does --------------------------------------------------------------------

auto common(server_actor* self) {
  return std::make_tuple(
    peer_handler<append_entries_rpc>(self),
    peer_handler<append_entries_reply>(self),
    peer_handler<pre_vote_rpc>(self),
    peer_handler<pre_vote_result>(self),
    peer_handler<request_vote_rpc>(self),
    peer_handler<request_vote_result>(self),
    peer_handler<install_snapshot_rpc>(self),
    peer_handler<install_snapshot_result>(self),
    peer_handler<heartbeat_rpc>(self),
    peer_handler<heartbeat_reply>(self),
    peer_handler<timeout_now_rpc>(self),
    [self](ready_atom) -> ready_result {
      // A server that could not start answers its starter, then goes.
      auto& st = self->state;
      if (!st.init_error) return ready_result{expected<void, api_error>{}};
      self->quit(caf::exit_reason::normal);
      return ready_result{expected<void, api_error>{unexpected{*st.init_error}}};
    },
    [self](timer_atom, uint8_t kind, uint64_t gen) {
      if (kind < self->state.timer_gen.size() && gen == self->state.timer_gen[kind])
        with_server(self, [&](server& s) { s.handle_timeout(static_cast<timer_kind>(kind)); });
    },
    [self](postpone_atom) {
      // The postponed calls due now run after this message (CAF offers them again).
      self->state.postpone_timer_armed = false;
      arm_postpone_timer(self);
    },
    [self](wal_written_atom, const std::string&, index_t index, term_t term) {
      with_server(self, [&](server& s) {
        self->state.log->on_written(index, term);
        s.handle_log_written();
      });
    },
    [self](wal_resend_atom, const std::string&, index_t from) {
      with_server(self, [&](server&) { self->state.log->on_resend(from); });
    },
    [self](meta_durable_atom, uint64_t seq) { on_meta_durable(self, seq); },
    [self](meta_failed_atom, uint64_t seq, const std::string& message) { on_meta_failed(self, seq, message); },
    [self](meta_retry_atom, uint64_t seq) { on_meta_retry(self, seq); },
    [self](wal_error_atom, const std::string&, const std::string& message) {
      spdlog::warn("[{}] WAL error: {}", self->state.tag, message);
      with_server(self, [&](server& s) { s.handle_storage_error(message); });
    },
    [self](segments_atom, const segments_msg& m) {
      with_server(self, [&](server&) { self->state.log->on_segments(m.refs); });
    },
    [self](snapshot_done_atom, const snapshot_done_msg& m) {
      with_server(self, [&](server& s) {
        if (m.kind == storage::storage_job::snapshot_install)
          s.handle_snapshot_installed(self->state.log->on_snapshot_installed(m.result));
        else
          self->state.log->on_snapshot_written(m.result);
      });
    },
    [self](election_atom) {
      with_server(self, [&](server& s) { s.handle_trigger_election(); });
      return caf::ok_atom::value;
    },
    [self](members_atom) {
      members_result res;
      if (auto& s = self->state.srv) {
        res.members = s->cluster().members();
        res.leader = s->leader().value_or(server_id{});
        res.server_role = s->current_role();
      }
      return res;
    },
    [self](overview_atom) {
      auto& st = self->state;
      overview_result r;
      if (st.srv) {
        r.has_core = true;
        r.core = st.srv->overview();
      }
      r.uid = st.uid;
      if (st.srv) r.cluster_name = st.srv->config().cluster_name;
      r.machine = st.machine;
      return r;
    },
    [self](flush_atom) { with_server(self, [&](server& s) { s.handle_flush_commands(); }); },
    [self](machine_timer_atom, const std::string& name, uint64_t gen) {
      auto& st = self->state;
      auto it = st.machine_timers.find(name);
      if (it == st.machine_timers.end() || it->second != gen) return;  // re-armed or cancelled
      st.machine_timers.erase(it);
      with_server(self, [&](server& s) { s.handle_builtin(timeout_command{name}); });
    },
    [self](node_down_atom, const std::string& node) {
      with_server(self, [&](server& s) { s.handle_builtin(nodedown_command{node}); });
    },
    [self](node_up_atom, const std::string& node) {
      with_server(self, [&](server& s) { s.handle_builtin(nodeup_command{node}); });
    },
    [self](pid_resolved_atom, const std::string& node, uint64_t id, const caf::actor& a) {
      on_pid_resolved(self, pid{node, id}, a);
    },
    [self](pid_lost_atom, const std::string& node, uint64_t id) { on_pid_lost(self, pid{node, id}); },
    [self](aux_atom, const shared_bytes& cmd) -> caf::result<command_result> {
      // Aux commands run on the member they are sent to, whatever its role.
      if (no_core(self)) return caf::make_error(caf::sec::request_receiver_down);
      return take_request(self, [&](server& s, client_ref from) { s.handle_aux(from, cmd); });
    },
    [self](wait_applied_atom, index_t index) -> caf::result<caf::ok_atom, index_t> {
      auto& st = self->state;
      if (no_core(self)) return caf::make_error(caf::sec::request_receiver_down);
      if (st.srv->last_applied() >= index) return {caf::ok_atom::value, st.srv->last_applied()};
      auto rp = self->make_response_promise<caf::ok_atom, index_t>();
      st.apply_waiters.emplace(index, rp);
      return rp;
    },
    [self](leader_down_atom, const server_id& who) {
      auto& st = self->state;
      with_server(self, [&](server& s) {
        if (s.leader() == who) s.handle_leader_down(who.node != st.core->name);
      });
    });
}

// -- the role behaviours ---------------------------------------------------------------------

template <class... Common, class... Calls>
server_behavior make_behavior(std::tuple<Common...> shared, std::tuple<Calls...> calls) {
  // CAF 0.17 tries handlers in order: the leader calls (a command or pipelined command per
  // client request, the hottest messages) go first, then the shared set.
  return std::apply([](auto&&... hs) { return server_behavior{std::move(hs)...}; },
                    std::tuple_cat(std::move(calls), std::move(shared)));
}

/// Leader: takes every leader call (the core appends the command, runs the query ...).
server_behavior leader(server_actor* self) {
  return make_behavior(common(self), leader_calls(self, [](server_actor*) { return false; }));
}

/// Follower (also receive_snapshot, and await_condition, a leader handing over): the core
/// redirects leader calls (not_leader with the leader, or the transfer target, as hint).
/// While it knows no leader it postpones them instead, as Ra's maybe_redirect does.
server_behavior follower(server_actor* self) {
  return make_behavior(common(self), leader_calls(self, [](server_actor* s) { return !s->state.srv->leader(); }));
}

/// Candidate and pre_vote: an election is on and no leader is known, so leader calls
/// wait (postponed) until one is: on winning they run here, on losing the follower
/// behaviour redirects them to the winner.
server_behavior candidate(server_actor* self) {
  return make_behavior(common(self), leader_calls(self, [](server_actor*) { return true; }));
}

shell_behavior behavior_of(role r) {
  switch (r) {
    case role::leader: return shell_behavior::leader;
    case role::pre_vote:
    case role::candidate: return shell_behavior::candidate;
    case role::follower:
    case role::await_condition:
    case role::receive_snapshot:
    case role::stopped: return shell_behavior::follower;
  }
  return shell_behavior::follower;
}

server_behavior behavior_for(server_actor* self, shell_behavior b) {
  switch (b) {
    case shell_behavior::leader: return leader(self);
    case shell_behavior::candidate: return candidate(self);
    case shell_behavior::follower: return follower(self);
  }
  return follower(self);
}

}  // namespace

/// After an event: installs the behaviour of the core's role if it is not the current one.
void sync_behavior(server_actor* self) {
  auto& st = self->state;
  if (st.initializing) return;
  auto want = behavior_of(st.srv->current_role());
  if (want == st.installed) return;
  st.installed = want;
  self->become(behavior_for(self, want));
}

namespace {

/// Opens the log, builds the machine and the core; on failure says why, with
/// api_errc::invalid_argument for an unknown machine and api_errc::storage otherwise.
expected<void, api_error> init_server(server_actor* self, persisted_server_config& cfg,
                                      std::vector<log_entry> wal_entries) {
  auto& st = self->state;
  auto& core = *st.core;
  machine_factory factory;
  {
    std::lock_guard lk{core.mx};
    if (auto it = core.machines.find(cfg.machine); it != core.machines.end()) factory = it->second;
  }
  if (!factory) return make_api_error(api_errc::invalid_argument, "unknown machine '" + cfg.machine + "'");
  std::unique_ptr<machine> m;
  try {
    m = factory(cfg.machine_args);
  } catch (const std::exception& e) {
    return make_api_error(api_errc::storage, std::string("machine factory failed: ") + e.what());
  }
  if (!m) return make_api_error(api_errc::storage, "machine factory returned nothing");
  st.sink = std::make_unique<actor_wal_sink>(self, core.wal);
  st.worker = std::make_unique<actor_snapshot_worker>(self);
  durable_log_config lc;
  lc.uid = cfg.uid;
  lc.dir = core.server_dir(cfg.uid);
  lc.segments = core.segments;
  lc.max_open_segments = core.max_open_segments;
  std::vector<invalid_snapshot> skipped;
  auto log = durable_log::open(*core.fs, lc, *st.sink, std::move(wal_entries), &skipped);
  if (!log) return make_api_error(api_errc::storage, "opening the log: " + log.error().message());
  st.log = std::move(*log);
  st.log->set_snapshot_worker(st.worker.get());
  for (auto& s : skipped) spdlog::warn("[{}] skipped invalid snapshot {}: {}", st.tag, s.path, s.reason);
  server_meta meta = core.meta->get(cfg.uid);  // never waits for the meta writer's syncs
  // A runtime policy rather than part of the stored config: the system's setting applies
  // to restarted servers too.
  cfg.server.batch_commands = core.defaults.batch_commands;
  try {
    st.srv = std::make_unique<server>(std::move(cfg.server), *st.log, std::move(m),
                                      durable_meta{meta.current_term, meta.voted_for});
  } catch (const std::exception& e) {
    return make_api_error(api_errc::storage, std::string("recovery failed: ") + e.what());
  }
  return {};
}

// A key metric read from the server's counters (`mt` below, a non-const lvalue) continues
// from its value in the previous run; one computed from the server's state (`s`, const) is
// left alone.
void carry_counter(uint64_t& counter, uint64_t previous) { counter += previous; }
template <class Gauge, class T>
void carry_counter(const Gauge&, const T&) {}

/// The key-metric counters (RA_KEY_METRICS_FIELDS) of a restarted server continue from
/// `previous`, its last published values (zero for a new server): Ra keeps counters per
/// system and server, not per server process.
void carry_counters(server& srv, const key_metrics_snapshot& previous) {
  [[maybe_unused]] const server& s = srv;
  [[maybe_unused]] server_metrics& mt = srv.metrics();
#define RA_KEY_METRICS_CARRY(type, name, source, doc) carry_counter(source, previous.name);
  RA_KEY_METRICS_FIELDS(RA_KEY_METRICS_CARRY)
#undef RA_KEY_METRICS_CARRY
}

server_behavior server_main(server_actor* self, std::shared_ptr<system_core> core, persisted_server_config cfg,
                          std::vector<log_entry> wal_entries) {
  auto& st = self->state;
  st.core = std::move(core);
  st.uid = cfg.uid;
  st.machine = cfg.machine;
  const std::string name = cfg.server.id.name;
  st.tag = cfg.server.cluster_name + "/" + cfg.server.id.to_string();
  st.postpone_bound = postpone_bound(cfg.server);
  if (auto started = init_server(self, cfg, std::move(wal_entries)); !started)
    st.init_error = std::make_unique<api_error>(std::move(started.error()));
  self->set_down_handler([self](caf::down_msg& m) {
    auto& st = self->state;
    // One actor may be watched for several reasons (a pipelining client that is also a
    // machine's monitored consumer): handle each.
    if (auto it = st.notify_ids.find(m.source); it != st.notify_ids.end()) {
      st.notify_targets.erase(it->second);
      st.notify_ids.erase(it);
    }
    if (auto it = st.monitored.find(m.source); it != st.monitored.end()) {
      auto who = it->second;
      st.monitored.erase(it);
      with_server(self, [&](server& s) { s.handle_builtin(down_command{who, down_reason(self, m.reason)}); });
    }
    if (!st.watched_addr || m.source != st.watched_addr) return;
    st.watched_addr = caf::actor_addr{};
    auto who = *st.watched;
    st.watched.reset();
    with_server(self, [&](server& s) {
      if (s.leader() == who) s.handle_leader_down(false);
    });
  });
  // Stopped from outside (system::stop_server, the system stopping, a linked exit): the
  // requests it holds promises for are answered at once, as on an internal stop, instead
  // of leaving their callers to wait out their timeouts.
  // Only an exit a local stop path asked for (system_core::stop_actor) ends the server:
  // a CAF exit message can come from any process that reaches the port, and an
  // anonymous one from there looks exactly like a local one.
  self->set_exit_handler([self](caf::exit_msg& m) {
    auto& st = self->state;
    if (!st.core->take_stop_request(self->address())) {
      auto n = ++st.core->ignored_exits;
      spdlog::warn("[{}] ignored an exit message no local stop asked for ({}; {} so far)", st.tag,
                   self->system().render(m.reason), n);
      return;
    }
    st.stopping = true;
    fail_waiters(st);
    self->quit(std::move(m.reason));
  });
  // The core guards every machine callback; an exception that still escapes a handler
  // (a bug in the shell) ends the actor with a logged reason and answered waiters instead
  // of CAF's silent default.
  self->set_exception_handler([self](caf::scheduled_actor*, std::exception_ptr& eptr) -> caf::error {
    std::string what = "unknown exception";
    try {
      std::rethrow_exception(eptr);
    } catch (const std::exception& ex) {
      what = ex.what();
    } catch (...) {
    }
    spdlog::error("[{}] server actor failed: {}", self->state.tag, what);
    self->state.stopping = true;
    fail_waiters(self->state);
    return caf::make_error(caf::exit_reason::unhandled_exception);
  });
  st.metrics = key_metrics_for(st.core->name, name, st.uid);
  if (st.srv) carry_counters(*st.srv, st.metrics->read());
  st.metrics->running_actor.store(self->id());
  self->attach_functor([core = st.core, name, addr = self->address(), id = self->id(), metrics = st.metrics, uid = st.uid,
                        del = st.delete_on_exit] {
    metrics->mark_stopped(id);
    core->forget_actor(name, addr);
    core->take_stop_request(addr);  // a stop that asked for this exit is done
    // delete_cluster: the data goes with the server (after the actor released its files).
    if (*del) {
      if (auto del = delete_server_data(*core, name, uid); !del)
        spdlog::error("[{}] deleting the data of {}: {}", core->name, name, del.error().message);
    }
  });
  if (st.init_error) {
    spdlog::error("[{}] cannot start: {}", st.tag, st.init_error->message);
    return follower(self);  // answers the starter's ready request, then goes
  }
  with_server(self, [](server&) {});  // actions from recovery (timers, role)
  st.initializing = false;
  st.installed = behavior_of(st.srv->current_role());
  return behavior_for(self, st.installed);
}

}  // namespace
}  // namespace ra::detail::shell

namespace ra::detail {

caf::actor spawn_server_actor(std::shared_ptr<system_core> core, storage::persisted_server_config cfg,
                              std::vector<log_entry> wal_entries) {
  return caf::actor_cast<caf::actor>(
    core->sys->spawn(shell::server_main, std::move(core), std::move(cfg), std::move(wal_entries)));
}

}  // namespace ra::detail
