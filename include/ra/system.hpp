#pragma once
// ra::system (Ra's ra_system): one node's runtime. It owns a CAF actor_system and, in it,
// the node's WAL actor (started after recovery), the segment writer actor, the meta store,
// the directory of servers (name <-> uid <-> actor) and the machine registry. Several
// systems may run in one process (separate data dirs, distinct names); servers of one can
// reach servers of another by their server_id's node (= the system's name).
//
// The directory is persisted as the servers' own config files (<data_dir>/<uid>/config,
// wal/config_store.hpp): a system started on an existing data dir knows every server it
// ever started and restart_server() rebuilds one from its stored config and log.
//
// Servers are not restarted automatically when the system starts: call restart_server
// (or api.hpp's restart_server) for each. stop() (also run by the destructor) ends every
// actor: servers first, then the WAL (which flushes what it holds), then the segment writer.

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <caf/actor.hpp>
#include <caf/actor_system.hpp>
#include <nlohmann/json.hpp>

#include "ra/result.hpp"
#include "ra/cluster.hpp"
#include "ra/config.hpp"
#include "ra/log_entry.hpp"
#include "ra/logging.hpp"
#include "ra/machine.hpp"
// The storage knobs of system_config (their own small headers); the system's internals
// (system_core, the WAL writer, segment files, the file layer, the config and meta
// stores) stay out of this header.
#include "ra/segment_config.hpp"
#include "ra/system_metrics.hpp"
#include "ra/wal_config.hpp"

namespace ra {

namespace detail {
struct system_core;  // actors/system_core.hpp
}
namespace storage {
struct persisted_server_config;  // wal/config_store.hpp
}

/// How to start a ra::system (one node): name, storage, machines, distribution.
struct system_config {
  /// The node name: the `node` of this system's server ids. Unique per process.
  std::string name = "default";
  /// Holds the meta store (meta/) and one directory per server (named by its uid).
  std::string data_dir;
  /// Where the WAL files go; empty means `data_dir/wal`.
  std::string wal_data_dir;
  /// WAL knobs (wal_data_dir and fs are set by the system).
  storage::wal_config wal;
  /// wal.wal_sync_method = none acknowledges entries once they are in the page cache:
  /// they survive a process crash but not a power loss or kernel crash, and a majority of
  /// members losing them can lose committed, acknowledged entries (review F13). With
  /// none, start_server and restart_server refuse a server whose cluster has a majority
  /// of its members on this node, unless this is true.
  bool allow_unsafe_sync_none = false;
  /// Segment knobs.
  storage::segment_config segments;
  /// Segment files each server keeps open for reading (an LRU; at least 1).
  size_t max_open_segments = 2;
  /// Defaults for new servers: timers, batch sizes, snapshot interval (id, cluster name
  /// and members are filled in per server; rng_seed is drawn per start). The runtime
  /// batches back-to-back commands (server_config::batch_commands).
  server_config server_defaults = [] {
    server_config c;
    c.batch_commands = true;
    return c;
  }();
  /// Machines by name: restart_server rebuilds a server's machine from the name and
  /// arguments stored in its config.
  std::map<std::string, machine_factory> machines;
  /// CAF scheduler threads.
  size_t scheduler_threads = 2;
  /// If set, start() first makes it spdlog's default logger (ra/logging.hpp; process-wide:
  /// the last system started with one wins); a bad setting fails start with
  /// invalid_argument. Unset leaves logging as the embedder configured it.
  std::optional<log_config> logging;
  /// Test hook: the file layer (null = POSIX).
  storage::file_system* fs = nullptr;
  /// Adjusts the CAF configuration before the actor system is built (e.g. load the io
  /// middleman, or select CAF's deterministic test scheduler). Ra's types are already
  /// announced when it runs, scheduler.max-threads is scheduler_threads, and
  /// work-stealing.moderate-poll-attempts is 0 (idle workers sleep on their condition
  /// variable at once instead of polling every 50 us for 25 ms: docs/runtime.md).
  std::function<void(caf::actor_system_config&)> configure_caf;
  /// Test hook: false spawns the WAL and segment writer as ordinary scheduled actors
  /// instead of on their own threads, so that CAF's deterministic test scheduler
  /// (scheduler.policy = testing) drives every actor of the system. They then block a
  /// scheduler thread in each fsync: keep the default in production.
  bool detached_storage_actors = true;

  // -- distribution and node failure detection (actors/node_link.hpp; docs/runtime.md,
  //    "Distribution and failure detection") -------------------------------------------
  /// Publish this node on CAF's io middleman so that systems in other processes (or
  /// other actor systems) reach its servers. Needs the middleman loaded, e.g.
  /// configure_caf = [](auto& c) { c.load<caf::io::middleman>(); }.
  bool distributed = false;
  /// Interface to listen on and TCP port (0 = any free port; read the one chosen with
  /// ra::node_port(sys)). The default is loopback; "" means all interfaces. A
  /// non-loopback address (or "") in plain mode needs allow_insecure_remote.
  std::string listen_host = "127.0.0.1";
  uint16_t listen_port = 0;  ///< see listen_host
  /// Plain (non-TLS) distribution on a non-loopback listen address, or dialling a peer
  /// whose host is not loopback: refused by start (invalid_argument) unless this is true,
  /// and then logged as a warning at start. Plain mode has no authentication: whoever
  /// reaches the port can stop, delete and reconfigure every server (docs/runtime.md,
  /// "Security model").
  bool allow_insecure_remote = false;
  /// Mutual TLS between nodes (CAF's openssl module): when tls_certificate is set, the
  /// node publishes and dials over TLS, and a peer must present a certificate signed by
  /// tls_ca_file (else the TLS handshake fails before any Ra message is read). PEM
  /// files; the key may be encrypted with tls_passphrase. All three files are required
  /// together. The node name is NOT bound to the certificate (CAF 0.17 does not expose
  /// the peer certificate): any holder of a certificate from this CA may claim any node
  /// name that is not currently linked.
  std::string tls_certificate;
  std::string tls_key;         ///< this node's PEM key (see tls_certificate)
  std::string tls_ca_file;     ///< the CA that signs every node's certificate (PEM)
  std::string tls_passphrase;  ///< the passphrase of an encrypted tls_key (else empty)
  /// Largest byte field (command, log entry payload, snapshot chunk) accepted from
  /// another process: a longer length prefix is refused before anything is allocated.
  /// Must be >= server_defaults.max_command_bytes.
  uint64_t max_wire_field_bytes = (64ull << 20) + (1ull << 20);
  /// Nodes to connect to: node name (their system_config::name) -> (host, port). Dialled
  /// at start and redialled while lost. One side of each pair is enough: a connection
  /// serves both directions.
  std::map<std::string, std::pair<std::string, uint16_t>> peers;
  /// Node failure detector (one timer per system): every connected node is pinged each
  /// interval and declared down after this long without an answer (or at once when its
  /// connection closes).
  uint32_t node_ping_interval_ms = 1000;
  uint32_t node_down_after_ms = 3000;  ///< see node_ping_interval_ms
  /// Whether servers of other ra::systems in this process are reached directly. Tests
  /// turn it off so that every message crosses the middleman's serialisation.
  bool in_process_resolution = true;
};

/// A node: Ra's system. One CAF actor system with its storage (shared WAL, segment
/// writer, meta store) hosting any number of servers of any clusters, each an actor.
/// Servers are driven through ra/api.hpp (blocking) or ra/async_api.hpp (from actors).
class system {
 public:
  /// Opens the data dir: meta store, WAL recovery (recovered WAL files are moved into
  /// segments before any server starts), the directory from the servers' configs, then
  /// starts the WAL and segment writer actors. Fails with api_errc::storage.
  static result<std::unique_ptr<system>> start(system_config cfg);

  /// stop()s the system.
  ~system();
  system(const system&) = delete;             ///< not copyable
  system& operator=(const system&) = delete;  ///< not copyable

  /// Ends every actor and the actor system. Idempotent.
  void stop();
  /// True once stop() ran: actor_system() is gone then.
  bool stopped() const { return stopped_; }

  /// The node name (system_config::name).
  const std::string& name() const;
  /// The data directory (system_config::data_dir).
  const std::string& data_dir() const;
  /// The API refuses bigger commands before sending them (server_defaults'
  /// max_command_bytes; each leader checks its own config's limit too).
  uint64_t max_command_bytes() const;
  /// The CAF actor system the servers run in (gone once stopped()).
  caf::actor_system& actor_system() { return *sys_; }
  /// Adds (or replaces) the machine factory registered as `name` (system_config::machines).
  void register_machine(const std::string& name, machine_factory f);

  /// Starts a new server (fails with invalid_argument if one with this name exists).
  status start_server(const std::string& cluster_name, const server_id& id, const std::string& machine,
                      std::vector<member> initial_members, std::string machine_args = {});
  /// One new server for start_servers.
  struct server_start_request {
    std::string cluster_name;             ///< the cluster it belongs to
    server_id id;                         ///< its id (node: this system's name)
    std::string machine;                  ///< a registered machine's name
    std::vector<member> initial_members;  ///< the cluster's first configuration, itself included
    std::string machine_args;             ///< handed to the machine's factory
  };
  /// Starts several new servers of this node as start_server does, with their configs
  /// saved together: the syncs in rounds, each directory synced once
  /// (wal/config_store.hpp), instead of a file sync and two directory syncs per server.
  /// start_cluster starts a cluster's members of this node with it. One status per
  /// request, in order; a request refused before saving (invalid, a duplicate name) does
  /// not stop the others.
  std::vector<status> start_servers(std::vector<server_start_request> requests);
  /// Restarts a stopped server from its stored config and log.
  status restart_server(const server_id& id);
  /// Stops a running server (its data is kept).
  status stop_server(const server_id& id, std::chrono::milliseconds timeout = std::chrono::seconds(5));
  /// Stops a server and deletes its data and metadata (Ra's force_delete_server).
  status delete_server(const server_id& id, std::chrono::milliseconds timeout = std::chrono::seconds(5));

  /// The running actor of a server of this process (any system), or null.
  caf::actor lookup(const server_id& id) const;
  /// Names of every server this system knows (running or not).
  std::vector<std::string> known_servers() const;
  /// Whether the server `name` of this system is running.
  bool is_running(const std::string& name) const;
  /// The uid of a known server ("" if unknown).
  std::string uid_of(const std::string& name) const;

  /// Every counter of the system and of its running servers, read at once without
  /// messaging any actor (ra/system_metrics.hpp; ra/prometheus.hpp exports them).
  system_metrics metrics() const;

  /// Ra's overview: the system and each running server's member overview.
  nlohmann::json overview(std::chrono::milliseconds timeout = std::chrono::seconds(5));

 private:
  system() = default;
  status spawn_server(storage::persisted_server_config cfg, std::vector<log_entry> wal_entries = {});

  std::unique_ptr<caf::actor_system_config> caf_cfg_;
  std::unique_ptr<caf::actor_system> sys_;
  std::shared_ptr<detail::system_core> core_;
  std::string wal_dir_;
  bool stopped_ = false;
};

}  // namespace ra
