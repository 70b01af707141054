// Wing & Gong's linearizability search with Lowe's memoisation, as in knossos.wgl and
// Porcupine: the history becomes a doubly-linked list of call/return entries; the search
// repeatedly picks a call that is still minimal (no return precedes it), applies it to the
// register model, "lifts" it out of the list and restarts from the head; when it meets a
// return whose call was not linearized yet, it backtracks. Each (set of linearized ops,
// register state) pair is explored at most once.
//
// Unknown-outcome operations (:info, or never completed) have no return entry, i.e. an
// infinite return time. The search succeeds once every *completed* operation is linearized,
// so an unknown operation is free to take effect anywhere after its invoke or never at all.
//
// Canonical form (Lowe's "just in time" idea for unknown ops). If a history has a
// linearization, it has one in which every unknown-outcome op U is immediately followed
// by an op that observes U's value x: a read of x or a cas from x. Proof: take any
// linearization and let N be the op right after U. N cannot be a read of, or a cas from,
// a value other than x (it would not apply in state x). If N is a write, or U is last,
// remove U: every other op sees the same state as before (a write ignores the state it
// overwrites), and the real-time order of the others is untouched; U has no return, so
// no op had to follow it, and leaving it out means "it never took effect". Each removal
// shortens the sequence and completed ops are never removed, so repeating ends in the
// canonical form. Hence the search may (1) drop unknown ops whose value no op in the
// history observes (repeatedly), and (2) after linearizing an unknown op, allow only a
// read or a cas as the next op (`obliged`); both keep the verdict exact, with or without
// unique write values, and cut the 2^k subsets of k concurrent unknown ops down to those
// whose values are actually observed.

#include "lincheck/checker.hpp"

#include <algorithm>
#include <chrono>
#include <cstddef>
#include <limits>
#include <optional>
#include <stdexcept>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

namespace ra::lincheck {

const char* to_string(verdict v) {
  switch (v) {
    case verdict::linearizable: return "linearizable";
    case verdict::not_linearizable: return "not-linearizable";
    case verdict::timeout: return "timeout";
  }
  return "unknown";
}

namespace {

using register_state = std::optional<int64_t>;  // empty = nil (never written)

struct operation {
  op_kind f = op_kind::read;
  /// read: the value it returned; write: the value written; cas: the expected value.
  register_state argument;
  int64_t cas_to = 0;
  /// Completed with :ok, so it must be linearized; otherwise its outcome is unknown.
  bool must_linearize = true;
};

/// Applies `op` to the register; empty if the op is not legal in `state`.
std::optional<register_state> apply_to_register(const operation& op,
                                                const register_state& state) {
  switch (op.f) {
    case op_kind::read:
      if (state != op.argument) return std::nullopt;
      return state;
    case op_kind::write: return register_state{op.argument};
    case op_kind::cas:
      if (state != op.argument) return std::nullopt;
      return register_state{op.cas_to};
  }
  return std::nullopt;
}

struct timed_operation {
  operation op;
  std::size_t call_time = 0;                  // index of the invoke event
  std::optional<std::size_t> return_time;     // index of the :ok event; empty = infinity
};

[[noreturn]] void malformed(std::size_t event_index, const std::string& why) {
  throw std::invalid_argument("malformed history at event " + std::to_string(event_index) +
                              ": " + why);
}

/// The value an op leaves in the register when it takes effect.
register_state written_value(const operation& op) {
  return op.f == op_kind::cas ? register_state{op.cas_to} : op.argument;
}

/// Drops the unknown-outcome ops whose value no op could observe (no read of it, no cas
/// from it), until none is left: by the canonical form (top of this file) such an op is
/// in no canonical linearization, so the verdict does not change.
std::vector<timed_operation> drop_unobserved_unknowns(std::vector<timed_operation> operations) {
  while (true) {
    std::unordered_map<int64_t, std::size_t> observers;  // value -> ops reading / cas-ing from it
    std::size_t nil_observers = 0;
    for (const timed_operation& t : operations) {
      if (t.op.f == op_kind::write) continue;
      if (t.op.argument) ++observers[*t.op.argument];
      else ++nil_observers;
    }
    const auto observed = [&](const register_state& v) {
      if (!v) return nil_observers > 0;
      const auto found = observers.find(*v);
      return found != observers.end() && found->second > 0;
    };
    std::vector<timed_operation> kept;
    kept.reserve(operations.size());
    for (const timed_operation& t : operations) {
      if (t.op.must_linearize || observed(written_value(t.op))) kept.push_back(t);
    }
    if (kept.size() == operations.size()) return kept;
    operations = std::move(kept);
  }
}

/// Pairs invokes with completions. :fail operations did not take effect and :info / never
/// completed reads constrain nothing, so all of those are dropped here.
std::vector<timed_operation> collect_operations(const history& h) {
  struct pending_call {
    std::size_t time;
    event invocation;
  };
  std::unordered_map<int, pending_call> pending_by_process;
  std::vector<timed_operation> operations;

  const auto keep = [&](const event& invocation, std::size_t call_time,
                        std::optional<std::size_t> return_time, const event* completion) {
    timed_operation timed;
    timed.call_time = call_time;
    timed.return_time = return_time;
    timed.op.f = invocation.f;
    timed.op.must_linearize = return_time.has_value();
    if (invocation.f == op_kind::read) {
      timed.op.argument = completion->value;
    } else {
      // Completions of writes and cas echo the operand (or say `:timed-out`): the invoke
      // is the authoritative source.
      if (invocation.f == op_kind::write && !invocation.value) {
        malformed(call_time, "a write without a value");
      }
      timed.op.argument = invocation.value;
      timed.op.cas_to = invocation.cas_to;
    }
    operations.push_back(timed);
  };

  for (std::size_t time = 0; time < h.size(); ++time) {
    const event& ev = h[time];
    if (ev.type == event_type::invoke) {
      const bool inserted = pending_by_process.try_emplace(ev.process, time, ev).second;
      if (!inserted) {
        malformed(time, "process " + std::to_string(ev.process) +
                            " invoked while its previous operation is still pending");
      }
      continue;
    }
    const auto found = pending_by_process.find(ev.process);
    if (found == pending_by_process.end()) {
      malformed(time, "process " + std::to_string(ev.process) + " completed without an invoke");
    }
    const pending_call call = found->second;
    pending_by_process.erase(found);
    if (call.invocation.f != ev.f) malformed(time, "completion of a different operation");

    switch (ev.type) {
      case event_type::ok: keep(call.invocation, call.time, time, &ev); break;
      case event_type::info:
        if (ev.f != op_kind::read) keep(call.invocation, call.time, std::nullopt, &ev);
        break;
      case event_type::fail:
      case event_type::invoke: break;
    }
  }
  // A call that never completed is as unknown as an :info one.
  for (const auto& [process, call] : pending_by_process) {
    if (call.invocation.f != op_kind::read) {
      keep(call.invocation, call.time, std::nullopt, &call.invocation);
    }
  }
  return drop_unobserved_unknowns(std::move(operations));
}

/// A set of operation ids; one bit per operation.
class op_set {
 public:
  explicit op_set(std::size_t size) : words_((size + 63) / 64, 0) {}
  void insert(std::size_t id) { words_[id / 64] |= bit(id); }
  void erase(std::size_t id) { words_[id / 64] &= ~bit(id); }
  const std::vector<uint64_t>& words() const { return words_; }

 private:
  static uint64_t bit(std::size_t id) { return uint64_t{1} << (id % 64); }
  std::vector<uint64_t> words_;
};

/// SplitMix64's finaliser: every input bit affects every output bit, which a plain XOR of
/// the words would not (sets differing in symmetric ways would collide).
uint64_t mix(uint64_t x) {
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

/// The memo of (set of linearized ops, register value) pairs already explored.
///
/// Stored flat rather than as a node-based set: the search inserts on nearly every step,
/// so one allocation per pair would dominate both time and memory. Each pair is a record
/// of fixed size in one arena; an open-addressing table holds (hash tag, record index).
/// Memory is bounded by a budget: once spent, new pairs are no longer remembered, which
/// makes the search slower (it may revisit) but never wrong.
class explored_states {
 public:
  explored_states(std::size_t set_words, std::size_t budget_bytes)
      : set_words_(set_words), record_words_(set_words + 2), budget_bytes_(budget_bytes) {}

  /// Remembers the pair; false if it had been remembered before.
  bool insert(const op_set& linearized, const register_state& value, bool obliged) {
    const uint64_t flags = (value.has_value() ? 1 : 0) | (obliged ? 2 : 0);
    const uint64_t hash = hash_of(linearized.words().data(), value, flags);
    if (!slots_.empty()) {
      const std::size_t mask = slots_.size() - 1;
      for (std::size_t i = hash & mask; slots_[i] != empty_slot; i = (i + 1) & mask) {
        if (tag_of(slots_[i]) == tag_of(hash) &&
            record_equals(record_of(slots_[i]), linearized, value, flags)) {
          return false;
        }
      }
    }
    if (!make_room()) return true;
    const auto record_index = static_cast<uint32_t>(count_);
    records_.push_back(value.value_or(0));
    records_.push_back(flags);
    records_.insert(records_.end(), linearized.words().begin(), linearized.words().end());
    ++count_;
    place(hash, record_index);
    return true;
  }

 private:
  static constexpr uint64_t empty_slot = 0;

  // A slot keeps the hash's upper half as a tag (most mismatches are rejected without
  // touching the arena) and the record index plus one (so that 0 means empty).
  static uint64_t tag_of(uint64_t slot_or_hash) { return slot_or_hash >> 32; }
  static std::size_t record_of(uint64_t slot) { return (slot & 0xffffffffULL) - 1; }

  uint64_t hash_of(const uint64_t* set_words, const register_state& value, uint64_t flags) const {
    uint64_t hash = value ? mix(static_cast<uint64_t>(*value)) : 0x6e696cULL;  // "nil"
    hash = mix(hash ^ flags);
    for (std::size_t i = 0; i < set_words_; ++i) hash = mix(hash ^ set_words[i]);
    return hash;
  }

  uint64_t hash_of_record(std::size_t record) const {
    const uint64_t* r = &records_[record * record_words_];
    return hash_of(r + 2, (r[1] & 1) ? register_state{static_cast<int64_t>(r[0])} : std::nullopt, r[1]);
  }

  bool record_equals(std::size_t record, const op_set& linearized, const register_state& value,
                     uint64_t flags) const {
    const uint64_t* r = &records_[record * record_words_];
    if (r[1] != flags) return false;
    if (value && static_cast<int64_t>(r[0]) != *value) return false;
    return std::equal(r + 2, r + record_words_, linearized.words().begin());
  }

  void place(uint64_t hash, uint32_t record_index) {
    const std::size_t mask = slots_.size() - 1;
    std::size_t i = hash & mask;
    while (slots_[i] != empty_slot) i = (i + 1) & mask;
    slots_[i] = (tag_of(hash) << 32) | (uint64_t{record_index} + 1);
  }

  std::size_t bytes_with(std::size_t record_capacity_words, std::size_t slot_count) const {
    return (record_capacity_words + slot_count) * sizeof(uint64_t);
  }

  /// Ensures one more record fits (table at most half full); false if over budget.
  bool make_room() {
    if (full_) return false;
    if (count_ + 1 >= std::numeric_limits<uint32_t>::max()) {
      full_ = true;
      return false;
    }

    std::size_t record_capacity = records_.capacity();
    if (records_.size() + record_words_ > record_capacity) {
      record_capacity = std::max<std::size_t>(2 * record_capacity, 1024 * record_words_);
    }
    std::size_t slot_count = slots_.size();
    if (2 * (count_ + 1) > slot_count) slot_count = std::max<std::size_t>(2 * slot_count, 1024);
    if (bytes_with(record_capacity, slot_count) > budget_bytes_) {
      full_ = true;
      return false;
    }

    records_.reserve(record_capacity);
    if (slot_count != slots_.size()) {
      slots_.assign(slot_count, empty_slot);
      for (std::size_t record = 0; record < count_; ++record) {
        place(hash_of_record(record), static_cast<uint32_t>(record));
      }
    }
    return true;
  }

  std::size_t set_words_;
  std::size_t record_words_;  ///< value, flags (has value, obliged), then the set's words
  std::size_t budget_bytes_;
  std::vector<uint64_t> records_;
  std::vector<uint64_t> slots_;
  std::size_t count_ = 0;
  bool full_ = false;
};

/// One node of the call/return list.
struct entry {
  std::size_t op_id = 0;
  bool is_call = true;
  entry* match = nullptr;  ///< call: its return entry (null = returns at infinity)
  entry* prev = nullptr;
  entry* next = nullptr;
};

/// Removes a call (and its return, if any) from the list; `unlift` restores both. Entries
/// keep their own prev/next, so the removals can be undone in reverse order.
void lift(entry* call) {
  call->prev->next = call->next;
  if (call->next) call->next->prev = call->prev;
  if (entry* ret = call->match) {
    ret->prev->next = ret->next;
    if (ret->next) ret->next->prev = ret->prev;
  }
}

void unlift(entry* call) {
  if (entry* ret = call->match) {
    ret->prev->next = ret;
    if (ret->next) ret->next->prev = ret;
  }
  call->prev->next = call;
  if (call->next) call->next->prev = call;
}

class deadline_clock {
 public:
  explicit deadline_clock(double seconds)
      : start_(std::chrono::steady_clock::now()), limit_seconds_(seconds) {}
  bool expired() const {
    const std::chrono::duration<double> elapsed = std::chrono::steady_clock::now() - start_;
    return elapsed.count() >= limit_seconds_;
  }

 private:
  std::chrono::steady_clock::time_point start_;
  double limit_seconds_;
};

/// The call/return list of `operations` in time order, behind a head sentinel at index 0.
/// Calls and returns sit at their events' indices, which are distinct, so sorting by time
/// is a total order. Unknown-outcome ops get no return entry. The entries point into the
/// returned vector's buffer, which moving the vector keeps.
std::vector<entry> build_entry_list(const std::vector<timed_operation>& operations) {
  struct timed_entry {
    std::size_t time;
    bool is_call;
    std::size_t op_id;
  };
  std::vector<timed_entry> timeline;
  timeline.reserve(2 * operations.size());
  for (std::size_t id = 0; id < operations.size(); ++id) {
    timeline.push_back({operations[id].call_time, true, id});
    if (operations[id].return_time) timeline.push_back({*operations[id].return_time, false, id});
  }
  std::sort(timeline.begin(), timeline.end(),
            [](const timed_entry& a, const timed_entry& b) { return a.time < b.time; });

  std::vector<entry> entries(timeline.size() + 1);
  std::vector<entry*> call_of_op(operations.size(), nullptr);
  for (std::size_t i = 0; i < timeline.size(); ++i) {
    entry& e = entries[i + 1];
    e.op_id = timeline[i].op_id;
    e.is_call = timeline[i].is_call;
    e.prev = &entries[i];
    entries[i].next = &e;
    if (e.is_call) call_of_op[e.op_id] = &e;
    else call_of_op[e.op_id]->match = &e;  // the call precedes its return in time
  }
  return entries;
}

}  // namespace

verdict check_register(const history& h, const check_options& opts) {
  const deadline_clock deadline(opts.timeout_seconds);
  const std::vector<timed_operation> operations = collect_operations(h);
  std::vector<entry> entries = build_entry_list(operations);
  entry* const head = &entries[0];
  auto required_left = static_cast<std::size_t>(
      std::count_if(operations.begin(), operations.end(),
                    [](const timed_operation& t) { return t.op.must_linearize; }));

  struct choice {
    entry* call;
    register_state state_before;
    bool obliged_before;
  };
  std::vector<choice> linearized_calls;
  op_set linearized(operations.size());
  register_state value;  // nil: the register starts unset
  // True right after an unknown-outcome op was linearized: the next op must observe its
  // value (a read or a cas, which apply only if they match it), never a write. See the
  // canonical form at the top of this file.
  bool obliged = false;
  explored_states explored(linearized.words().size(), opts.memo_budget_bytes);

  // Reading the clock on every step would dominate small searches.
  constexpr unsigned steps_between_clock_reads = 256;
  unsigned steps_until_clock_read = steps_between_clock_reads;

  entry* cursor = head->next;
  while (required_left > 0) {
    if (--steps_until_clock_read == 0) {
      steps_until_clock_read = steps_between_clock_reads;
      if (deadline.expired()) return verdict::timeout;
    }

    if (cursor == nullptr || !cursor->is_call) {
      // A completed op must be linearized before its return, and none of the calls still
      // minimal can go next (or we ran past the last unknown call): undo the latest choice
      // and try the call after it instead.
      if (linearized_calls.empty()) return verdict::not_linearizable;
      const choice undone = linearized_calls.back();
      linearized_calls.pop_back();
      linearized.erase(undone.call->op_id);
      value = undone.state_before;
      obliged = undone.obliged_before;
      if (operations[undone.call->op_id].op.must_linearize) ++required_left;
      unlift(undone.call);
      cursor = undone.call->next;
      continue;
    }

    const operation& op = operations[cursor->op_id].op;
    if (obliged && op.f == op_kind::write) {
      cursor = cursor->next;
      continue;
    }
    if (const auto next_value = apply_to_register(op, value)) {
      const register_state state_before = value;
      const bool obliged_before = obliged;
      linearized.insert(cursor->op_id);
      value = *next_value;
      obliged = !op.must_linearize;
      if (explored.insert(linearized, value, obliged)) {
        linearized_calls.push_back({cursor, state_before, obliged_before});
        if (op.must_linearize) --required_left;
        lift(cursor);
        cursor = head->next;
        continue;
      }
      // This (set, state) pair has been explored already from another order.
      linearized.erase(cursor->op_id);
      value = state_before;
      obliged = obliged_before;
    }
    cursor = cursor->next;
  }
  return verdict::linearizable;
}

}  // namespace ra::lincheck
