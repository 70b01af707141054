#pragma once
// Durable per-server Raft metadata for one node: current term, voted_for and
// last_applied for every server, in one append-only file of checksummed records.
//
// Why a log and not a file per server: a node may host thousands of servers, and a vote
// must be durable before it is granted. Appending one small record and syncing is one
// write + one fdatasync, whatever the number of servers; rewriting a file per vote would
// cost a create, a rename and two syncs. The file is compacted (rewritten atomically with
// one record per server) when it grows past a threshold, and on open.
//
// Rules (from Ra): term and voted_for are durable before put_term_vote() returns;
// last_applied is stored lazily (no sync) and callers must never store an index beyond
// the server's durable log.

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>

#include "ra/types.hpp"
#include "io/file.hpp"

namespace ra::storage {

struct server_meta {
  term_t current_term{0};
  std::optional<server_id> voted_for;
  index_t last_applied{0};

  bool operator==(const server_meta&) const = default;
};

class meta_store {
 public:
  /// Opens (creating if needed) `dir`/meta.log. A torn last record is dropped; any other
  /// corruption is an error naming the file and offset.
  static io_result<std::unique_ptr<meta_store>> open(file_system& fs, std::string dir,
                                                      uint64_t compact_after_bytes = 4 << 20);

  /// The stored metadata of server `uid` (defaults if unknown).
  server_meta get(const std::string& uid) const;
  /// Makes term and vote durable (appends and syncs) before returning.
  io_status put_term_vote(const std::string& uid, term_t term, std::optional<server_id> voted_for);
  /// Records last_applied without syncing (it is a hint that speeds up recovery).
  io_status put_last_applied(const std::string& uid, index_t last_applied);
  /// Forgets a server (force_delete_server / delete_cluster). Durable on return.
  io_status remove(const std::string& uid);
  /// Rewrites the file with one record per server (atomic). Called automatically.
  io_status compact();

  size_t server_count() const { return servers_.size(); }
  const std::string& path() const { return path_; }

 private:
  meta_store(file_system& fs, std::string dir, uint64_t compact_after);
  io_status append(const std::string& uid, const server_meta& m, bool removed, bool sync);
  io_status load();

  file_system& fs_;
  std::string dir_, path_;
  uint64_t compact_after_;
  std::unique_ptr<file> file_;
  uint64_t size_ = 0;
  std::map<std::string, server_meta> servers_;
};

}  // namespace ra::storage
