#pragma once
// A server's configuration kept in its directory, so a server can be restarted from its
// id alone (Ra's <UId>/config): cluster name, id, initial members, the machine to run
// and the tunables. Written atomically (temp file, sync, rename, sync directory; and the
// parent directory when the server's directory is new) as JSON followed by a CRC32C line,
// so it stays readable by people and a damaged file is reported, not half-used.

#include <span>
#include <string>

#include "ra/config.hpp"
#include "io/file.hpp"

namespace ra::storage {

struct persisted_server_config {
  std::string uid;            ///< the server's unique id (its directory and WAL writer name)
  server_config server;       ///< core configuration (rng_seed is not persisted)
  std::string machine;        ///< name of the machine in the node's machine registry
  std::string machine_args;   ///< opaque arguments for it

  bool operator==(const persisted_server_config&) const;
};

/// `dir`/config. Same as save_server_configs with one item.
io_status save_server_config(file_system& fs, const std::string& dir, const persisted_server_config& c);

/// One server's directory and the config to save in it.
struct server_config_item {
  std::string dir;
  const persisted_server_config* config = nullptr;
};

/// Saves many servers' configs (each `dir`/config, directories created as needed) with
/// the syncs done in rounds rather than per server: every temp file is written, then
/// all are fdatasynced, renamed, and every server directory and every parent of a new
/// server directory is synced once. Crash-safe per POSIX like one-at-a-time saving:
/// when this returns, every config (and its directory) is durable; before, a crash
/// leaves each server with its old config, the new one, or none (never a torn file).
/// Cheap because on a journalling file system (ext4, xfs) the first sync of a round
/// commits the journal for all the files and directories of the round, and the later
/// ones find nothing left to do: a batch of N costs about 2 journal commits, not 2N.
/// Use it when starting many servers at once. On failure, some configs may have been
/// saved: the error names the first file that failed.
io_status save_server_configs(file_system& fs, std::span<const server_config_item> items);
/// Reads `dir`/config; a missing, unparsable or checksum-failing file is an error naming it.
io_result<persisted_server_config> load_server_config(file_system& fs, const std::string& dir);

}  // namespace ra::storage
