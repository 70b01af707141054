#pragma once
// The segment writer (Ra's ra_log_segment_writer) as a detached CAF actor: it receives
// rolled-over WAL files from the WAL actor and moves their entries into the servers'
// segment files off the servers' and the WAL's threads (it blocks in write and fsync).
// For each server that got new segments it calls `notify(uid, refs)` (in the runtime:
// a message to the server actor, which then calls durable_log::on_segments). A WAL file
// that could not be moved (full disk...) is kept and retried with back-off, so no entry
// is ever only in a deleted file.

#include <functional>
#include <string>
#include <vector>

#include <caf/actor.hpp>
#include <caf/actor_system.hpp>
#include <caf/atom.hpp>

#include "segments/segment_flush.hpp"
#include "wire/atoms.hpp"    // seg_*_atom
#include "wire/storage.hpp"  // rollover_info

namespace ra::storage {

struct segment_writer_config {
  file_system* fs = nullptr;  ///< default: file_system::posix()
  segment_config segments;
  /// A server's directory from its uid ("" if the server is unknown).
  std::function<std::string(const std::string& uid)> server_dir;
  /// Called (on the segment writer's thread) for each server with new segments.
  std::function<void(const std::string& uid, std::vector<segment_ref> refs)> notify;
  /// Called (on the segment writer's thread) when a WAL file could not be moved yet.
  std::function<void(const std::string& message)> on_error;
  /// Called (on the segment writer's thread) after every attempt to move a WAL file,
  /// successful or not (the runtime counts them for its metrics).
  std::function<void(const segment_flush_result&)> on_flushed;
};

/// Also answers `get_atom` with the number of WAL files still waiting to be moved (0
/// once everything submitted before the request is done).
/// `detached = false` runs it as an ordinary scheduled actor instead: only for CAF's
/// deterministic test scheduler, which cannot drive actors on their own threads.
caf::actor spawn_segment_writer(caf::actor_system& sys, segment_writer_config config, bool detached = true);

/// Hands a rolled-over WAL file to the segment writer (safe from any thread, e.g. the
/// WAL actor's on_rollover callback).
void submit_rollover(const caf::actor& segment_writer, rollover_info info);

}  // namespace ra::storage
