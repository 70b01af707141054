#include "sim/invariants.hpp"

#include <sstream>

#include "sim/rng.hpp"

namespace ra::sim {

uint64_t fingerprint(const ra::shared_bytes& command) {
  return hash_bytes(hash_start, command.data(), command.size());
}

uint64_t fingerprint(const ra::log_entry& e) {
  uint64_t h = hash_mix(hash_start, static_cast<uint64_t>(e.kind));
  h = hash_mix(h, static_cast<uint64_t>(e.system_time));
  return hash_bytes(h, e.payload.data(), e.payload.size());
}

void safety_checker::fail(const std::string& invariant, const std::string& details) {
  if (failure_.empty())
    failure_ = invariant + ": " + details;
}

bool safety_checker::on_leader(const std::string& server, uint64_t term) {
  auto [it, inserted] = leader_of_term_.emplace(term, server);
  if (!inserted && it->second != server) {
    fail("election safety", "term " + std::to_string(term) + " has two leaders: " + it->second + " and " + server);
    return false;
  }
  return true;
}

bool safety_checker::on_log_entry(const std::string& server, uint64_t index, uint64_t term, uint64_t fp,
                                  uint64_t prev_term) {
  if (prev_term > term) {
    fail("log matching", server + " holds entry " + std::to_string(index) + " of term " + std::to_string(term) +
                           " after an entry of the later term " + std::to_string(prev_term));
    return false;
  }
  auto [it, inserted] = entries_.try_emplace({index, term}, entry_info{fp, prev_term, server});
  if (inserted)
    return true;
  const entry_info& seen = it->second;
  if (seen.fp != fp) {
    fail("log matching", "entry (index " + std::to_string(index) + ", term " + std::to_string(term) +
                           ") differs between " + seen.first_seen_on + " and " + server);
    return false;
  }
  if (seen.prev_term != prev_term) {
    fail("log matching", "entry (index " + std::to_string(index) + ", term " + std::to_string(term) +
                           ") follows term " + std::to_string(seen.prev_term) + " on " + seen.first_seen_on +
                           " but term " + std::to_string(prev_term) + " on " + server);
    return false;
  }
  return true;
}

bool safety_checker::check_log(const std::string& server, const ra::log_store& log, uint64_t from,
                               const std::function<bool()>& corruption_caught) {
  const uint64_t first = log.first_index().value;
  const uint64_t last = log.last_index().value;
  if (from < first)
    from = first;
  if (from > last)
    return true;
  std::vector<ra::log_entry> entries;
  if (auto st = log.read(ra::index_t{from}, ra::index_t{last}, last - from + 1, entries); !st) {
    if (corruption_caught && corruption_caught())
      return true;
    fail("log matching", server + " cannot read its own log: " + st.error().message);
    return false;
  }
  std::optional<ra::term_t> prev = log.term_at(ra::index_t{from - 1});
  for (const auto& e : entries) {
    if (!prev) {
      fail("log matching", server + " cannot tell the term before its entry " + std::to_string(e.index.value));
      return false;
    }
    if (!on_log_entry(server, e.index.value, e.term.value, fingerprint(e), prev->value))
      return false;
    prev = e.term;
  }
  return true;
}

std::optional<uint64_t> safety_checker::committed_term(uint64_t index) const {
  if (index == 0 || index > committed_.size() || !committed_[index - 1].known)
    return std::nullopt;
  return committed_[index - 1].term;
}

bool safety_checker::on_committed(const std::string& source, uint64_t index, uint64_t term, uint64_t bound_term) {
  if (index == 0)
    return true;
  if (committed_.size() < index)
    committed_.resize(index);
  commit_info& c = committed_[index - 1];
  if (!c.known) {
    c = commit_info{true, term, bound_term, source};
    return true;
  }
  if (c.term != term) {
    fail("committed entries are final",
         "index " + std::to_string(index) + " committed with term " + std::to_string(c.term) + " (" + c.source +
           ") and with term " + std::to_string(term) + " (" + source + ")");
    return false;
  }
  if (bound_term < c.bound_term)
    c.bound_term = bound_term;
  return true;
}

bool safety_checker::on_acknowledged(const std::string& client, uint64_t index, uint64_t term) {
  if (index == 0) {
    fail("acknowledged writes are committed", client + " was acknowledged with index 0");
    return false;
  }
  // The leader replies after applying, so the entry was committed in some term at or
  // before the reply; no bound is known here (the reply carries the entry's term only).
  return on_committed("ack to " + client, index, term, UINT64_MAX);
}

uint64_t safety_checker::check_leader_log(const std::string& server, uint64_t term, const ra::log_store& log,
                                          uint64_t from_index) {
  if (from_index == 0)
    from_index = 1;
  const uint64_t snapshot_index = log.first_index().value - 1;
  for (uint64_t i = from_index; i <= committed_.size(); ++i) {
    const commit_info& c = committed_[i - 1];
    if (!c.known || c.bound_term > term || i <= snapshot_index)
      continue;  // unknown, possibly committed after this leader's term, or compacted (present)
    auto t = log.term_at(ra::index_t{i});
    if (!t || t->value != c.term) {
      std::ostringstream os;
      os << server << ", leader of term " << term << ", lacks committed entry (index " << i << ", term " << c.term
         << ", seen committed by " << c.source << " in term " << c.bound_term << "); its log has "
         << (t ? "term " + std::to_string(t->value) : std::string("nothing")) << " there (last index "
         << log.last_index().value << ")";
      fail("leader completeness", os.str());
      return from_index;
    }
  }
  return committed_.size() + 1;
}

bool safety_checker::on_apply(const std::string& member, uint64_t index, uint64_t term, uint64_t fp) {
  uint64_t& last = last_applied_[member];
  if (index <= last) {
    fail("state-machine safety", member + " applied index " + std::to_string(index) + " after index " +
                                   std::to_string(last));
    return false;
  }
  last = index;
  if (applied_.size() < index)
    applied_.resize(index);
  applied_info& a = applied_[index - 1];
  if (!a.known) {
    a = applied_info{true, term, fp, member};
  } else if (a.term != term || a.fp != fp) {
    fail("state-machine safety", member + " applied a different command at index " + std::to_string(index) +
                                   " (term " + std::to_string(term) + ") than " + a.member + " (term " +
                                   std::to_string(a.term) + ")");
    return false;
  }
  return true;
}

void safety_checker::on_machine_reset(const std::string& member) {
  last_applied_[member] = 0;
}

bool safety_checker::on_state(const std::string& member, uint64_t index, uint64_t state_fp) {
  auto [it, fresh] = state_after_.try_emplace(index, state_info{state_fp, member});
  if (!fresh && it->second.fp != state_fp) {
    fail("state-machine determinism", member + " reached another state after applying index " +
                                        std::to_string(index) + " than " + it->second.member);
    return false;
  }
  return true;
}

bool safety_checker::check_snapshot(const std::string& member, uint64_t index, uint64_t state_fp) {
  // The state after the last command at or below the index: entries between it and the
  // index (no-ops, configurations) do not change the machine.
  auto it = state_after_.upper_bound(index);
  if (it == state_after_.begin())
    return true;
  --it;
  ++snapshots_checked_;
  if (it->second.fp != state_fp) {
    fail("snapshot contents", member + "'s snapshot at index " + std::to_string(index) +
                                " does not hold the state of the committed log up to it (the state after index " +
                                std::to_string(it->first) + " on " + it->second.member + ")");
    return false;
  }
  return true;
}

}  // namespace ra::sim
