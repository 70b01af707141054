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
//
// Thread safety: one writer at a time (the node's meta writer actor, or a deletion), and
// any number of readers: get() never waits for the disk, because it reads the in-memory
// table under its own lock while a writer holds the file lock through write and sync
// (the table changes only once a record is durable).

#include <atomic>
#include <cstdint>
#include <map>
#include <mutex>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "ra/types.hpp"
#include "io/file.hpp"

namespace ra::storage {

struct server_meta {
  term_t current_term{0};
  std::optional<server_id> voted_for;
  index_t last_applied{0};

  bool operator==(const server_meta&) const = default;
};

/// One server's new term and vote, as a batch of put_term_votes carries it.
struct term_vote {
  std::string uid;
  term_t term{0};
  std::optional<server_id> voted_for;
};

/// A server's term and vote on their way to the meta writer actor (the message form of
/// term_vote: CAF 0.17 has no inspect for std::optional). `seq` comes back in the reply.
struct meta_vote_msg {
  uint64_t seq = 0;
  std::string uid;
  term_t term{0};
  bool has_vote = false;
  server_id vote;
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
  /// Group commit: makes every term and vote of `batch` durable with one write and one
  /// sync. All or nothing: on an error none of them counts as stored (get() returns the
  /// previous values), although some may be in the file.
  io_status put_term_votes(std::span<const term_vote> batch);
  /// Records last_applied without syncing (it is a hint that speeds up recovery).
  io_status put_last_applied(const std::string& uid, index_t last_applied);
  /// Forgets a server (force_delete_server / delete_cluster). Durable on return.
  io_status remove(const std::string& uid);
  /// Rewrites the file with one record per server (atomic). Called automatically.
  io_status compact();

  size_t server_count() const;
  /// Syncs made (one per put_term_votes batch, remove, failed or not): group commit shows here.
  uint64_t syncs() const { return syncs_.load(); }
  /// Terms and votes made durable (put_term_vote(s)): with syncs(), the batching achieved.
  uint64_t votes_written() const { return votes_written_.load(); }
  /// Every known server's uid (ra-inspect, tests).
  std::vector<std::string> uids() const;
  const std::string& path() const { return path_; }

 private:
  meta_store(file_system& fs, std::string dir, uint64_t compact_after);
  /// Appends encoded records (and syncs if asked); the caller holds file_mx_.
  io_status append(const std::vector<char>& records, bool sync);
  /// Compacts when the file has grown past the threshold; the caller holds file_mx_.
  io_status compact_if_large();
  io_status compact_locked();
  io_status load();

  file_system& fs_;
  std::string dir_, path_;
  uint64_t compact_after_;
  /// Held by the one writing (append, sync, compact); never by get().
  std::mutex file_mx_;
  std::unique_ptr<file> file_;
  uint64_t size_ = 0;
  std::atomic<uint64_t> syncs_{0};
  std::atomic<uint64_t> votes_written_{0};
  /// Guards servers_: written only with file_mx_ held too, after the disk has the record.
  mutable std::mutex table_mx_;
  std::map<std::string, server_meta> servers_;
};

}  // namespace ra::storage
