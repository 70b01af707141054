#include "sim/clients.hpp"

#include <any>
#include <map>
#include <set>

#include "ra/codec.hpp"
#include "sim/register_machine.hpp"

namespace ra::sim {

namespace {

/// Errors a server gives while refusing a command at submission: it was never appended.
bool refused_at_submission(ra::error_code e) {
  return e == ra::error_code::not_leader || e == ra::error_code::cluster_change_not_permitted ||
         e == ra::error_code::stopped;
}

}  // namespace

client_pool::client_pool(sim_cluster& cluster, rng r, client_profile profile, safety_checker& checker)
  : cluster_(cluster), rng_(r), profile_(profile), checker_(checker) {
  for (int i = 0; i < profile_.clients; ++i) {
    client c;
    c.id = i;
    c.process = i;
    clients_.push_back(c);
  }
  next_process_ = profile_.clients;
}

void client_pool::start() {
  for (client& c : clients_) {
    const int id = c.id;
    cluster_.schedule(rng_.between(profile_.think_min_ms, profile_.think_max_ms), "client " + std::to_string(id) + " starts",
                      [this, id] { issue(clients_[static_cast<size_t>(id)]); });
  }
}

void client_pool::begin_liveness() {
  liveness_ = true;
  liveness_from_ = cluster_.now();
}

bool client_pool::live() const {
  for (const client& c : clients_)
    if (!c.write_ok_in_liveness)
      return false;
  return true;
}

std::string client_pool::waiting() const {
  std::string out;
  for (const client& c : clients_) {
    if (c.write_ok_in_liveness)
      continue;
    out += (out.empty() ? "" : "; ") + std::string("client ") + std::to_string(c.id) +
           (c.op ? " has an operation pending since " + std::to_string(c.op->invoked_at) + " ms"
                 : " has no successful write yet");
  }
  return out;
}

int client_pool::random_member() {
  std::vector<int> members;
  for (size_t i = 0; i < cluster_.size(); ++i) {
    const sim_node& n = cluster_.node(static_cast<int>(i));
    if (n.started && !n.stopped)
      members.push_back(static_cast<int>(i));
  }
  return members.empty() ? 0 : rng_.pick(members);
}

client_pool::client* client_pool::by_attempt(uint64_t attempt) {
  for (client& c : clients_)
    if (c.op && c.attempt == attempt)
      return &c;
  return nullptr;
}

void client_pool::choose_op(client& c, operation& op) {
  const double r = rng_.unit();
  if (liveness_ && !c.write_ok_in_liveness) {
    op.f = lincheck::op_kind::write;
  } else if (r < profile_.read_ratio) {
    op.f = lincheck::op_kind::read;
  } else if (r < profile_.read_ratio + profile_.cas_ratio) {
    op.f = lincheck::op_kind::cas;
  } else {
    op.f = lincheck::op_kind::write;
  }
  if (op.f == lincheck::op_kind::write) {
    op.value = next_value_++;
  } else if (op.f == lincheck::op_kind::cas) {
    // Mostly a value the client last saw, so some swaps succeed; sometimes a recent guess.
    if (c.last_value && rng_.chance(0.7))
      op.value = *c.last_value;
    else
      op.value = rng_.between(std::max<int64_t>(1, next_value_ - 5), std::max<int64_t>(1, next_value_ - 1));
    op.cas_to = next_value_++;
  }
  op.notify = op.f == lincheck::op_kind::write && rng_.chance(profile_.notify_mode);
}

void client_pool::issue(client& c) {
  if (!issuing_ || c.op)
    return;
  operation op;
  choose_op(c, op);
  op.invoked_at = cluster_.now();
  c.op = op;
  ++stats_.invoked;
  lincheck::event e;
  e.process = c.process;
  e.type = lincheck::event_type::invoke;
  e.f = op.f;
  if (op.f != lincheck::op_kind::read)
    e.value = op.value;
  e.cas_to = op.cas_to;
  history_.push_back(e);

  const int id = c.id;
  const uint64_t seq = c.op_seq;
  cluster_.schedule(profile_.op_timeout_ms, "client " + std::to_string(id) + " deadline", [this, id, seq] {
    client& c = clients_[static_cast<size_t>(id)];
    if (c.op_seq != seq || !c.op)
      return;
    complete(c, c.op->accepted && is_write_like(*c.op) ? outcome::info : outcome::fail);
  });
  // Local reads go anywhere (that is what makes them stale); everything else to the leader.
  const bool anywhere = op.f == lincheck::op_kind::read && profile_.read_kind == ra::query_kind::local;
  send_attempt(c, anywhere ? std::nullopt : c.leader_hint);
}

void client_pool::send_attempt(client& c, std::optional<int> target) {
  const int node = target ? *target : random_member();
  const uint64_t attempt = next_attempt_++;
  c.attempt = attempt;
  const int id = c.id;
  const uint64_t seq = c.op_seq;
  cluster_.schedule(rng_.between(profile_.hop_min_ms, profile_.hop_max_ms),
                    "client " + std::to_string(id) + " -> " + cluster_.node(node).name(),
                    [this, id, seq, attempt, node] { submit(id, seq, attempt, node); });
}

void client_pool::submit(int id, uint64_t seq, uint64_t attempt, int node) {
  client& c = clients_[static_cast<size_t>(id)];
  if (c.op_seq != seq || c.attempt != attempt || !c.op)
    return;
  const operation op = *c.op;
  submitting_ = attempt;
  sync_refusal_.reset();
  const bool reached = cluster_.invoke(node, [&](ra::server& s) {
    if (op.f == lincheck::op_kind::read) {
      s.handle_query(ra::query_request{ra::client_ref{attempt}, profile_.read_kind, register_read_query()});
      return;
    }
    register_command cmd;
    cmd.kind = op.f == lincheck::op_kind::write ? register_op::write : register_op::cas;
    cmd.value = op.f == lincheck::op_kind::write ? op.value : op.cas_to;
    cmd.expected = op.value;
    ra::command_request req;
    req.from = ra::client_ref{attempt};
    req.payload = ra::encode(cmd);
    req.mode = op.notify ? ra::reply_mode::notify : ra::reply_mode::await_consensus;
    req.correlation = attempt;
    req.priority = rng_.chance(profile_.low_priority) ? ra::command_priority::low : ra::command_priority::normal;
    s.handle_command(std::move(req));
  });
  submitting_ = 0;
  if (!reached) {
    rejected(c, std::nullopt);  // connection refused: certainly not appended
  } else if (sync_refusal_) {
    rejected(c, *sync_refusal_);
  } else if (c.op_seq == seq && c.attempt == attempt) {
    c.op->accepted = true;
  }
  sync_refusal_.reset();
}

void client_pool::rejected(client& c, const std::optional<ra::server_id>& hint) {
  ++stats_.retries;
  std::optional<int> target;
  if (hint && !hint->empty())
    target = cluster_.find(*hint);
  c.leader_hint = target;
  c.attempt = 0;  // nothing in flight until the retry goes out
  const int id = c.id;
  const uint64_t seq = c.op_seq;
  cluster_.schedule(rng_.between(profile_.retry_min_ms, profile_.retry_max_ms), "client " + std::to_string(id) + " retry",
                    [this, id, seq, target] {
                      client& c = clients_[static_cast<size_t>(id)];
                      if (c.op_seq == seq && c.op && c.attempt == 0)
                        send_attempt(c, target);
                    });
}

void client_pool::deliver_later(int id, uint64_t seq, std::function<void(client&)> fn) {
  const uint64_t attempt = clients_[static_cast<size_t>(id)].attempt;
  cluster_.schedule(rng_.between(profile_.hop_min_ms, profile_.hop_max_ms), "client " + std::to_string(id) + " reply",
                    [this, id, seq, attempt, fn = std::move(fn)] {
                      client& c = clients_[static_cast<size_t>(id)];
                      if (c.op_seq == seq && c.attempt == attempt && c.op)
                        fn(c);
                    });
}

void client_pool::on_client_action(int node, const ra::action& a) {
  (void)node;
  // A refusal while the command is being submitted: it was never appended.
  auto refusal = [&](uint64_t attempt, const ra::command_error& err) {
    if (attempt != submitting_ || !refused_at_submission(err.code))
      return false;
    sync_refusal_ = err.leader;
    return true;
  };
  auto command_done = [&](client& c, const ra::shared_bytes& bytes, const ra::server_id& leader) {
    auto reply = ra::decode<register_reply>(bytes);
    if (!reply) {
      checker_.fail("client protocol", "client " + std::to_string(c.id) + " got an undecodable reply");
      return;
    }
    const bool took_effect = c.op->f == lincheck::op_kind::write || reply->ok;
    std::optional<int> hint = cluster_.find(leader);
    deliver_later(c.id, c.op_seq, [this, took_effect, hint](client& c) {
      if (hint)
        c.leader_hint = hint;
      complete(c, took_effect ? outcome::ok : outcome::fail);
    });
  };
  auto unknown = [&](client& c) { deliver_later(c.id, c.op_seq, [this](client& c) { complete(c, outcome::info); }); };

  if (const auto* r = std::get_if<ra::reply_action>(&a)) {
    client* c = by_attempt(r->to.id);
    if (!c || c->op->f == lincheck::op_kind::read)
      return;
    if (r->error) {
      if (!refusal(r->to.id, *r->error))
        unknown(*c);  // e.g. leadership_lost: it may still commit
      return;
    }
    checker_.on_acknowledged("client " + std::to_string(c->id), r->index.value, r->term.value);
    command_done(*c, r->reply, r->leader);
  } else if (const auto* n = std::get_if<ra::notify_action>(&a)) {
    for (const auto& [correlation, bytes] : n->applied)
      if (client* c = by_attempt(correlation); c && c->op->f != lincheck::op_kind::read)
        command_done(*c, bytes, n->leader);
  } else if (const auto* j = std::get_if<ra::reject_action>(&a)) {
    client* c = by_attempt(j->correlation);
    if (c && !refusal(j->correlation, j->error))
      unknown(*c);
  } else if (const auto* q = std::get_if<ra::query_reply_action>(&a)) {
    client* c = by_attempt(q->to.id);
    if (!c || c->op->f != lincheck::op_kind::read)
      return;
    if (q->error) {
      if (!refusal(q->to.id, *q->error)) {
        // A read has no effect: any failure can simply be retried.
        std::optional<ra::server_id> hint = q->error->leader;
        deliver_later(c->id, c->op_seq, [this, hint](client& c) { rejected(c, hint); });
      }
      return;
    }
    const auto* value = std::any_cast<std::optional<int64_t>>(&q->result);
    if (!value) {
      checker_.fail("client protocol", "query result of unexpected type");
      return;
    }
    std::optional<int64_t> v = *value;
    std::optional<int> hint = cluster_.find(q->leader);
    deliver_later(c->id, c->op_seq, [this, v, hint](client& c) {
      if (hint)
        c.leader_hint = hint;
      complete(c, outcome::ok, v);
    });
  }
}

void client_pool::complete(client& c, outcome o, std::optional<int64_t> read_value) {
  const operation op = *c.op;
  lincheck::event e;
  e.process = c.process;
  e.f = op.f;
  e.cas_to = op.cas_to;
  if (op.f == lincheck::op_kind::read)
    e.value = o == outcome::ok ? read_value : std::nullopt;
  else
    e.value = op.value;
  switch (o) {
    case outcome::ok:
      e.type = lincheck::event_type::ok;
      ++stats_.ok;
      if (op.f == lincheck::op_kind::write)
        c.last_value = op.value;
      else if (op.f == lincheck::op_kind::cas)
        c.last_value = op.cas_to;
      else
        c.last_value = read_value;
      if (liveness_ && is_write_like(op) && op.invoked_at >= liveness_from_)
        c.write_ok_in_liveness = true;
      break;
    case outcome::fail:
      e.type = lincheck::event_type::fail;
      ++stats_.fail;
      break;
    case outcome::info:
      e.type = lincheck::event_type::info;
      ++stats_.info;
      break;
  }
  history_.push_back(e);
  if (o == outcome::info)
    c.process = next_process_++;  // a process with an unknown outcome never issues again
  c.op.reset();
  c.attempt = 0;
  ++c.op_seq;
  const int id = c.id;
  const uint64_t seq = c.op_seq;
  cluster_.schedule(rng_.between(profile_.think_min_ms, profile_.think_max_ms), "client " + std::to_string(id) + " next",
                    [this, id, seq] {
                      client& c = clients_[static_cast<size_t>(id)];
                      if (c.op_seq == seq)
                        issue(c);
                    });
}

void client_pool::finish() {
  issuing_ = false;
  for (client& c : clients_)
    if (c.op)
      complete(c, c.op->accepted && is_write_like(*c.op) ? outcome::info : outcome::fail);
}

lincheck::history prune_unobserved_unknowns(const lincheck::history& h) {
  // Values some operation may depend on: read by an ok read, or expected by a cas that
  // did not fail (a failed cas saw some other value, so it depends on nothing).
  std::set<int64_t> observed;  // (nil needs no entry: no operation writes nil)
  {
    std::map<int, size_t> calls;
    auto note_cas = [&](size_t call) {
      if (h[call].f == lincheck::op_kind::cas && h[call].value) observed.insert(*h[call].value);
    };
    for (size_t i = 0; i < h.size(); ++i) {
      const auto& e = h[i];
      if (e.type == lincheck::event_type::invoke) {
        calls[e.process] = i;
        continue;
      }
      if (e.f == lincheck::op_kind::read && e.type == lincheck::event_type::ok && e.value) observed.insert(*e.value);
      auto it = calls.find(e.process);
      if (it == calls.end()) continue;
      if (e.type != lincheck::event_type::fail) note_cas(it->second);
      calls.erase(it);
    }
    for (auto& [process, call] : calls) note_cas(call);  // never completed
  }

  // Pair each invoke with its completion (a process has one operation at a time).
  std::vector<bool> keep(h.size(), true);
  std::map<int, size_t> open;  // process -> index of its pending invoke
  auto unobserved_effect = [&](const lincheck::event& invoke) {
    if (invoke.f == lincheck::op_kind::write)
      return invoke.value && !observed.contains(*invoke.value);
    if (invoke.f == lincheck::op_kind::cas)
      return !observed.contains(invoke.cas_to);
    return false;
  };
  for (size_t i = 0; i < h.size(); ++i) {
    const auto& e = h[i];
    if (e.type == lincheck::event_type::invoke) {
      open[e.process] = i;
      continue;
    }
    auto it = open.find(e.process);
    if (it == open.end())
      continue;
    if (e.type == lincheck::event_type::info && unobserved_effect(h[it->second])) {
      keep[it->second] = false;
      keep[i] = false;
    }
    open.erase(it);
  }
  for (const auto& [process, i] : open)  // never completed: unknown as well
    if (unobserved_effect(h[i]))
      keep[i] = false;

  // An unknown write (or cas) whose value was observed did take effect, and before the
  // first operation that observed it completed: the simulator's written values are unique,
  // so nobody else could have produced that value. Turning it into an :ok completed just
  // before that observer's completion keeps the verdict and spares the checker from
  // trying every subset of the unknown operations (which can take minutes).
  std::map<int64_t, int> writers_of;  // value -> how many operations write it
  for (const auto& e : h) {
    if (e.type != lincheck::event_type::invoke) continue;
    if (e.f == lincheck::op_kind::write && e.value) ++writers_of[*e.value];
    if (e.f == lincheck::op_kind::cas) ++writers_of[e.cas_to];
  }
  std::multimap<size_t, lincheck::event> ok_before;  // history index -> :ok to insert before it
  std::map<int, size_t> pending;
  for (size_t i = 0; i < h.size(); ++i) {
    const auto& e = h[i];
    if (!keep[i]) continue;
    if (e.type == lincheck::event_type::invoke) {
      pending[e.process] = i;
      continue;
    }
    auto it = pending.find(e.process);
    if (it == pending.end()) continue;
    const size_t call = it->second;
    pending.erase(it);
    const auto& inv = h[call];
    if (e.type != lincheck::event_type::info || inv.f == lincheck::op_kind::read) continue;
    const int64_t v = inv.f == lincheck::op_kind::write ? inv.value.value_or(0) : inv.cas_to;
    if (inv.f == lincheck::op_kind::write && !inv.value) continue;
    if (writers_of[v] != 1) continue;
    for (size_t k = call + 1; k < h.size(); ++k) {
      const auto& o = h[k];
      bool observes = o.type == lincheck::event_type::ok && o.value && *o.value == v &&
                      (o.f == lincheck::op_kind::read || o.f == lincheck::op_kind::cas);
      if (!observes) continue;
      lincheck::event done = inv;
      done.type = lincheck::event_type::ok;
      ok_before.emplace(k, done);
      keep[i] = false;  // the :info is replaced
      break;
    }
  }

  lincheck::history out;
  for (size_t i = 0; i < h.size(); ++i) {
    for (auto [it, end] = ok_before.equal_range(i); it != end; ++it)
      out.push_back(it->second);
    if (keep[i])
      out.push_back(h[i]);
  }
  return out;
}

}  // namespace ra::sim
