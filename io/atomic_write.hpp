#pragma once
// Atomic whole-file writes: a reader (or a restart after a crash) sees either the old
// file or the complete new one, never a partial file. Used for small files written in
// one go (the metadata store's compaction, the header of a new WAL file). Files written
// as a stream (segments, snapshots) and the config store's batched round follow the same
// steps in their own code, because they write or sync several files at once.

#include <span>
#include <string>

#include "io/file.hpp"

namespace ra::storage {

/// Writes `data` to `path` atomically: `path + ".tmp"` is created and written, synced
/// with `sync`, renamed to `path`, and the directory is synced. With sync_method::none
/// nothing is synced (the rename is still atomic, but not durable).
io_status write_file_atomically(file_system& fs, const std::string& path, std::span<const char> data,
                                sync_method sync = sync_method::datasync);

}  // namespace ra::storage
