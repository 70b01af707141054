// The server actor's executors: what the core asks the shell to do (actions: send,
// persist, reply, timers, role changes ...) and what the machine asks (effects: send a
// message, monitor, timers, release cursors ...). Both dispatch with exhaustive visitors:
// a new action or effect type does not compile until it is executed here.

#include <spdlog/spdlog.h>

#include "actors/node_link.hpp"
#include "actors/pid.hpp"
#include "actors/server_data.hpp"
#include "actors/server_shell.hpp"
#include "ra/effects.hpp"
#include "libra/overloaded.hpp"
#include "wal/meta_writer_actor.hpp"
#include "wal/wal_actor.hpp"

namespace ra::detail::shell {
namespace {

void execute_effect(server_actor* self, shell_effect& e);

}  // namespace

void actor_wal_sink::write(const std::string& uid, std::vector<log_entry> entries, bool starts_new_log) {
  auto& st = self_->state;
  if (st.awaiting_meta) {  // the term these entries carry is not durable yet
    st.deferred_wal_writes.push_back({uid, std::move(entries), starts_new_log});
    return;
  }
  send_untyped(self_, wal_, wal_append_atom::value, uid, caf::actor_cast<caf::actor>(self_), std::move(entries),
               starts_new_log);
}

namespace {

/// Runs one snapshot write and reports it to `server`. Takes its inputs as spawn
/// arguments (CAF 0.17 dereferences a null argument tuple for argument-less functors).
void snapshot_writer(caf::event_based_actor* helper, caf::actor server, storage::storage_job kind,
                     std::function<io_result<std::string>()> job) {
  snapshot_done_msg done{job(), kind};
  helper->send(server, snapshot_done_atom::value, std::move(done));
}

}  // namespace

void actor_snapshot_worker::submit(const std::string&, storage::storage_job kind,
                                   std::function<io_result<std::string>()> job) {
  auto me = caf::actor_cast<caf::actor>(self_);
  // Detached: the write blocks on the disk. Under CAF's test scheduler it cannot be.
  if (self_->state.core->detached_storage_actors)
    self_->system().spawn<caf::detached>(snapshot_writer, me, kind, std::move(job));
  else
    self_->system().spawn(snapshot_writer, me, kind, std::move(job));
}

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
  for (auto& [id, rp] : st.named_query_waiters) rp.deliver(down());
  for (auto& [index, rp] : st.apply_waiters) rp.deliver(down());
  st.command_waiters.clear();
  st.query_waiters.clear();
  st.named_query_waiters.clear();
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

/// The reason of a down message as text for the machine's down_command.
std::string down_reason(server_actor* self, const caf::error& reason) {
  if (!reason || reason == caf::exit_reason::normal) return "normal";
  return self->system().render(reason);
}

namespace {

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
        // Everything after this waits until the meta writer says the vote is durable.
        meta_vote_msg m{++st.meta_seq, st.uid, p.term, p.voted_for.has_value(),
                        p.voted_for.value_or(server_id{})};
        st.awaiting_meta = m.seq;
        st.awaiting_vote = std::make_unique<meta_vote_msg>(m);
        send_untyped(self, st.core->meta_writer, meta_vote_atom::value, std::move(m));
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
        if (st.named_query_waiters.count(q.to.id)) {
          // The query function of take_named_query returns the encoded result.
          auto* bytes = std::any_cast<shared_bytes>(&q.result);
          deliver(st.named_query_waiters, q.to.id,
                  named_query_result{q.leader, bytes ? std::move(*bytes) : shared_bytes{}, q.error.has_value(),
                                     q.error.value_or(command_error{error_code::not_leader, {}})});
          return;
        }
        deliver(st.query_waiters, q.to.id,
                query_result{q.leader, std::move(q.result), q.error.has_value(),
                             q.error.value_or(command_error{error_code::not_leader, {}})});
      },
      [&](effect_action& ef) { execute_effect(self, ef.effect); },
      [&](role_change_action& rc) {
        // The behaviour follows once the batch is done (sync_behavior).
        // One line per leader change at info (the new leader's, and a leader's stepping
        // down), with the figures; the followers' and candidates' transitions at debug:
        // an election on 10,000 clusters is not 30,000 lines.
        const bool leadership = rc.to == role::leader || rc.from == role::leader;
        spdlog::log(leadership ? spdlog::level::info : spdlog::level::debug,
                    "[{}] {} -> {} in term {} (leader: {}; last index {}, commit index {})", st.tag,
                    to_string(rc.from), to_string(rc.to), rc.term.value, rc.leader.to_string(),
                    st.srv->log().last_index().value, st.srv->commit_index().value);
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

/// The actor behind `p` if it lives in this process and may be resolved here: a pid of
/// this system, or of another system of the process when in-process resolution is on.
caf::actor local_pid(const server_state& st, const pid& p) {
  if (p.node == st.core->name || st.core->in_process_resolution) return resolve_pid(p);
  return {};
}

/// This system's node actor, which routes pids of other nodes; null for a pid of this
/// system or when the system is not distributed.
caf::actor pid_router(const server_state& st, const pid& p) {
  if (p.empty() || p.node == st.core->name) return {};
  std::lock_guard lk{st.core->remote_mx};
  return st.core->remote.node_actor;
}

/// Sends `msg` to the process `to`, wherever it runs; dropped if it is gone (as Erlang's
/// send to a dead pid).
void send_to_pid(server_actor* self, const pid& to, caf::message msg) {
  auto& st = self->state;
  if (auto dst = local_pid(st, to)) return send_untyped(self, dst, std::move(msg));
  if (auto router = pid_router(st, to)) send_untyped(self, router, node_pid_send_atom::value, to.node, to.id, std::move(msg));
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
      [&](send_msg_effect& x) { send_to_pid(self, x.to, std::move(x.msg)); },
      [&](reply_effect& x) {
        send_to_pid(self, x.to, caf::make_message(machine_reply_atom::value, std::move(x.reply)));
      },
      [&](mod_call_effect& x) {
        try {
          if (x.fn) x.fn();
        } catch (const std::exception& ex) {
          spdlog::error("[{}] mod_call effect threw: {}", st.tag, ex.what());
        }
      },
      [&](monitor_effect& x) {
        if (auto dst = local_pid(st, x.target)) {
          if (st.monitored.emplace(dst.address(), x.target).second) self->monitor(dst);
          return;
        }
        if (auto router = pid_router(st, x.target)) {
          // The node actor asks the pid's node for it; on_pid_resolved monitors the proxy.
          if (st.resolving_monitors.insert(x.target).second)
            send_untyped(self, router, node_pid_resolve_atom::value, x.target.node, x.target.id,
                         caf::actor_cast<caf::actor>(self));
          return;
        }
        st.srv->handle_builtin(down_command{x.target, "noproc"});
      },
      [&](demonitor_effect& x) {
        st.resolving_monitors.erase(x.target);
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

}  // namespace

void on_pid_lost(server_actor* self, const pid& p) {
  auto& st = self->state;
  bool watched = st.resolving_monitors.erase(p) > 0;
  for (auto it = st.monitored.begin(); it != st.monitored.end();) {
    if (it->second == p) {
      self->demonitor(it->first);
      it = st.monitored.erase(it);
      watched = true;
    } else {
      ++it;
    }
  }
  if (watched) with_server(self, [&](server& s) { s.handle_builtin(down_command{p, "noconnection"}); });
}

void on_pid_resolved(server_actor* self, const pid& p, const caf::actor& a) {
  auto& st = self->state;
  if (!st.resolving_monitors.erase(p)) return;  // demonitored meanwhile
  if (!a) {
    with_server(self, [&](server& s) { s.handle_builtin(down_command{p, "noproc"}); });
    return;
  }
  // CAF reports the proxy down when the actor exits or its node's connection is lost.
  if (st.monitored.emplace(a.address(), p).second) self->monitor(a);
}

/// met a storage error it cannot run on.
void run_actions(server_actor* self) {
  auto& st = self->state;
  // Executing an action may feed the core again (effects: aux, down of a dead pid, log
  // reads), so drain until it has nothing more to say. While a vote is on its way to
  // disk, what the core asks waits behind it (st.deferred), in order.
  for (auto actions = st.srv->take_actions(); !actions.empty(); actions = st.srv->take_actions()) {
    for (size_t i = 0; i < actions.size(); ++i) {
      if (st.stopping) return;
      if (st.awaiting_meta) {
        std::move(actions.begin() + static_cast<std::ptrdiff_t>(i), actions.end(), std::back_inserter(st.deferred));
        break;
      }
      execute(self, actions[i]);
    }
  }
  if (!st.stopping && st.log->error())
    stop_server(self, "log: " + st.log->error()->message(), true);
  if (st.stopping) return;
  after_event(self);
  sync_behavior(self);
}

void on_meta_durable(server_actor* self, uint64_t seq) {
  auto& st = self->state;
  if (st.stopping || !st.awaiting_meta || *st.awaiting_meta != seq) return;
  st.awaiting_meta.reset();
  st.awaiting_vote.reset();
  st.meta_retry_ms = 0;
  // First the log's writes (in the order they were made), then the actions: an action
  // run below may write to the log again, behind these.
  auto writes = std::move(st.deferred_wal_writes);
  st.deferred_wal_writes.clear();
  for (auto& w : writes) st.sink->write(w.uid, std::move(w.entries), w.starts_new_log);
  // By index: an action executed here may append to st.deferred (another vote).
  size_t done = 0;
  while (done < st.deferred.size() && !st.awaiting_meta && !st.stopping) {
    auto a = std::move(st.deferred[done++]);
    execute(self, a);
  }
  if (done == st.deferred.size())
    std::vector<action>{}.swap(st.deferred);  // gives the memory back
  else
    st.deferred.erase(st.deferred.begin(), st.deferred.begin() + static_cast<std::ptrdiff_t>(done));
  if (st.stopping) return;
  st.srv->set_time(now_ms());
  run_actions(self);
}

void on_meta_failed(server_actor* self, uint64_t seq, const std::string& message) {
  auto& st = self->state;
  if (st.stopping || !st.awaiting_meta || *st.awaiting_meta != seq || !st.awaiting_vote) return;
  // Never act on a vote that is not durable: everything behind it keeps waiting, and the
  // vote is made durable again later (a full disk frees up; a failing one keeps failing,
  // and the server keeps waiting without voting, acknowledging or leading).
  st.meta_retry_ms = st.meta_retry_ms == 0 ? 50 : std::min<uint32_t>(st.meta_retry_ms * 2, 2000);
  spdlog::warn("[{}] meta store: {}; the vote for term {} is retried in {} ms, the server waits for it", st.tag,
               message, st.awaiting_vote->term.value, st.meta_retry_ms);
  self->delayed_send(self, std::chrono::milliseconds(st.meta_retry_ms), meta_retry_atom::value, seq);
}

void on_meta_retry(server_actor* self, uint64_t seq) {
  auto& st = self->state;
  if (st.stopping || !st.awaiting_meta || *st.awaiting_meta != seq || !st.awaiting_vote) return;
  auto m = *st.awaiting_vote;
  m.seq = ++st.meta_seq;
  st.awaiting_meta = m.seq;
  st.awaiting_vote->seq = m.seq;
  send_untyped(self, st.core->meta_writer, meta_vote_atom::value, std::move(m));
}

}  // namespace ra::detail::shell
