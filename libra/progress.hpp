#pragma once
// The leader's view of one follower's log (etcd's tracker.Progress, dragonboat's remote):
// how far it is known to match (`match`), what to send next (`next`), and in which of
// three states the leader sends to it. Every transition owns its resets, so no state is
// left half-cleared.
//
//   replicate: the normal case. AppendEntries are pipelined (up to max_inflight entries
//              unacknowledged) and `next` advances optimistically as they are sent.
//   probe:     after a rejection (or a stall): one AE at a time until one succeeds, so a
//              burst of in-flight AEs failing the same way causes no resend storm.
//   snapshot:  `next` fell below the leader's log: a snapshot is sent in chunks; no AEs.
//
// A rejection below `match` proves the follower lost entries it had acknowledged (it was
// re-created, lost unsynced writes, or acknowledged a snapshot install that failed):
// `match` is forgotten so the leader neither counts the follower towards commit nor
// sends it the same AE forever (the repair loop of review finding F2).

#include <cstdint>
#include <memory>

#include "libra/log_store.hpp"
#include "ra/types.hpp"

namespace ra {

class progress {
 public:
  enum class state : uint8_t { probe, replicate, snapshot };

  /// A snapshot being sent: which one, how far, and the stall/back-off bookkeeping.
  struct snapshot_send {
    snapshot_ref snap;  ///< no bytes: each chunk is read from the log store when sent
    uint32_t chunks_acked = 0;
    bool progressed = true;       ///< a chunk was acknowledged since the last tick
    uint32_t stalled_ticks = 0;
    uint32_t retries = 0;         ///< restarts since the last progress (back-off exponent)
  };

  /// A new leader starts optimistic (replicate) from the end of its log.
  explicit progress(index_t next) : next_(next) {}

  state current() const { return state_; }
  index_t match() const { return match_; }
  index_t next() const { return next_; }
  /// Entries sent but not acknowledged.
  uint64_t in_flight() const { return next_ - match_ - 1; }
  /// Whether no AE may be sent now: the pipeline window is full, a probe is out, or a
  /// snapshot is being sent.
  bool is_paused(uint64_t max_inflight) const;

  /// AEs carrying entries up to `last` were sent.
  void sent_entries(index_t last);

  /// A success: the follower holds `index` and it matches our log (`matches` false: the
  /// reply's term disagrees with ours, so only the state changes). Leaves probe and
  /// snapshot for replicate. True if `match` moved.
  bool on_accept(index_t index, bool matches);
  /// A rejection asking to resume at `hint`. False if it was stale and ignored.
  bool on_reject(index_t hint);

  /// Enters the snapshot state.
  void become_snapshot(snapshot_ref snap);
  /// Leaves the snapshot state after the whole snapshot was acknowledged: the follower
  /// holds `match`; AEs resume after it.
  void snapshot_done(index_t match);
  /// Leaves the snapshot state because the follower needs none: probe from `resume`.
  void snapshot_not_needed(index_t resume);
  snapshot_send* sending() { return snap_.get(); }

  /// Lost AEs or replies (no progress for a tick): resend from the match point.
  void rewind();
  /// Tick bookkeeping: true if `match` did not move since the previous call.
  bool stalled_since_last_tick();
  /// The follower is fully caught up: it counts as progressing.
  void caught_up() { match_at_tick_ = match_; }

  index_t commit_sent() const { return commit_sent_; }
  void set_commit_sent(index_t i) { commit_sent_ = i; }

 private:
  void become_replicate();
  void become_probe(index_t next);

  state state_ = state::replicate;
  bool probe_sent_ = false;
  index_t match_{0};
  index_t next_{1};
  index_t match_at_tick_{0};
  index_t commit_sent_{0};
  std::unique_ptr<snapshot_send> snap_;  ///< set exactly in the snapshot state
};

}  // namespace ra
