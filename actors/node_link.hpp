#pragma once
// Distribution between ra::systems (one per node) over CAF's io middleman, and the
// node-level failure detector (Ra's aten). See docs/runtime.md, "Distribution and
// failure detection".
//
// A distributed system publishes one small *node actor* on its port. Nodes dial the peers
// in their config (system_config::peers); one connection serves both directions: the
// dialer says hello with its own node actor, so the dialled node learns it too. The node
// actor
//  * answers directory requests: which of my servers run, and their actors;
//  * fills system_core::remote, the cache of remote server proxies that resolve() reads
//    (an unknown remote server triggers an asynchronous lookup, never a blocking call);
//    entries go when the proxy's actor goes down or its node is lost;
//  * pings every connected node once per node_ping_interval_ms (one timer per system,
//    however many servers and clusters run) and declares a node down when it has not
//    answered for node_down_after_ms, or at once when the connection closes. This
//    catches partitions and hung nodes, which TCP alone does not report;
//  * tells watchers (system_core::watch_node / watch_leader) about nodes going down and
//    coming back, and redials configured peers while they are down.
//
// Every message here uses CAF's built-in types only (atoms, strings, actors, vectors of
// them, integers): nothing to announce. The atoms (node_*_atom) are in wire/atoms.hpp.

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include <caf/actor.hpp>
#include <caf/atom.hpp>
#include <caf/fwd.hpp>

#include "ra/result.hpp"
#include "actors/system_core.hpp"
#include "wire/atoms.hpp"

namespace ra {

class system;
struct system_config;

namespace detail {

/// Sets the core's distribution knobs from `cfg` and, if cfg.distributed, spawns and
/// publishes the node actor and starts dialling cfg.peers. Fails with
/// api_errc::invalid_argument: distributed without the io middleman loaded, bad
/// failure-detector timings, or the port cannot be bound.
expected<void, api_error> start_node_link(const std::shared_ptr<system_core>& core, const system_config& cfg);
/// The distribution settings' security rules (system::start calls it before touching
/// anything): plain TCP beyond loopback needs allow_insecure_remote (then warns), TLS
/// needs certificate, key and CA file together. Fails with api_errc::invalid_argument.
expected<void, api_error> check_distribution_config(const system_config& cfg);
/// Loads CAF's openssl module with the TLS files when cfg.distributed and TLS is
/// configured. Call before the actor system is built.
void configure_caf_distribution(caf::actor_system_config& caf_cfg, const system_config& cfg);
/// Stops the node actor (bounded wait), closes its port and drops every remote proxy.
/// Call before the actor system is destroyed. Idempotent.
void stop_node_link(system_core& core);

}  // namespace detail

// -- public helpers (need a running system) ------------------------------------------------

/// The TCP port this system's node actor listens on (0: not distributed or not running).
uint16_t node_port(const system& sys);
/// What the security checks dropped (docs/runtime.md, "Security model").
struct security_counters {
  uint64_t forged_peer_messages = 0;  ///< peer messages whose `from` is not on the sender's node
  uint64_t ignored_exits = 0;         ///< CAF exit messages no local stop asked for
  uint64_t refused_hellos = 0;        ///< TLS hellos whose certificate does not prove the name
  uint64_t refused_server_requests = 0;  ///< server requests from a process that is not a linked node
};
/// This system's counters (zero if it is not running).
security_counters security_stats(const system& sys);
/// Remote nodes connected and answering pings now.
std::vector<std::string> connected_nodes(const system& sys);
/// See system_core::watch_node / unwatch_node. Fails with noproc if the system is not
/// running, invalid_argument if it is not distributed.
status watch_node(const system& sys, const std::string& node, const caf::actor& watcher);
status unwatch_node(const system& sys, const std::string& node, const caf::actor& watcher);

}  // namespace ra
