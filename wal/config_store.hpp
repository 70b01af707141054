#pragma once
// A server's configuration kept in its directory, so a server can be restarted from its
// id alone (Ra's <UId>/config): cluster name, id, initial members, the machine to run
// and the tunables. Written atomically (temp file, sync, rename, sync directory) as JSON
// followed by a CRC32C line, so it stays readable by people and a damaged file is
// reported, not half-used.

#include <string>

#include "libra/config.hpp"
#include "wal/file.hpp"

namespace ra::storage {

struct persisted_server_config {
  std::string uid;            ///< the server's unique id (its directory and WAL writer name)
  server_config server;       ///< core configuration (rng_seed is not persisted)
  std::string machine;        ///< name of the machine in the node's machine registry
  std::string machine_args;   ///< opaque arguments for it

  bool operator==(const persisted_server_config&) const;
};

/// `dir`/config
io_status save_server_config(file_system& fs, const std::string& dir, const persisted_server_config& c);
/// Reads `dir`/config; a missing, unparsable or checksum-failing file is an error naming it.
io_result<persisted_server_config> load_server_config(file_system& fs, const std::string& dir);

}  // namespace ra::storage
