#include "sim/faults.hpp"

#include <algorithm>

namespace ra::sim {

const char* to_string(fault_kind k) {
  switch (k) {
    case fault_kind::partition: return "partition";
    case fault_kind::one_way_cut: return "one-way cut";
    case fault_kind::crash: return "crash";
    case fault_kind::slow_disk: return "slow disk";
    case fault_kind::membership: return "membership change";
    case fault_kind::transfer_leadership: return "leadership transfer";
    case fault_kind::trigger_election: return "forced election";
    case fault_kind::false_alarm: return "detector false alarm";
  }
  return "?";
}

bool fault_profile::any() const {
  return std::any_of(weights.begin(), weights.end(), [](uint32_t w) { return w > 0; });
}

fault_profile fault_profile::random(rng& r, int servers) {
  fault_profile p;
  for (auto& w : p.weights)
    w = r.chance(0.7) ? static_cast<uint32_t>(r.between(1, 10)) : 0;
  // From a fault every few tens of ms (relentless) to one every couple of seconds.
  p.min_gap_ms = r.between(10, 300);
  p.max_gap_ms = p.min_gap_ms + r.between(50, 2000);
  p.min_duration_ms = r.between(50, 500);
  p.max_duration_ms = p.min_duration_ms + r.between(200, 5000);
  if (r.chance(0.3)) {
    // Leader churn: crashes every few tens of ms with short downtimes (and half of them
    // aimed at the leader). Chains like Raft's figure 8 need several leaders to come and
    // go within a few round trips; gentler schedules almost never produce them.
    p.min_gap_ms = r.between(10, 50);
    p.max_gap_ms = p.min_gap_ms + r.between(20, 200);
    p.min_duration_ms = r.between(10, 100);
    p.max_duration_ms = p.min_duration_ms + r.between(50, 500);
    p.weights[static_cast<size_t>(fault_kind::crash)] = 20;
  }
  if (r.chance(0.3))
    p.crash_after_event = 0.0005 + 0.005 * r.unit();
  // Usually a minority down at a time; sometimes a majority, which stalls the cluster.
  const int minority = std::max(1, (servers - 1) / 2);
  p.max_crashed = r.chance(0.2) ? servers : static_cast<int>(r.between(1, minority));
  p.slow_disk = disk_profile{r.between(2, 20), r.between(20, 400), 0};
  return p;
}

std::string fault_profile::describe() const {
  std::string out;
  for (size_t k = 0; k < fault_kind_count; ++k)
    if (weights[k] > 0)
      out += (out.empty() ? "" : ", ") + std::string(to_string(static_cast<fault_kind>(k))) + "=" +
             std::to_string(weights[k]);
  return out.empty() ? "no faults" : out;
}

fault_injector::fault_injector(sim_cluster& cluster, rng r, fault_profile profile, disk_profile normal_disk)
  : cluster_(cluster), rng_(r), profile_(profile), normal_disk_(normal_disk) {}

void fault_injector::log(const std::string& what) const {
  if (std::ostream* out = cluster_.trace())
    *out << cluster_.stamp() << " FAULT " << what << "\n";
}

std::vector<int> fault_injector::members(bool running_only) const {
  std::vector<int> out;
  for (size_t i = 0; i < cluster_.size(); ++i) {
    const sim_node& n = cluster_.node(static_cast<int>(i));
    if (n.started && !n.stopped && (!running_only || n.running()))
      out.push_back(static_cast<int>(i));
  }
  return out;
}

void fault_injector::start() {
  active_ = true;
  schedule_next();
}

void fault_injector::schedule_next() {
  if (!active_ || !profile_.any())
    return;
  cluster_.schedule(rng_.between(profile_.min_gap_ms, profile_.max_gap_ms), "fault", [this] {
    if (!active_)
      return;
    uint64_t total = 0;
    for (uint32_t w : profile_.weights)
      total += w;
    uint64_t x = rng_.below(total);
    size_t k = 0;
    while (x >= profile_.weights[k]) {
      x -= profile_.weights[k];
      ++k;
    }
    inject(static_cast<fault_kind>(k));
    schedule_next();
  });
}

void fault_injector::inject(fault_kind k) {
  ++stats_.injected[static_cast<size_t>(k)];
  switch (k) {
    case fault_kind::partition: return partition();
    case fault_kind::one_way_cut: return one_way_cut();
    case fault_kind::crash: return crash();
    case fault_kind::slow_disk: return slow_disk();
    case fault_kind::membership: return change_membership();
    case fault_kind::transfer_leadership: return transfer_leadership();
    case fault_kind::trigger_election: return trigger_election();
    case fault_kind::false_alarm: return false_alarm();
  }
}

void fault_injector::heal() {
  active_ = false;
  ++network_generation_;
  cluster_.net().heal();
  for (size_t i = 0; i < cluster_.size(); ++i) {
    sim_node& n = cluster_.node(static_cast<int>(i));
    n.disk = normal_disk_;
    if (n.real)
      n.real->disk().set_faults({});  // no more rot: the liveness phase needs its disks
    if (n.crashed && !n.stopped)
      cluster_.restart(static_cast<int>(i));
    else if (n.storage_stopped && n.real && !n.real->disk().counters().bits_flipped)
      cluster_.revive(static_cast<int>(i));  // the disk works again: restart it
  }
  log("healed: network whole, disks normal, crashed members restarted");
}

// One network fault at a time: a new one replaces the previous cuts, and its own heal
// only applies if no newer network fault came since.
void fault_injector::heal_network_later(int64_t ms) {
  const uint64_t gen = ++network_generation_;
  cluster_.schedule(ms, "heal network", [this, gen] {
    if (gen == network_generation_) {
      cluster_.net().heal();
      log("network healed");
    }
  });
}

void fault_injector::partition() {
  std::vector<int> all = members(false);
  if (all.size() < 2)
    return;
  for (size_t i = all.size() - 1; i > 0; --i)
    std::swap(all[i], all[rng_.below(i + 1)]);
  const size_t split = static_cast<size_t>(rng_.between(1, static_cast<int64_t>(all.size()) - 1));
  std::vector<int> a(all.begin(), all.begin() + static_cast<std::ptrdiff_t>(split));
  std::vector<int> b(all.begin() + static_cast<std::ptrdiff_t>(split), all.end());
  cluster_.net().heal();
  cluster_.net().partition(a, b);
  log("partition " + cluster_.net().describe_cuts());
  heal_network_later(rng_.between(profile_.min_duration_ms, profile_.max_duration_ms));
}

void fault_injector::one_way_cut() {
  std::vector<int> all = members(false);
  if (all.size() < 2)
    return;
  const int x = rng_.pick(all);
  int y = rng_.pick(all);
  while (y == x)
    y = rng_.pick(all);
  cluster_.net().heal();
  switch (rng_.below(3)) {
    case 0:  // one directed link
      cluster_.net().cut(x, y);
      break;
    case 1:  // x can hear but not speak
      for (int z : all)
        if (z != x)
          cluster_.net().cut(x, z);
      break;
    default:  // x can speak but not hear
      for (int z : all)
        if (z != x)
          cluster_.net().cut(z, x);
      break;
  }
  log("one-way cut " + cluster_.net().describe_cuts());
  heal_network_later(rng_.between(profile_.min_duration_ms, profile_.max_duration_ms));
}

int fault_injector::crashed_count() const {
  int crashed = 0;
  for (size_t i = 0; i < cluster_.size(); ++i)
    crashed += cluster_.node(static_cast<int>(i)).crashed && !cluster_.node(static_cast<int>(i)).stopped;
  return crashed;
}

void fault_injector::crash() {
  std::vector<int> running = members(true);
  if (crashed_count() >= profile_.max_crashed || running.empty())
    return;
  // Half the time the leader: losing it mid-replication is where Raft's corner cases live
  // (entries on a minority, a new leader with another suffix, the old one back ...).
  std::optional<int> leader = cluster_.leader();
  crash_member(leader && rng_.chance(0.5) ? *leader : rng_.pick(running));
}

void fault_injector::after_event(const std::vector<int>& touched) {
  if (!active_ || touched.empty() || profile_.crash_after_event <= 0 || !rng_.chance(profile_.crash_after_event))
    return;
  const int victim = rng_.pick(touched);
  if (!cluster_.running(victim) || crashed_count() >= profile_.max_crashed)
    return;
  ++stats_.injected[static_cast<size_t>(fault_kind::crash)];
  crash_member(victim);
}

void fault_injector::crash_member(int victim) {
  if (cluster_.real_storage() && rng_.chance(0.5)) {
    // On the real stack, half the crashes cut the power inside the node's storage work.
    log("power cut on " + cluster_.node(victim).name());
    cluster_.power_cut(victim, rng_.between(profile_.min_duration_ms, profile_.max_duration_ms));
    return;
  }
  log("crash " + cluster_.node(victim).name());
  cluster_.crash(victim);
  cluster_.schedule(rng_.between(profile_.min_duration_ms, profile_.max_duration_ms),
                    "restart " + cluster_.node(victim).name(), [this, victim] {
                      if (cluster_.node(victim).crashed) {
                        log("restart " + cluster_.node(victim).name());
                        cluster_.restart(victim);
                      }
                    });
}

void fault_injector::slow_disk() {
  std::vector<int> all = members(false);
  if (all.empty())
    return;
  const int victim = rng_.pick(all);
  disk_profile slow = profile_.slow_disk;
  slow.partial_sync = normal_disk_.partial_sync;
  cluster_.node(victim).disk = slow;
  sim_node& n = cluster_.node(victim);
  // On the real stack, half the sick disks also fail operations for a while: EIO or
  // ENOSPC on writes and syncs (a failed sync loses its pages, as on Linux).
  const bool failing = n.real && rng_.chance(0.5);
  if (failing) {
    const double p = 0.02 + 0.1 * rng_.unit();
    storage::sim_disk_faults f = n.real->disk().faults();
    f.write_eio = f.write_enospc = f.sync_eio = f.sync_enospc = f.dir_sync_eio = p;
    n.real->disk().set_faults(f);
  }
  log(std::string(failing ? "failing" : "slow") + " disk on " + n.name());
  cluster_.schedule(rng_.between(profile_.min_duration_ms, profile_.max_duration_ms),
                    "disk of " + n.name() + " recovers", [this, victim, failing] {
                      sim_node& sick = cluster_.node(victim);
                      sick.disk = normal_disk_;
                      if (failing) {
                        storage::sim_disk_faults f = sick.real->disk().faults();
                        f.write_eio = f.write_enospc = f.sync_eio = f.sync_enospc = f.dir_sync_eio = 0;
                        sick.real->disk().set_faults(f);
                      }
                    });
}

void fault_injector::change_membership() {
  std::optional<int> leader = cluster_.leader();
  if (!leader)
    return;
  const ra::cluster_config cfg = cluster_.node(*leader).server->cluster();
  std::vector<int> addable;
  for (size_t i = 0; i < cluster_.size(); ++i) {
    const sim_node& n = cluster_.node(static_cast<int>(i));
    if (!n.stopped && !n.crashed && !cfg.contains(n.config.id))
      addable.push_back(static_cast<int>(i));
  }
  std::vector<ra::member> removable;
  for (const ra::member& m : cfg.members())
    if ((m.kind != ra::membership::voter || cfg.voter_count() > 3) && cluster_.find(m.id))
      removable.push_back(m);
  ra::membership_request req;
  req.from = ra::client_ref{next_ref_++};
  if (!addable.empty() && (removable.empty() || rng_.chance(0.6))) {
    const int joiner = rng_.pick(addable);
    if (!cluster_.node(joiner).started)
      cluster_.start(joiner);  // a fresh server with an empty log: waits for the leader
    static const ra::membership kinds[] = {ra::membership::voter, ra::membership::promotable,
                                           ra::membership::non_voter};
    req.op = ra::membership_op::add;
    req.target = ra::member{cluster_.node(joiner).config.id, kinds[rng_.below(3)], ra::index_t{0}};
    log("add " + req.target.id.to_string() + " as " + ra::to_string(req.target.kind) + " via leader " +
        cluster_.node(*leader).name());
  } else if (!removable.empty()) {
    req.op = ra::membership_op::remove;
    req.target = rng_.pick(removable);
    log("remove " + req.target.id.to_string() + " via leader " + cluster_.node(*leader).name());
  } else {
    return;
  }
  cluster_.invoke(*leader, [&](ra::server& s) { s.handle_membership(req); });
}

void fault_injector::transfer_leadership() {
  std::optional<int> leader = cluster_.leader();
  if (!leader)
    return;
  std::vector<ra::server_id> targets;
  for (const ra::member& m : cluster_.node(*leader).server->cluster().members())
    if (m.kind == ra::membership::voter && m.id != cluster_.node(*leader).config.id)
      targets.push_back(m.id);
  if (targets.empty())
    return;
  const ra::server_id target = rng_.pick(targets);
  log("transfer leadership from " + cluster_.node(*leader).name() + " to " + target.to_string());
  const ra::client_ref ref{next_ref_++};
  cluster_.invoke(*leader, [&](ra::server& s) { s.handle_transfer_leadership(ref, target); });
}

void fault_injector::trigger_election() {
  std::vector<int> running = members(true);
  if (running.empty())
    return;
  const int who = rng_.pick(running);
  log("trigger election on " + cluster_.node(who).name());
  cluster_.invoke(who, [](ra::server& s) { s.handle_trigger_election(); });
  // Sometimes a rival at the same moment: competing candidates in one term are what
  // a lost vote (or a double vote) needs to turn into two leaders.
  const int rival = rng_.pick(running);
  if (rival != who && rng_.chance(0.5)) {
    log("trigger election on " + cluster_.node(rival).name());
    cluster_.invoke(rival, [](ra::server& s) { s.handle_trigger_election(); });
  }
}

void fault_injector::false_alarm() {
  std::vector<int> watching;
  for (int i : members(true))
    if (cluster_.node(i).monitored_leader)
      watching.push_back(i);
  if (watching.empty())
    return;
  cluster_.false_alarm(rng_.pick(watching));
}

void fault_injector::on_client_action(int node, const ra::action& a) {
  const auto* r = std::get_if<ra::reply_action>(&a);
  if (!r || r->to.id < ref_base)
    return;
  if (r->error) {
    ++stats_.membership_refused;
    log("request " + std::to_string(r->to.id - ref_base) + " refused by " + cluster_.node(node).name() + ": " +
        ra::to_string(r->error->code));
  } else {
    ++stats_.membership_ok;
    log("request " + std::to_string(r->to.id - ref_base) + " done by " + cluster_.node(node).name() + " at index " +
        std::to_string(r->index.value));
  }
}

}  // namespace ra::sim
