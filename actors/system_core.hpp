#pragma once
// Internal: what a ra::system shares with its server actors (the node's meta store,
// WAL and segment writer actors, the directory of servers and the machine registry).
// Server actors hold a shared_ptr to it; everything mutable is guarded by a mutex.

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include <caf/actor.hpp>
#include <caf/actor_system.hpp>
#include <caf/exit_reason.hpp>
#include <caf/node_id.hpp>

#include "ra/config.hpp"
#include "ra/machine.hpp"
#include "segments/segment_file.hpp"
#include "io/directory_lock.hpp"
#include "io/file.hpp"
#include "wal/meta_store.hpp"

namespace ra {

namespace actors {
struct node_server_request;  // wire/replies.hpp
struct node_server_result;
}  // namespace actors

namespace storage {
struct wal_metrics_block;  // wal/wal_writer.hpp
}

namespace detail {

struct server_entry {
  std::string uid;
  std::string cluster;
  caf::actor actor;  ///< null while the server is not running
};

struct system_core {
  std::string name;  ///< node name: the `node` of every local server_id
  std::string data_dir;
  storage::file_system* fs = nullptr;
  storage::segment_config segments;
  size_t max_open_segments = 2;
  server_config defaults;
  /// wal_sync_method none without allow_unsafe_sync_none: majorities on this node refused.
  bool refuse_unsynced_majority = false;
  caf::actor_system* sys = nullptr;
  /// False under CAF's test scheduler: storage helpers run as scheduled actors.
  bool detached_storage_actors = true;

  /// Held from start until stop() has ended every actor: one system per data dir.
  std::optional<storage::directory_lock> data_dir_lock;

  /// Shared by every server actor (thread-safe: get() never waits for a sync). Votes are
  /// written by meta_writer (group commit); deletions call remove() directly.
  std::unique_ptr<storage::meta_store> meta;
  caf::actor meta_writer;

  caf::actor wal;
  caf::actor segment_writer;
  /// The WAL writer's published counters (system::metrics()).
  std::shared_ptr<const storage::wal_metrics_block> wal_metrics;
  /// Counted by the segment writer's on_flushed (system::metrics()).
  struct segment_counters {
    std::atomic<uint64_t> flushes{0};
    std::atomic<uint64_t> failed_flushes{0};
    std::atomic<uint64_t> segments_written{0};
  } segment_metrics;

  mutable std::mutex mx;  ///< guards machines and directory
  std::map<std::string, machine_factory> machines;
  std::map<std::string, server_entry> directory;  ///< by server name

  std::string server_dir(const std::string& uid) const { return data_dir + "/" + uid; }
  /// The running actor of local server `name` (null if none).
  caf::actor find(const std::string& name) const;
  caf::actor find_by_uid(const std::string& uid) const;
  /// Clears `name`'s actor if it is still `who` (on the actor's exit).
  void forget_actor(const std::string& name, const caf::actor_addr& who);

  /// The actor of server `id`: this system's directory if id.node is our name, else the
  /// system registered under id.node in this process (unless in-process resolution is
  /// off), else a cached proxy of a server on a connected remote node. Never blocks: a
  /// remote server not cached yet starts an asynchronous lookup and yields null now
  /// (callers treat null as "not reachable now"; a later call finds it).
  caf::actor resolve(const server_id& id) const;

  // -- distribution (actors/node_link.hpp); all of it is inert unless distributed --------

  /// Whether resolve() may use other ra::systems of this process directly. Off in the
  /// distribution tests, so that every message crosses the middleman's serialisation.
  bool in_process_resolution = true;

  /// Remote servers and node state, written by the node actor, read by resolve().
  struct remote_state {
    caf::actor node_actor;  ///< this system's node actor; null unless distributed
    uint16_t port = 0;      ///< where the node actor is published (0: not distributed)
    std::set<std::string> up_nodes;  ///< connected nodes currently answering pings
    std::map<std::string, std::map<std::string, caf::actor>> servers;  ///< node -> name -> proxy
    std::set<std::pair<std::string, std::string>> lookups_in_flight;   ///< (node, name)
    std::map<caf::node_id, std::string> node_names;  ///< CAF node of a linked node actor -> node name
  };
  mutable std::mutex remote_mx;  ///< guards remote
  mutable remote_state remote;

  /// Runs a server request of another node (or of a local caller) on this system:
  /// actors/node_admin.hpp's run_server_request bound to the ra::system, set by
  /// system::start. The node actor runs it on a blocking helper actor.
  std::function<actors::node_server_result(const actors::node_server_request&)> server_admin;
  /// Held while a server request runs; system::stop sets admin_closed under it first.
  std::mutex admin_mx;
  bool admin_closed = false;

  // -- security (docs/runtime.md, "Security model") ---------------------------------------

  /// Peer messages dropped because their `from` does not belong to the node that sent
  /// them (or they came with no sender); exit messages ignored because no local stop
  /// asked for them.
  std::atomic<uint64_t> forged_peer_messages{0};
  std::atomic<uint64_t> ignored_exits{0};
  std::atomic<uint64_t> refused_hellos{0};  ///< TLS hellos whose name proof failed
  /// Server requests (actors/node_admin.hpp) refused: from a process that is not a linked
  /// node, or for a server of another node.
  std::atomic<uint64_t> refused_server_requests{0};
  /// Actors (servers, the node actor) a local stop path is about to end: their exit
  /// handlers honour an exit message only if their address is here (a remote process can
  /// send a CAF exit message, and an anonymous one looks exactly like a local one).
  std::mutex stop_mx;
  std::set<caf::actor_addr> stop_requests;
  /// Marks `a` as stopped by us and sends it the exit message.
  void stop_actor(const caf::actor& a, caf::exit_reason reason = caf::exit_reason::user_shutdown);
  /// Marks `a` only (the caller sends the exit itself). Returns nothing.
  void allow_stop(const caf::actor_addr& a);
  /// True (and forgotten) if a local stop asked for `a` to end.
  bool take_stop_request(const caf::actor_addr& a);
  /// Whether `sender` (a message's current_sender) may speak for server node `node`:
  /// an actor of this actor system, an actor of the in-process system named `node`, or
  /// an actor of the remote CAF node the node actor linked under that name.
  bool sender_speaks_for(const caf::strong_actor_ptr& sender, const std::string& node) const;

  /// Nodes connected and answering pings now.
  std::set<std::string> up_nodes() const;
  bool node_up(const std::string& node) const;
  /// `watcher` gets (node_down_atom, node) when `node` is lost (connection closed or no
  /// answer to pings for node_down_after_ms) and (node_up_atom, node) when it is back.
  /// Watching a node that is not up now sends node_down at once. Watches end when the
  /// watcher exits. No-op unless this system is distributed.
  void watch_node(const std::string& node, const caf::actor& watcher) const;
  void unwatch_node(const std::string& node, const caf::actor& watcher) const;
  /// For server actors following a remote leader: when leader.node is lost, `watcher`
  /// gets (actors::leader_down_atom, leader), as if the leader's actor had gone down.
  /// One leader per watcher (a new call replaces the old one). No-op unless distributed.
  void watch_leader(const server_id& leader, const caf::actor& watcher) const;
};

/// Process-wide registry of running systems by node name.
void register_system(const std::shared_ptr<system_core>& core);
void unregister_system(const std::string& name);
std::shared_ptr<system_core> find_system(const std::string& name);

}  // namespace detail
}  // namespace ra
