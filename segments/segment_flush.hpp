#pragma once
// The segment writer's work for one rolled-over WAL file (Ra's ra_log_segment_writer):
// move every server's entries from the closed WAL file into that server's own segment
// files, sync them (and their directories), and only then delete the WAL file. Servers
// are told which segments now hold their entries so they can drop them from memory.
//
// This is the logic; the segment writer actor runs it off the servers' threads.

#include <functional>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "segments/segment_set.hpp"
#include "wal/wal_reader.hpp"
#include "wal/wal_writer.hpp"

namespace ra::storage {

struct segment_flush_result {
  /// New segment files per server uid, in order.
  std::map<std::string, std::vector<segment_ref>> segments;
  /// Servers whose directory no longer exists (deleted): their entries were skipped.
  std::vector<std::string> skipped_servers;
  /// Set if the WAL file could not be fully moved; it is then NOT deleted, so nothing
  /// is lost and a later attempt (or recovery) can redo the work.
  std::optional<std::string> error;
  bool wal_deleted = false;
};

/// `server_dir(uid)` gives a server's directory. Entries of servers without a directory
/// are skipped (the server was deleted), and so are the servers in `already_moved` (an
/// earlier attempt on this file wrote and synced their segments; rewriting them on every
/// retry would fill the disk with copies).
/// A missing WAL file counts as moved: only this function deletes a file handed to the
/// segment writer, after moving all of it, so a retry after a failed directory sync finds
/// it gone and only syncs the directory again.
segment_flush_result flush_wal_file(file_system& fs, const rollover_info& info,
                                    const std::function<std::string(const std::string&)>& server_dir,
                                    const segment_config& config,
                                    const std::set<std::string>& already_moved = {});

}  // namespace ra::storage
