#pragma once
// What a snapshot worker job does (log/durable_log.hpp), and so where its result goes: a
// small header of its own because the runtime's messages carry it.

#include <cstdint>

namespace ra::storage {

enum class storage_job : uint8_t {
  snapshot_write,    ///< a local snapshot: durable_log::on_snapshot_written(result)
  snapshot_install,  ///< a leader's snapshot: durable_log::on_snapshot_installed(result),
                     ///< then server::handle_snapshot_installed(its status)
};

}  // namespace ra::storage
