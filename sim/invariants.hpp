#pragma once
// Raft's safety properties, checked from observations the simulator makes after every
// event. The checker holds only what it was told, so tests can feed it fabricated
// observations and watch it object.
//
//  - election safety: at most one leader per term, across the whole run;
//  - log matching: an (index, term) pair names one entry everywhere (same content, same
//    predecessor term), and terms never decrease along a log; by induction two logs that
//    agree at an index agree on everything before it;
//  - leader completeness: every entry known committed is in the log of every leader of a
//    term at or after the one in which it was seen committed;
//  - state-machine safety: every member applies the same command at each index, in
//    increasing index order;
//  - durability of acknowledgements: an acknowledged command's (index, term) is the entry
//    committed at that index, forever.

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "ra/log_entry.hpp"
#include "libra/log_store.hpp"

namespace ra::sim {

/// A 64-bit fingerprint of an entry's content (kind, timestamp, payload).
uint64_t fingerprint(const ra::log_entry& e);
uint64_t fingerprint(const ra::shared_bytes& command);

class safety_checker {
 public:
  bool ok() const { return failure_.empty(); }
  /// "<invariant>: <details>" of the first violation, empty if none.
  const std::string& failure() const { return failure_; }

  /// `server` is leader (or await_condition) in `term`.
  bool on_leader(const std::string& server, uint64_t term);
  /// `server`'s log holds entry (index, term) with content `fp` after an entry of `prev_term`.
  bool on_log_entry(const std::string& server, uint64_t index, uint64_t term, uint64_t fp, uint64_t prev_term);
  /// Checks entries [from, last_index] of `log` (clamped to what it holds) with on_log_entry.
  /// `corruption_caught()`, if given, says whether a read error is the disk's corruption
  /// caught by a checksum (the server will stop on it) rather than a broken log.
  bool check_log(const std::string& server, const ra::log_store& log, uint64_t from = 0,
                 const std::function<bool()>& corruption_caught = {});

  /// Entry (index, term) is committed; `bound_term` is a term at or after the one in which
  /// it was committed (the observer's current term): leaders of terms >= bound_term must
  /// hold it. Pass UINT64_MAX when no such bound is known (the entry is still checked
  /// against every other observation of that index).
  bool on_committed(const std::string& source, uint64_t index, uint64_t term, uint64_t bound_term);
  /// A client was told its command landed at (index, term) and succeeded.
  bool on_acknowledged(const std::string& client, uint64_t index, uint64_t term);
  /// Leader completeness for `server`, leader of `term`, whose log is `log`: committed
  /// entries with index >= from_index. Returns the index to resume from next time.
  uint64_t check_leader_log(const std::string& server, uint64_t term, const ra::log_store& log,
                            uint64_t from_index = 1);
  /// Highest index known committed.
  uint64_t committed_index() const { return committed_.size(); }
  /// Term of the committed entry at `index`, if known.
  std::optional<uint64_t> committed_term(uint64_t index) const;

  /// `member` applied command `fp` of entry (index, term).
  bool on_apply(const std::string& member, uint64_t index, uint64_t term, uint64_t fp);
  /// `member`'s machine was reset (restart, snapshot): its next apply may be at any index.
  void on_machine_reset(const std::string& member);
  /// After applying the command at `index`, `member`'s machine state serializes to bytes
  /// with fingerprint `state_fp`: every member must reach the same state there.
  bool on_state(const std::string& member, uint64_t index, uint64_t state_fp);
  /// `member` holds a snapshot at `index` whose state has fingerprint `state_fp`: it must be
  /// the state that applying the committed log up to `index` gives (as seen by on_state).
  /// Unchecked (true) while no member has reported a state at or below `index`.
  bool check_snapshot(const std::string& member, uint64_t index, uint64_t state_fp);
  uint64_t snapshots_checked() const { return snapshots_checked_; }

  /// Marks a failure found elsewhere (liveness, linearizability ...).
  void fail(const std::string& invariant, const std::string& details);

  size_t leaders_seen() const { return leader_of_term_.size(); }

 private:
  struct entry_info {
    uint64_t fp = 0;
    uint64_t prev_term = 0;
    std::string first_seen_on;
  };
  struct commit_info {
    bool known = false;
    uint64_t term = 0;
    uint64_t bound_term = UINT64_MAX;
    std::string source;
  };
  struct applied_info {
    bool known = false;
    uint64_t term = 0;
    uint64_t fp = 0;
    std::string member;
  };
  struct pair_hash {
    size_t operator()(const std::pair<uint64_t, uint64_t>& p) const noexcept {
      return std::hash<uint64_t>{}(p.first * 0x9e3779b97f4a7c15ULL ^ p.second);
    }
  };

  std::string failure_;
  std::map<uint64_t, std::string> leader_of_term_;
  std::unordered_map<std::pair<uint64_t, uint64_t>, entry_info, pair_hash> entries_;
  std::vector<commit_info> committed_;  // [i-1]: index i
  std::vector<applied_info> applied_;   // [i-1]: index i
  std::map<std::string, uint64_t> last_applied_;  // per member, 0 after a reset
  struct state_info {
    uint64_t fp = 0;
    std::string member;
  };
  std::map<uint64_t, state_info> state_after_;  // by command index
  uint64_t snapshots_checked_ = 0;
};

}  // namespace ra::sim
