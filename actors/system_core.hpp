#pragma once
// Internal: what a ra::system shares with its server actors (the node's meta store,
// WAL and segment writer actors, the directory of servers and the machine registry).
// Server actors hold a shared_ptr to it; everything mutable is guarded by a mutex.

#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include <caf/actor.hpp>
#include <caf/actor_system.hpp>

#include "libra/config.hpp"
#include "libra/machine.hpp"
#include "segments/segment_file.hpp"
#include "wal/file.hpp"
#include "wal/meta_store.hpp"

namespace ra {

/// Builds a machine from the opaque arguments stored in the server's config.
using machine_factory = std::function<std::unique_ptr<machine>(const std::string& args)>;

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
  caf::actor_system* sys = nullptr;

  std::mutex meta_mx;  ///< the meta store is shared by every server actor
  std::unique_ptr<storage::meta_store> meta;

  caf::actor wal;
  caf::actor segment_writer;

  mutable std::mutex mx;  ///< guards machines and directory
  std::map<std::string, machine_factory> machines;
  std::map<std::string, server_entry> directory;  ///< by server name

  std::string server_dir(const std::string& uid) const { return data_dir + "/" + uid; }
  /// The running actor of local server `name` (null if none).
  caf::actor find(const std::string& name) const;
  caf::actor find_by_uid(const std::string& uid) const;
  /// Clears `name`'s actor if it is still `who` (on the actor's exit).
  void forget_actor(const std::string& name, const caf::actor_addr& who);

  /// The actor of server `id` in this process: this system's directory if id.node is
  /// our name, else the system registered under id.node (several systems may run in one
  /// process). Null if unknown or not running.
  caf::actor resolve(const server_id& id) const;
};

/// Process-wide registry of running systems by node name.
void register_system(const std::shared_ptr<system_core>& core);
void unregister_system(const std::string& name);
std::shared_ptr<system_core> find_system(const std::string& name);

}  // namespace detail
}  // namespace ra
