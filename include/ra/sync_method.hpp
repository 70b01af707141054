#pragma once
// How a file's writes are made durable: a knob of the public storage settings
// (ra/wal_config.hpp), so it lives apart from the file layer (io/file.hpp).

#include <cstdint>

namespace ra::storage {

enum class sync_method : uint8_t { datasync, sync, none };

}  // namespace ra::storage
