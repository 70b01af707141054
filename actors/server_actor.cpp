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

#include <array>
#include <chrono>
#include <map>
#include <optional>
#include <tuple>
#include <unordered_map>
#include <variant>

#include <caf/all.hpp>
#include <spdlog/spdlog.h>

#include "ra/key_metrics.hpp"
#include "actors/messages.hpp"
#include "actors/node_link.hpp"
#include "actors/pid.hpp"
#include "actors/server_data.hpp"
#include "ra/effects.hpp"
#include "libra/overloaded.hpp"
#include "log/durable_log.hpp"
#include "wal/wal_actor.hpp"

namespace ra::detail {
namespace {

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
  void submit(const std::string& uid, std::function<io_result<std::string>()> job) override;

 private:
  server_actor* self_;
};

struct server_state {
  std::shared_ptr<system_core> core;
  persisted_server_config cfg;
  std::string tag;  ///< "cluster/name@node" for log lines
  // Destroyed in reverse order: the server before its log, the log before its sink.
  std::unique_ptr<actor_wal_sink> sink;
  std::unique_ptr<actor_snapshot_worker> worker;
  std::unique_ptr<durable_log> log;
  std::unique_ptr<server> srv;
  /// Set by init_server: whether the server could start.
  expected<void, api_error> init_status;
  bool initializing = true;
  bool stopping = false;
  std::array<uint64_t, 4> timer_gen{};  ///< per timer_kind: ticks with an older number are stale
  uint64_t next_client = 0;
  /// client_ref id -> the request waiting for a reply_action / query_reply_action
  std::map<uint64_t, caf::typed_response_promise<command_result>> command_waiters;
  std::map<uint64_t, caf::typed_response_promise<query_result>> query_waiters;
  std::map<uint64_t, caf::actor> notify_targets;       ///< client_ref id -> pipelining actor
  std::map<caf::actor_addr, uint64_t> notify_ids;
  std::optional<server_id> watched;  ///< the leader being monitored
  caf::actor_addr watched_addr;
  // Machine effects (leader-local): monitored processes and named timers.
  std::map<caf::actor_addr, pid> monitored;
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

void actor_wal_sink::write(const std::string& uid, std::vector<log_entry> entries, bool starts_new_log) {
  send_untyped(self_, wal_, wal_append_atom::value, uid, caf::actor_cast<caf::actor>(self_), std::move(entries),
               starts_new_log);
}

/// Runs one snapshot write and reports it to `server`. Takes its inputs as spawn
/// arguments (CAF 0.17 dereferences a null argument tuple for argument-less functors).
void snapshot_writer(caf::event_based_actor* helper, caf::actor server,
                     std::function<io_result<std::string>()> job) {
  snapshot_done_msg done{job()};
  helper->send(server, snapshot_done_atom::value, std::move(done));
}

void actor_snapshot_worker::submit(const std::string&, std::function<io_result<std::string>()> job) {
  auto me = caf::actor_cast<caf::actor>(self_);
  // Detached: the write blocks on the disk. Under CAF's test scheduler it cannot be.
  if (self_->state.core->detached_storage_actors)
    self_->system().spawn<caf::detached>(snapshot_writer, me, std::move(job));
  else
    self_->system().spawn(snapshot_writer, me, std::move(job));
}

int64_t now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
    .count();
}

void sync_behavior(server_actor* self);
void execute_effect(server_actor* self, shell_effect& e);

/// Answers every request the server holds a promise for: it will not answer them now.
/// (Requests still in the mailbox are bounced by CAF when the actor exits: those were
/// never seen, and a caller may safely send them elsewhere.) A held command may already
/// be in the log and commit under the next leader: it is answered leadership_lost ("may
/// or may not be applied"), never an error a caller would retry, which could apply it twice.
void fail_waiters(server_state& st) {
  auto down = [] { return caf::make_error(caf::sec::request_receiver_down); };
  for (auto& [id, rp] : st.command_waiters) {
    command_result unknown;
    unknown.failed = true;
    unknown.error = command_error{error_code::leadership_lost, {}};
    rp.deliver(std::move(unknown));
  }
  for (auto& [id, rp] : st.query_waiters) rp.deliver(down());
  for (auto& [index, rp] : st.apply_waiters) rp.deliver(down());
  st.command_waiters.clear();
  st.query_waiters.clear();
  st.apply_waiters.clear();
}

void stop_server(server_actor* self, const std::string& reason, bool error) {
  auto& st = self->state;
  if (st.stopping) return;
  st.stopping = true;
  if (error)
    spdlog::error("[{}] server stopped: {}", st.tag, reason);
  else
    spdlog::info("[{}] server stopped: {}", st.tag, reason);
  fail_waiters(st);
  self->quit(error ? caf::exit_reason::unhandled_exception : caf::exit_reason::normal);
}

void send_peer(server_actor* self, const caf::actor& dst, const server_id& from, peer_message& msg) {
  std::visit([&](auto& m) { send_untyped(self, dst, peer_atom::value, from, std::move(m)); }, msg);
}

/// Answers the request waiting in `waiters` under `id` (none: it was noreply, or it was
/// answered already).
template <class Waiters, class Reply>
void deliver(Waiters& waiters, uint64_t id, Reply reply) {
  auto it = waiters.find(id);
  if (it == waiters.end()) return;
  it->second.deliver(std::move(reply));
  waiters.erase(it);
}

/// Executes one action of the core. One overload per action type and no catch-all: a new
/// action type does not compile until the shell executes it.
void execute(server_actor* self, action& a) {
  auto& st = self->state;
  std::visit(
    overloaded{
      [&](send_action& s) {
        if (auto dst = st.core->resolve(s.to)) send_peer(self, dst, st.srv->id(), s.msg);
      },
      [&](persist_meta_action& p) {
        io_status res = io_ok();
        {
          std::lock_guard lk{st.core->meta_mx};
          res = st.core->meta->put_term_vote(st.cfg.uid, p.term, p.voted_for);
        }
        if (!res)  // never act on a vote that is not durable
          stop_server(self, "meta store: " + res.error().message(), true);
      },
      [&](set_timer_action& t) {
        auto k = static_cast<uint8_t>(t.kind);
        self->delayed_send(self, std::chrono::milliseconds(t.ms), timer_atom::value, k, ++st.timer_gen.at(k));
      },
      [&](cancel_timer_action& c) { ++st.timer_gen.at(static_cast<uint8_t>(c.kind)); },
      [&](reply_action& r) {
        deliver(st.command_waiters, r.to.id,
                command_result{r.index, r.term, r.leader, r.reply, r.error.has_value(),
                               r.error.value_or(command_error{error_code::not_leader, {}})});
      },
      [&](notify_action& n) {
        if (auto it = st.notify_targets.find(n.to.id); it != st.notify_targets.end())
          send_untyped(self, it->second, applied_atom::value, applied_batch{n.leader, std::move(n.applied)});
      },
      [&](reject_action& rj) {
        if (auto it = st.notify_targets.find(rj.to.id); it != st.notify_targets.end())
          send_untyped(self, it->second, rejected_atom::value, rj.correlation, rj.error);
      },
      [&](query_reply_action& q) {
        deliver(st.query_waiters, q.to.id,
                query_result{q.leader, std::move(q.result), q.error.has_value(),
                             q.error.value_or(command_error{error_code::not_leader, {}})});
      },
      [&](effect_action& ef) { execute_effect(self, ef.effect); },
      [&](role_change_action& rc) {
        // The behaviour follows once the batch is done (sync_behavior).
        spdlog::info("[{}] {} -> {} in term {} (leader: {})", st.tag, to_string(rc.from), to_string(rc.to),
                     rc.term.value, rc.leader.to_string());
      },
      [&](monitor_leader_action& m) {
        auto dst = st.core->resolve(m.leader);
        if (!dst) {
          self->send(self, leader_down_atom::value, m.leader);
        } else if (!st.watched || *st.watched != m.leader || st.watched_addr != dst.address()) {
          if (st.watched_addr) self->demonitor(st.watched_addr);
          self->monitor(dst);
          st.watched = m.leader;
          st.watched_addr = dst.address();
          // Node-level detector (node_link): a lost or partitioned node sends us leader_down.
          if (m.leader.node != st.core->name) st.core->watch_leader(m.leader, caf::actor_cast<caf::actor>(self));
        }
      },
      [&](flush_commands_action&) {
        // The flush batches the commands already queued behind this one; with nothing
        // queued it runs now, sparing a lone command (process_command) a mailbox round trip.
        if (self->mailbox().empty())
          st.srv->handle_flush_commands();
        else
          self->send(self, flush_atom::value);
      },
      [&](stopped_action& so) {
        *st.delete_on_exit = so.delete_data;
        stop_server(self, so.reason, so.failed);
      },
    },
    a);
}

// -- machine effects (ra/effects.hpp) ----------------------------------------------------

/// The reason of a down message as text for the machine's down_command.
std::string down_reason(server_actor* self, const caf::error& reason) {
  if (!reason || reason == caf::exit_reason::normal) return "normal";
  return self->system().render(reason);
}

void execute_effect(server_actor* self, shell_effect& e) {
  auto& st = self->state;
  auto* value = std::any_cast<shell_effect_value>(&e.value);
  if (!value) {
    spdlog::warn("[{}] ignoring a machine effect of unknown type {}", st.tag, e.value.type().name());
    return;
  }
  std::visit(
    overloaded{
      [&](send_msg_effect& x) {
        if (auto dst = resolve_pid(x.to)) send_untyped(self, dst, std::move(x.msg));
      },
      [&](reply_effect& x) {
        if (auto dst = resolve_pid(x.to)) send_untyped(self, dst, machine_reply_atom::value, std::move(x.reply));
      },
      [&](mod_call_effect& x) {
        try {
          if (x.fn) x.fn();
        } catch (const std::exception& ex) {
          spdlog::error("[{}] mod_call effect threw: {}", st.tag, ex.what());
        }
      },
      [&](monitor_effect& x) {
        auto dst = resolve_pid(x.target);
        if (!dst) {
          st.srv->handle_builtin(down_command{x.target, "noproc"});
          return;
        }
        if (st.monitored.emplace(dst.address(), x.target).second) self->monitor(dst);
      },
      [&](demonitor_effect& x) {
        for (auto it = st.monitored.begin(); it != st.monitored.end(); ++it)
          if (it->second == x.target) {
            self->demonitor(it->first);
            st.monitored.erase(it);
            break;
          }
      },
      [&](monitor_node_effect& x) { st.core->watch_node(x.node, caf::actor_cast<caf::actor>(self)); },
      [&](demonitor_node_effect& x) { st.core->unwatch_node(x.node, caf::actor_cast<caf::actor>(self)); },
      [&](timer_effect& x) {
        if (x.ms < 0) {
          st.machine_timers.erase(x.name);
          return;
        }
        auto gen = ++st.machine_timer_seq;
        st.machine_timers[x.name] = gen;
        self->delayed_send(self, std::chrono::milliseconds(x.ms), machine_timer_atom::value, x.name, gen);
      },
      [&](log_effect& x) {
        std::vector<std::pair<index_t, shared_bytes>> found;
        std::vector<log_entry> tmp;
        for (auto i : x.indexes) {
          tmp.clear();
          // A released (compacted) entry is simply not found, as in Ra; an unreadable log
          // stops the server once the actions are done (st.log->error()).
          (void)st.log->read(i, i, 1, tmp);
          if (!tmp.empty() && tmp.front().kind == entry_kind::command) found.emplace_back(i, tmp.front().payload);
        }
        effects more;
        try {
          if (x.then) more = x.then(found);
        } catch (const std::exception& ex) {
          spdlog::error("[{}] log effect continuation threw: {}", st.tag, ex.what());
        }
        st.srv->handle_machine_effects(std::move(more));
      },
      [&](aux_effect& x) { st.srv->handle_aux(client_ref{}, x.command); },
    },
    *value);
}

/// Publishes the key metrics (ra/key_metrics.hpp) and answers reply_from waiters.
void after_event(server_actor* self) {
  auto& st = self->state;
  auto& s = *st.srv;
  if (auto& m = st.metrics) {
    constexpr auto o = std::memory_order_relaxed;
    [[maybe_unused]] const auto& mt = s.metrics();
#define RA_KEY_METRICS_STORE(type, name, source, doc) m->name.store(source, o);
    RA_KEY_METRICS_FIELDS(RA_KEY_METRICS_STORE)
#undef RA_KEY_METRICS_STORE
  }
  while (!st.apply_waiters.empty() && st.apply_waiters.begin()->first <= s.last_applied()) {
    st.apply_waiters.begin()->second.deliver(caf::ok_atom::value, s.last_applied());
    st.apply_waiters.erase(st.apply_waiters.begin());
  }
}

/// Executes every pending action of the core, in order; stops the server if its log
/// met a storage error it cannot run on.
void run_actions(server_actor* self) {
  auto& st = self->state;
  // Executing an action may feed the core again (effects: aux, down of a dead pid, log
  // reads), so drain until it has nothing more to say.
  for (auto actions = st.srv->take_actions(); !actions.empty(); actions = st.srv->take_actions()) {
    for (auto& a : actions) {
      if (st.stopping) return;
      execute(self, a);
    }
  }
  if (!st.stopping && st.log->error())
    stop_server(self, "log: " + st.log->error()->message(), true);
  if (st.stopping) return;
  after_event(self);
  sync_behavior(self);
}

template <class F>
void with_server(server_actor* self, F&& f) {
  auto& st = self->state;
  if (!st.srv || st.stopping) return;
  st.srv->set_time(now_ms());
  f(*st.srv);
  run_actions(self);
}

template <class Rpc>
auto peer_handler(server_actor* self) {
  return [self](peer_atom, const server_id& from, const Rpc& m) {
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
  auto [it, fresh] = st.notify_ids.emplace(notify.address(), 0);
  if (fresh) {
    it->second = ++st.next_client;
    st.notify_targets[it->second] = notify;
    self->monitor(notify);  // forgotten when it goes (down handler)
  }
  client_ref from{it->second};
  with_server(self, [&](server& s) {
    s.handle_command(
      command_request{from, payload, reply_mode::notify, correlation, static_cast<command_priority>(priority)});
  });
}

caf::result<query_result> take_query(server_actor* self, const query_msg& q) {
  auto [from, rp] = await_reply(self, self->state.query_waiters);
  with_server(self, [&, from = from](server& s) { s.handle_query(query_request{from, q.kind, q.fn}); });
  return rp;
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
auto leader_calls(server_actor* self, Hold hold) {
  return std::make_tuple(
    [self, hold](command_atom, const shared_bytes& payload, uint8_t mode) -> caf::result<command_result> {
      if (auto g = gate(self, hold); g != gate_result::take) return refused<command_result>(g);
      return take_command(self, payload, mode);
    },
    [self, hold](pipeline_atom, const shared_bytes& payload, uint64_t correlation, uint8_t priority,
                 const caf::actor& notify) -> caf::result<void> {
      auto g = gate(self, hold);
      if (g == gate_result::postponed) return caf::skip;
      if (g == gate_result::take) take_pipeline(self, payload, correlation, priority, notify);
      return {};
    },
    [self, hold](query_atom, const query_msg& q) -> caf::result<query_result> {
      // A local query reads this member's own state: every role answers it at once.
      auto hold_query = [&](server_actor* s) { return q.kind != query_kind::local && hold(s); };
      if (auto g = gate(self, hold_query); g != gate_result::take) return refused<query_result>(g);
      return take_query(self, q);
    },
    [self, hold](membership_atom, uint8_t op, const member& target) -> caf::result<command_result> {
      if (auto g = gate(self, hold); g != gate_result::take) return refused<command_result>(g);
      return take_request(self, [&](server& s, client_ref from) {
        s.handle_membership(membership_request{from, static_cast<membership_op>(op), target});
      });
    },
    [self, hold](transfer_atom, const server_id& target) -> caf::result<command_result> {
      if (auto g = gate(self, hold); g != gate_result::take) return refused<command_result>(g);
      return take_request(self, [&](server& s, client_ref from) { s.handle_transfer_leadership(from, target); });
    },
    [self, hold](delete_cluster_atom) -> caf::result<command_result> {
      if (auto g = gate(self, hold); g != gate_result::take) return refused<command_result>(g);
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
      if (!self->state.init_status) self->quit(caf::exit_reason::normal);
      return ready_result{self->state.init_status};
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
    [self](wal_error_atom, const std::string&, const std::string& message) {
      spdlog::warn("[{}] WAL error: {}", self->state.tag, message);
      with_server(self, [&](server& s) { s.handle_storage_error(message); });
    },
    [self](segments_atom, const segments_msg& m) {
      with_server(self, [&](server&) { self->state.log->on_segments(m.refs); });
    },
    [self](snapshot_done_atom, const snapshot_done_msg& m) {
      with_server(self, [&](server&) { self->state.log->on_snapshot_written(m.result); });
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
      r.uid = st.cfg.uid;
      r.cluster_name = st.cfg.server.cluster_name;
      r.machine = st.cfg.machine;
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

/// After an event: installs the behaviour of the core's role if it is not the current one.
void sync_behavior(server_actor* self) {
  auto& st = self->state;
  if (st.initializing) return;
  auto want = behavior_of(st.srv->current_role());
  if (want == st.installed) return;
  st.installed = want;
  self->become(behavior_for(self, want));
}

/// Opens the log, builds the machine and the core; on failure says why, with
/// api_errc::invalid_argument for an unknown machine and api_errc::storage otherwise.
expected<void, api_error> init_server(server_actor* self, std::vector<log_entry> wal_entries) {
  auto& st = self->state;
  auto& core = *st.core;
  machine_factory factory;
  {
    std::lock_guard lk{core.mx};
    if (auto it = core.machines.find(st.cfg.machine); it != core.machines.end()) factory = it->second;
  }
  if (!factory) return make_api_error(api_errc::invalid_argument, "unknown machine '" + st.cfg.machine + "'");
  std::unique_ptr<machine> m;
  try {
    m = factory(st.cfg.machine_args);
  } catch (const std::exception& e) {
    return make_api_error(api_errc::storage, std::string("machine factory failed: ") + e.what());
  }
  if (!m) return make_api_error(api_errc::storage, "machine factory returned nothing");
  st.sink = std::make_unique<actor_wal_sink>(self, core.wal);
  st.worker = std::make_unique<actor_snapshot_worker>(self);
  durable_log_config lc;
  lc.uid = st.cfg.uid;
  lc.dir = core.server_dir(st.cfg.uid);
  lc.segments = core.segments;
  lc.max_open_segments = core.max_open_segments;
  std::vector<invalid_snapshot> skipped;
  auto log = durable_log::open(*core.fs, lc, *st.sink, std::move(wal_entries), &skipped);
  if (!log) return make_api_error(api_errc::storage, "opening the log: " + log.error().message());
  st.log = std::move(*log);
  st.log->set_snapshot_worker(st.worker.get());
  for (auto& s : skipped) spdlog::warn("[{}] skipped invalid snapshot {}: {}", st.tag, s.path, s.reason);
  server_meta meta;
  {
    std::lock_guard lk{core.meta_mx};
    meta = core.meta->get(st.cfg.uid);
  }
  // A runtime policy rather than part of the stored config: the system's setting applies
  // to restarted servers too.
  st.cfg.server.batch_commands = core.defaults.batch_commands;
  try {
    st.srv = std::make_unique<server>(st.cfg.server, *st.log, std::move(m),
                                      durable_meta{meta.current_term, meta.voted_for});
  } catch (const std::exception& e) {
    return make_api_error(api_errc::storage, std::string("recovery failed: ") + e.what());
  }
  return {};
}

server_behavior server_main(server_actor* self, std::shared_ptr<system_core> core, persisted_server_config cfg,
                          std::vector<log_entry> wal_entries) {
  auto& st = self->state;
  st.core = std::move(core);
  st.cfg = std::move(cfg);
  st.tag = st.cfg.server.cluster_name + "/" + st.cfg.server.id.to_string();
  st.postpone_bound = postpone_bound(st.cfg.server);
  st.init_status = init_server(self, std::move(wal_entries));
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
  self->set_exit_handler([self](caf::exit_msg& m) {
    auto& st = self->state;
    st.stopping = true;
    fail_waiters(st);
    self->quit(std::move(m.reason));
  });
  st.metrics = key_metrics_for(st.core->name, st.cfg.server.id.name);
  st.metrics->running.store(true);
  self->attach_functor([core = st.core, name = st.cfg.server.id.name, addr = self->address(),
                        metrics = st.metrics, uid = st.cfg.uid, del = st.delete_on_exit] {
    metrics->running.store(false);
    core->forget_actor(name, addr);
    // delete_cluster: the data goes with the server (after the actor released its files).
    if (*del) {
      if (auto del = delete_server_data(*core, name, uid); !del)
        spdlog::error("[{}] deleting the data of {}: {}", core->name, name, del.error().message);
    }
  });
  if (!st.init_status) {
    spdlog::error("[{}] cannot start: {}", st.tag, st.init_status.error().message);
    return follower(self);  // answers the starter's ready request, then goes
  }
  with_server(self, [](server&) {});  // actions from recovery (timers, role)
  st.initializing = false;
  st.installed = behavior_of(st.srv->current_role());
  return behavior_for(self, st.installed);
}

}  // namespace

caf::actor spawn_server_actor(std::shared_ptr<system_core> core, storage::persisted_server_config cfg,
                              std::vector<log_entry> wal_entries) {
  return caf::actor_cast<caf::actor>(
    core->sys->spawn(server_main, std::move(core), std::move(cfg), std::move(wal_entries)));
}

}  // namespace ra::detail
