#pragma once
// Removing a server's persistent data: its directory (log, snapshots, config), its entry
// in the node's meta store and in the directory of known servers. Used by
// force_delete_server and by members of a deleted cluster.

#include <string>

#include "ra/result.hpp"
#include "ra/expected.hpp"

namespace ra::detail {

struct system_core;

/// Deletes server `name`'s data (uid `uid`). The server must not be running. Crash-safe
/// in this order: the directory is renamed to a tombstone (`<uid>.deleted`) and the
/// rename made durable; then the meta record goes; then the tombstone's tree. On failure
/// an api_errc::storage error says what failed; a tombstone left behind is finished by
/// the next start (finish_deletions).
expected<void, api_error> delete_server_data(system_core& core, const std::string& name, const std::string& uid);

/// At start, before the server directories are read: removes what deletions interrupted
/// by a crash left (tombstones and their meta records). Failures are logged; the
/// tombstones stay and are never loaded as servers.
void finish_deletions(system_core& core, const std::string& log_name);

/// True for a directory name that is a deleted server's tombstone.
bool is_tombstone(const std::string& dir_name);

std::string tombstone_dir(const system_core& core, const std::string& uid);

}  // namespace ra::detail
