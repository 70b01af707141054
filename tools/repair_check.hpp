#pragma once
// The safety check of `ra-inspect --repair` on a WAL file (docs/ra-inspect.md,
// "Repairing a file"): which entries cutting the file at an offset drops, and whether
// any of them is, or may be, committed.
//
// Why it is needed: the WAL is shared by every server of a node, and in a one-process
// cluster every member's copy of an entry sits in the same file. Cutting it can then
// drop an entry from a majority of its cluster: a committed, acknowledged entry that no
// other node keeps. Even one member losing a committed entry is unsafe in Raft (its vote
// can elect a candidate that lacks the entry), so the check refuses whenever a dropped
// entry is or may be committed, and says where other copies may be.
//
// An entry (server W, index i) is judged from what the node's data directory records:
//   * committed: i <= the last_applied (meta store) of W or of another member of W's
//     cluster on this node;
//   * may be committed: the voters that may hold i are a majority of W's cluster. A voter
//     on another node, or on this node without a readable config, may hold anything; a
//     voter on this node holds i at most if its highest index anywhere on the node (every
//     WAL file, its segments, its newest snapshot) reaches i;
//   * unknown, so treated as may be committed: W has no readable config (cluster
//     unknown), W is not in its cluster's last known members, the writer's declaration
//     record is damaged, or bytes in the cut range hold no intact record header at all.
// Otherwise the entry is provably not committed: fewer than a majority can hold it. The
// cut is still refused when the meta store cannot be read: its absence also says the data
// directory may not be this WAL's node's, and then nothing above can be trusted.
// Membership is the newest snapshot's, else the config's initial members: changes after
// that are in the log, which this check does not replay.

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "io/file.hpp"

namespace ra::inspect {

/// Every server's last_applied, from the meta store, by uid.
using last_applied_map = std::map<std::string, uint64_t>;

/// Consecutive indexes of one writer that the cut drops, all judged alike.
struct dropped_run {
  std::string writer;  ///< uid; empty when the writer's declaration record is damaged
  uint64_t first = 0, last = 0;
  bool at_risk = false;  ///< committed or may be: dropping them may lose acknowledged data
  std::string why;
};

/// Bytes in the cut range where no intact record header starts (damaged headers):
/// what they held is unknown.
struct unidentified_bytes {
  uint64_t from = 0, to = 0;  ///< [from, to)
};

struct cut_assessment {
  std::vector<dropped_run> runs;  ///< by writer, then index
  std::vector<unidentified_bytes> unidentified;
  /// Why the meta store could not be used; set only when something would be dropped.
  std::optional<std::string> meta_problem;

  bool drops_nothing() const { return runs.empty() && unidentified.empty(); }
  /// True when nothing dropped is or may be committed and the meta store was read.
  bool safe() const;
};

/// What ra-inspect knows about the node a WAL file belongs to.
struct node_context {
  std::optional<std::string> data_dir;  ///< empty when it cannot be told (see --data-dir)
  std::optional<last_applied_map> last_applied;
  std::string meta_problem;  ///< why last_applied is empty
};

/// Judges cutting the WAL file `wal_path` at `cut` (everything from `cut` to the end
/// is dropped, valid records after damage included). Reads only.
storage::io_result<cut_assessment> assess_wal_cut(const std::string& wal_path, uint64_t cut, const node_context& node);

/// One line per run and unidentified span, each starting with `indent`.
std::string describe(const cut_assessment& a, bool at_risk_only, const std::string& indent);

}  // namespace ra::inspect
