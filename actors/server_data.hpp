#pragma once
// Removing a server's persistent data: its directory (log, snapshots, config), its entry
// in the node's meta store and in the directory of known servers. Used by
// force_delete_server and by members of a deleted cluster.

#include <string>

#include "ra/result.hpp"
#include "ra/expected.hpp"

namespace ra::detail {

struct system_core;

/// Deletes server `name`'s data (uid `uid`). The server must not be running. On failure
/// an api_errc::storage error says what failed (the rest is still attempted).
expected<void, api_error> delete_server_data(system_core& core, const std::string& name, const std::string& uid);

}  // namespace ra::detail
