#include "actors/node_pids.hpp"

#include "actors/pid.hpp"
#include "wire/atoms.hpp"

namespace ra::detail::node_link {

using namespace ra::actors;

namespace {

/// `k`'s node answered (`a`; null: no such actor, or no answer): deliver what waited.
void settle_pid(node_actor* self, const pid_key& k, const caf::actor& a) {
  auto& st = self->state;
  auto it = st.pids.find(k);
  if (it == st.pids.end()) return;
  auto waiting = std::move(it->second);
  if (a) {
    it->second = remote_pid{a, false, {}, {}};
    st.pid_proxies[a.address()] = k;
    self->monitor(a);  // forget it when it goes
    for (auto& m : waiting.sends) self->send(a, std::move(m));
  } else {
    st.pids.erase(it);  // sends to a pid that cannot be found are dropped, as Erlang's
  }
  for (auto& r : waiting.requesters) {
    self->send(r, pid_resolved_atom::value, k.first, k.second, a);
    if (a) st.pid_monitors[k].push_back(r);
  }
}

/// Asks `k`'s node for the actor (once; later calls join the wait).
void resolve_remote_pid(node_actor* self, const pid_key& k) {
  auto& st = self->state;
  auto& e = st.pids[k];
  if (e.proxy || e.resolving) return;
  auto peer = st.peers.find(k.first);
  if (peer == st.peers.end() || !peer->second.link || !peer->second.up) return settle_pid(self, k, {});
  e.resolving = true;
  self->request(peer->second.link, st.settings.down_after, node_pid_atom::value, k.second)
    .then([self, k](const caf::actor& a) { settle_pid(self, k, a); },
          [self, k](caf::error&) { settle_pid(self, k, {}); });
}

}  // namespace

caf::actor answer_pid_lookup(node_actor* self, uint64_t id) {
  // Only a linked node's node actor may look up this node's actors by id.
  auto& st = self->state;
  if (!st.link_nodes.count(caf::actor_cast<caf::actor_addr>(self->current_sender()))) return {};
  return resolve_pid(pid{st.settings.local_name, id});
}

void route_pid_send(node_actor* self, const pid_key& k, caf::message m) {
  auto& e = self->state.pids[k];
  if (e.proxy) return self->send(e.proxy, std::move(m));
  e.sends.push_back(std::move(m));
  resolve_remote_pid(self, k);
}

void route_pid_monitor(node_actor* self, const pid_key& k, const caf::actor& server) {
  auto& e = self->state.pids[k];
  if (e.proxy) {
    self->state.pid_monitors[k].push_back(server);
    return self->send(server, pid_resolved_atom::value, k.first, k.second, e.proxy);
  }
  e.requesters.push_back(server);
  resolve_remote_pid(self, k);
}

bool pid_proxy_down(node_actor* self, const caf::actor_addr& source) {
  auto& st = self->state;
  auto it = st.pid_proxies.find(source);
  if (it == st.pid_proxies.end()) return false;
  st.pid_monitors.erase(it->second);  // the servers' own monitors report this down
  st.pids.erase(it->second);
  st.pid_proxies.erase(it);
  return true;
}

/// `node` is down: its pids' monitors get (pid_lost_atom, node, id), and the cached
/// proxies go (a frozen node's connection, and so its proxies, may stay open; the pids are
/// resolved again if the node comes back).
void forget_pids_of(node_actor* self, const std::string& node) {
  auto& st = self->state;
  for (auto it = st.pid_monitors.begin(); it != st.pid_monitors.end();) {
    if (it->first.first != node) {
      ++it;
      continue;
    }
    for (auto& server : it->second) self->send(server, pid_lost_atom::value, node, it->first.second);
    it = st.pid_monitors.erase(it);
  }
  for (auto it = st.pid_proxies.begin(); it != st.pid_proxies.end();) {
    if (it->second.first != node) {
      ++it;
      continue;
    }
    self->demonitor(it->first);
    st.pids.erase(it->second);
    it = st.pid_proxies.erase(it);
  }
}

}  // namespace ra::detail::node_link
