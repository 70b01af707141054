#include "tools/ra-nemesis/nemesis.hpp"

#include <algorithm>
#include <set>
#include <thread>

#include "ra/api.hpp"

namespace ra::nemesis {

using namespace std::chrono_literals;
using steady = std::chrono::steady_clock;

const std::vector<std::string>& all_fault_kinds() {
  static const std::vector<std::string> kinds{"kill", "pause", "partition", "delay", "transfer", "membership", "disk"};
  return kinds;
}

nemesis::nemesis(cluster& c, std::vector<std::string> kinds, uint64_t seed)
    : c_{c}, kinds_{std::move(kinds)}, rng_{seed * 7919 + 17} {}

void nemesis::note(const std::string& kind, const std::string& text) {
  if (!kind.empty()) ++counts_[kind];
  log_.push_back({wall_clock::now(), text});
}

std::chrono::milliseconds nemesis::pick(int lo_ms, int hi_ms) {
  return std::chrono::milliseconds{std::uniform_int_distribution<int>{lo_ms, hi_ms}(rng_)};
}

int nemesis::pick_node() { return std::uniform_int_distribution<int>{0, c_.size() - 1}(rng_); }

int nemesis::leader() {
  for (int i = 0; i < c_.size(); ++i) {
    if (!c_.node(i).running() || c_.node(i).paused) continue;
    if (std::find(removed_.begin(), removed_.end(), i) != removed_.end()) continue;
    if (auto m = members(c_.client(), c_.server(i), 300ms); m && !m->leader.empty()) return c_.index_of(m->leader);
  }
  return -1;
}

void nemesis::hold(std::chrono::milliseconds d, steady::time_point until) {
  const auto end = std::min(steady::now() + d, std::max(until, steady::now() + 500ms));
  std::this_thread::sleep_until(end);
}

bool nemesis::enabled(const std::string& kind) const {
  return std::find(kinds_.begin(), kinds_.end(), kind) != kinds_.end();
}

void nemesis::hold_during_fault(std::chrono::milliseconds d, steady::time_point until) {
  // In a third of the faults a leader transfer or a membership change happens in the
  // middle of it (the removed member rejoins when the fault is healed).
  const bool transfer = enabled("transfer"), change = enabled("membership");
  if ((!transfer && !change) || std::uniform_int_distribution<int>{0, 2}(rng_) != 0) return hold(d, until);
  hold(d / 2, until);
  if (transfer && (!change || std::uniform_int_distribution<int>{0, 1}(rng_) == 0))
    transfer_leader("transfer-during-fault");
  else
    remove_one_member("membership-remove-during-fault");
  hold(d - d / 2, until);
}

void nemesis::transfer_leader(const std::string& kind) {
  const int l = leader();
  if (l < 0) return note("", "transfer: no leader known");
  int t = pick_node();
  while (t == l || std::find(removed_.begin(), removed_.end(), t) != removed_.end()) t = pick_node();
  auto st = transfer_leadership(c_.client(), c_.server(l), c_.server(t), 2s);
  note(kind, "transfer leadership " + c_.node(l).name + " -> " + c_.node(t).name +
                 (st ? "" : " (refused: " + st.error().to_string() + ")"));
}

void nemesis::remove_one_member(const std::string& kind) {
  const int l = leader();
  if (l < 0) return note("", "membership: no leader known");
  if (!removed_.empty()) return note("", "membership: a member is out already");
  int x = pick_node();
  while (x == l) x = pick_node();
  auto st = leave_and_delete_server(c_.client(), c_.server(l), c_.server(x), 5s);
  note(kind, "remove " + c_.server(x).to_string() + (st ? "" : " (failed: " + st.error().to_string() + ")"));
  // Even a failed call may have removed it: restore_members finds out.
  removed_.push_back(x);
}

void nemesis::one_fault(steady::time_point until) {
  const auto& kind = kinds_[std::uniform_int_distribution<size_t>{0, kinds_.size() - 1}(rng_)];
  const int n = c_.size();
  const int variant = std::uniform_int_distribution<int>{0, 3}(rng_);
  if (kind == "kill") {
    std::set<int> victims;
    std::string what;
    const int l = leader();
    if (variant == 0 && l >= 0) {
      victims = {l}, what = "kill-leader";
    } else if (variant == 1) {
      while (static_cast<int>(victims.size()) < n / 2 + 1) victims.insert(pick_node());
      what = "kill-majority";
    } else {
      victims = {pick_node()}, what = "kill";
    }
    std::string names;
    for (int v : victims) names += " " + c_.node(v).name;
    if (victims.count(l)) leader_losses_.push_back(wall_clock::now());
    for (int v : victims) c_.node(v).kill9();
    note(what, what + ":" + names);
    hold_during_fault(pick(500, 4000), until);
    for (int v : victims) c_.restart(v);
    note("", "restarted" + names);
  } else if (kind == "pause") {
    const int l = leader();
    const int v = variant < 2 && l >= 0 ? l : pick_node();
    if (v == l) leader_losses_.push_back(wall_clock::now());
    c_.node(v).pause();
    note(v == l ? "pause-leader" : "pause", "SIGSTOP " + c_.node(v).name + (v == l ? " (leader)" : ""));
    hold_during_fault(pick(1500, 5000), until);
    c_.node(v).resume();
    note("", "SIGCONT " + c_.node(v).name);
  } else if (kind == "partition") {
    std::set<int> a, b;
    std::string what;
    const int l = leader();
    if (variant == 0) {  // a random majority and the rest
      std::vector<int> order(static_cast<size_t>(n));
      for (int i = 0; i < n; ++i) order[static_cast<size_t>(i)] = i;
      std::shuffle(order.begin(), order.end(), rng_);
      for (int i = 0; i < n; ++i) (i < n / 2 + 1 ? a : b).insert(order[static_cast<size_t>(i)]);
      what = "partition-halves";
      c_.cut(a, b);
    } else if (variant == 1 && l >= 0) {  // the leader alone
      a = {l};
      for (int i = 0; i < n; ++i)
        if (i != l) b.insert(i);
      what = "partition-leader";
      leader_losses_.push_back(wall_clock::now());
      c_.cut(a, b);
    } else if (variant == 2) {  // a bridge: two sides that only the bridge node sees both of
      const int bridge = pick_node();
      std::vector<int> rest;
      for (int i = 0; i < n; ++i)
        if (i != bridge) rest.push_back(i);
      std::shuffle(rest.begin(), rest.end(), rng_);
      for (size_t i = 0; i < rest.size(); ++i) (i < rest.size() / 2 ? a : b).insert(rest[i]);
      what = "partition-bridge(" + c_.node(bridge).name + ")";
      c_.cut(a, b);
    } else {  // one way: `from`'s bytes to `to` are held
      const int from = pick_node();
      int to = pick_node();
      while (to == from) to = pick_node();
      a = {from}, b = {to};
      what = "partition-one-way";
      c_.block_one_way(from, to);
    }
    std::string text = what + ":";
    for (int i : a) text += " " + c_.node(i).name;
    text += what == "partition-one-way" ? " ->|" : " |";
    for (int i : b) text += " " + c_.node(i).name;
    note(what.substr(0, what.find('(')), text);
    hold_during_fault(pick(1000, 5000), until);
    c_.heal_links();
    note("", "links healed");
  } else if (kind == "delay") {
    const int i = pick_node();
    int j = pick_node();
    while (j == i) j = pick_node();
    const auto d = pick(20, 300);
    c_.delay(i, j, d);
    note("delay", "delay " + c_.node(i).name + " <-> " + c_.node(j).name + " " + std::to_string(d.count()) + " ms");
    hold_during_fault(pick(1000, 4000), until);
    c_.heal_links();
    note("", "links healed");
  } else if (kind == "transfer") {
    transfer_leader("transfer");
    hold(pick(500, 2000), until);
  } else if (kind == "membership") {
    remove_one_member("membership-remove");
    hold(pick(500, 3000), until);
    restore_members();
  } else if (kind == "disk") {
    const int v = pick_node();
    const bool full = variant < 2;
    const auto mode = full ? std::string{"full"} : "slow " + std::to_string(pick(20, 150).count());
    c_.node(v).set_disk(mode);
    note(full ? "disk-full" : "disk-slow", "disk " + c_.node(v).name + ": " + mode);
    hold_during_fault(pick(1000, 4000), until);
    c_.node(v).set_disk("ok");
    note("", "disk " + c_.node(v).name + ": ok");
  }
  if (!removed_.empty()) restore_members();
}

void nemesis::restore_members() {
  for (auto it = removed_.begin(); it != removed_.end();) {
    const int x = *it;
    const auto id = c_.server(x);
    server_id ask;
    for (int i = 0; i < c_.size(); ++i)
      if (i != x && std::find(removed_.begin(), removed_.end(), i) == removed_.end()) ask = c_.server(i);
    if (const int l = leader(); l >= 0 && l != x) ask = c_.server(l);
    auto m = members(c_.client(), ask, 2s);
    if (!m) {
      note("", "rejoin " + id.to_string() + ": members unknown (" + m.error().to_string() + ")");
      ++it;
      continue;
    }
    const bool is_member = std::any_of(m->members.begin(), m->members.end(), [&](auto& e) { return e.id == id; });
    auto presence = server_status_on_node(c_.client(), id, 2s);
    if (is_member && presence && presence->running) {  // the removal did not happen
      note("", id.to_string() + " is still a member");
      it = removed_.erase(it);
      continue;
    }
    if (is_member) {  // removed from its node but not from the cluster: finish the removal
      if (auto r = remove_member(c_.client(), ask, id, 5s); !r) {
        note("", "rejoin " + id.to_string() + ": remove failed (" + r.error().to_string() + ")");
        ++it;
        continue;
      }
    }
    if (presence && presence->known) (void)delete_server_on_node(c_.client(), id, 5s);
    // Rejoins as a promotable member: a non-voter until it has caught up.
    auto r = join_cluster(c_.client(), ask, member{id, membership::promotable, index_t{0}}, 10s);
    note(r ? "membership-join" : "", "join " + id.to_string() + " as promotable" +
                                         (r ? "" : " (failed: " + r.error().to_string() + ")"));
    it = r ? removed_.erase(it) : std::next(it);
  }
}

void nemesis::check_crashes() {
  for (int i = 0; i < c_.size(); ++i)
    if (c_.node(i).exited()) {
      crashes_.push_back(c_.node(i).name + " exited on its own (see " + c_.node(i).log_file().string() + ")");
      note("", crashes_.back() + ": restarted");
      c_.restart(i);
    }
}

void nemesis::run_until(steady::time_point until) {
  while (steady::now() + 1s < until) {
    std::this_thread::sleep_for(std::min<steady::duration>(pick(300, 1500), until - steady::now()));
    check_crashes();
    if (steady::now() + 1s >= until) break;
    one_fault(until);
    check_crashes();
  }
  heal_all();
}

void nemesis::heal_all() {
  c_.heal_links();
  for (int i = 0; i < c_.size(); ++i) {
    c_.node(i).set_disk("ok");
    c_.node(i).resume();
  }
  check_crashes();
  for (int attempt = 0; attempt < 5 && !removed_.empty(); ++attempt) {
    restore_members();
    if (!removed_.empty()) std::this_thread::sleep_for(1s);
  }
  note("", "healed");
}

}  // namespace ra::nemesis
