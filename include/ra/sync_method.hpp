#pragma once
// How a file's writes are made durable: a knob of the public storage settings
// (ra/wal_config.hpp), so it lives apart from the file layer (io/file.hpp).

#include <cstdint>

/// Storage: the WAL, segment files, snapshots and their settings.
namespace ra::storage {

/// How a file's writes are made durable.
enum class sync_method : uint8_t {
  datasync,  ///< fdatasync (data and the metadata needed to read it)
  sync,      ///< fsync (data and all metadata)
  none,      ///< no sync: the page cache only (see system_config::allow_unsafe_sync_none)
};

}  // namespace ra::storage
