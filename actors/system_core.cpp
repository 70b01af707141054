// system_core: the directory lookups, server resolution (local, same process, remote
// proxies) and the process-wide registry of running systems.

#include "actors/system_core.hpp"

#include <caf/all.hpp>

#include "actors/node_link.hpp"
#include "wire/inspect.hpp"  // server_id in (leader_watch_atom, server_id, actor)

namespace ra::detail {

caf::actor system_core::find(const std::string& name) const {
  std::lock_guard lk{mx};
  auto it = directory.find(name);
  return it == directory.end() ? caf::actor{} : it->second.actor;
}

caf::actor system_core::find_by_uid(const std::string& uid) const {
  std::lock_guard lk{mx};
  for (auto& [name, e] : directory)
    if (e.uid == uid) return e.actor;
  return {};
}

void system_core::forget_actor(const std::string& name, const caf::actor_addr& who) {
  std::lock_guard lk{mx};
  if (auto it = directory.find(name); it != directory.end() && it->second.actor && it->second.actor.address() == who)
    it->second.actor = caf::actor{};
}

namespace {
std::mutex registry_mx;
std::map<std::string, std::weak_ptr<system_core>> registry;
}  // namespace

caf::actor system_core::resolve(const server_id& id) const {
  if (id.node == name) return find(id.name);
  if (in_process_resolution)
    if (auto other = find_system(id.node)) return other->find(id.name);
  caf::actor node_actor;
  {
    std::lock_guard lk{remote_mx};
    if (!remote.node_actor || !remote.up_nodes.count(id.node)) return {};  // not connected: unreachable now
    if (auto node = remote.servers.find(id.node); node != remote.servers.end())
      if (auto it = node->second.find(id.name); it != node->second.end()) return it->second;
    // One lookup per server at a time, however often the server is resolved meanwhile.
    if (!remote.lookups_in_flight.emplace(id.node, id.name).second) return {};
    node_actor = remote.node_actor;
  }
  caf::anon_send(node_actor, actors::node_lookup_atom::value, id.node, id.name);
  return {};
}

bool system_core::node_up(const std::string& node) const {
  std::lock_guard lk{remote_mx};
  return remote.up_nodes.count(node) > 0;
}

std::set<std::string> system_core::up_nodes() const {
  std::lock_guard lk{remote_mx};
  return remote.up_nodes;
}

namespace {
caf::actor node_actor_of(const system_core& core) {
  std::lock_guard lk{core.remote_mx};
  return core.remote.node_actor;
}
}  // namespace

void system_core::watch_node(const std::string& node, const caf::actor& watcher) const {
  if (auto a = node_actor_of(*this); a && watcher) caf::anon_send(a, actors::node_watch_atom::value, node, watcher);
}

void system_core::unwatch_node(const std::string& node, const caf::actor& watcher) const {
  if (auto a = node_actor_of(*this); a && watcher)
    caf::anon_send(a, actors::node_unwatch_atom::value, node, watcher);
}

void system_core::watch_leader(const server_id& leader, const caf::actor& watcher) const {
  if (auto a = node_actor_of(*this); a && watcher)
    caf::anon_send(a, actors::leader_watch_atom::value, leader, watcher);
}

void system_core::allow_stop(const caf::actor_addr& a) {
  std::lock_guard lk{stop_mx};
  stop_requests.insert(a);
}

void system_core::stop_actor(const caf::actor& a, caf::exit_reason reason) {
  if (!a) return;
  allow_stop(a.address());
  caf::anon_send_exit(a, reason);
}

bool system_core::take_stop_request(const caf::actor_addr& a) {
  std::lock_guard lk{stop_mx};
  return stop_requests.erase(a) > 0;
}

bool system_core::sender_speaks_for(const caf::strong_actor_ptr& sender, const std::string& node) const {
  if (!sender) return false;
  const auto& sender_node = sender->node();
  if (sys && sender_node == sys->node()) return true;  // an actor of this actor system
  if (node != name)
    if (auto other = find_system(node); other && other->sys && other->sys->node() == sender_node) return true;
  std::lock_guard lk{remote_mx};
  auto it = remote.node_names.find(sender_node);
  return it != remote.node_names.end() && it->second == node;
}

void register_system(const std::shared_ptr<system_core>& core) {
  std::lock_guard lk{registry_mx};
  registry[core->name] = core;
}
void unregister_system(const std::string& name) {
  std::lock_guard lk{registry_mx};
  registry.erase(name);
}
std::shared_ptr<system_core> find_system(const std::string& name) {
  std::lock_guard lk{registry_mx};
  auto it = registry.find(name);
  return it == registry.end() ? nullptr : it->second.lock();
}

}  // namespace ra::detail
