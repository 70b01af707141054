#pragma once
// The node actor's state (actors/node_link.cpp), shared with the parts of its behaviour
// that live in their own files (node_pids.cpp).

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include <caf/all.hpp>

#include "actors/node_identity.hpp"
#include "actors/system_core.hpp"
#include "ra/types.hpp"

namespace ra::detail::node_link {

using clock_type = std::chrono::steady_clock;
using ms = std::chrono::milliseconds;

struct node_settings {
  std::string local_name;
  std::map<std::string, std::pair<std::string, uint16_t>> peers;
  ms ping_interval{1000};
  ms down_after{3000};
  bool tls = false;  ///< publish and dial over CAF's openssl module
  /// With TLS: this node's certificate and key, to prove its name in hellos and check
  /// the peers' proofs (actors/node_identity.hpp).
  std::shared_ptr<const actors::node_identity> identity;
};

/// What this node knows about one remote node.
struct peer_node {
  caf::actor link;  ///< the remote node actor (a proxy); null while not connected
  std::optional<std::pair<std::string, uint16_t>> address;  ///< configured: redial while lost
  bool dialling = false;
  bool up = false;
  uint64_t epoch = 0;  ///< bumped on every up: answers meant for an older one are dropped
  clock_type::time_point last_heard{};
};

/// A local actor watching nodes (node_watch) and/or the node of its leader (leader_watch).
struct watcher_entry {
  caf::actor handle;
  std::set<std::string> nodes;
  std::optional<server_id> leader;
};

/// A pid of another node this node routes to (sends and monitors of machine effects):
/// the proxy of its actor once that node answered, and what waits for it meanwhile.
struct remote_pid {
  caf::actor proxy;
  bool resolving = false;
  std::vector<caf::message> sends;       ///< in order, delivered once resolved
  std::vector<caf::actor> requesters;    ///< answered with (pid_resolved_atom, ...)
};
using pid_key = std::pair<std::string, uint64_t>;  ///< (node, actor id)

struct node_state {
  std::shared_ptr<system_core> core;
  node_settings settings;
  std::map<std::string, peer_node> peers;  ///< by node name
  std::map<caf::actor_addr, std::string> link_nodes;                      ///< remote node actor -> node
  std::map<caf::actor_addr, std::pair<std::string, std::string>> proxies;  ///< remote server -> (node, name)
  std::map<caf::actor_addr, watcher_entry> watchers;
  std::map<pid_key, remote_pid> pids;           ///< remote pids resolved or being resolved
  std::map<caf::actor_addr, pid_key> pid_proxies;  ///< a resolved pid's proxy -> its key
  /// Servers monitoring a remote pid (they asked to resolve it for a monitor): told
  /// (pid_lost_atom) when the pid's node is declared down, as Erlang's noconnection.
  std::map<pid_key, std::vector<caf::actor>> pid_monitors;
  uint64_t ping_seq = 0;
  static inline const char* name = "ra_node";  // the actor's name in CAF diagnostics
};
using node_actor = caf::stateful_actor<node_state>;

}  // namespace ra::detail::node_link
