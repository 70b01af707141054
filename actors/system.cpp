#include "ra/system.hpp"

#include <algorithm>
#include <filesystem>
#include <set>
#include <random>

#include <caf/all.hpp>
#include <spdlog/spdlog.h>

#include "actors/messages.hpp"
#include "actors/node_admin.hpp"
#include "actors/node_link.hpp"
#include "actors/overview_json.hpp"
#include "actors/server_actor.hpp"
#include "ra/key_metrics.hpp"
#include "actors/server_data.hpp"
#include "actors/system_core.hpp"
#include "io/directory_lock.hpp"
#include "segments/segment_flush.hpp"
#include "wal/wal_reader.hpp"
#include "segments/segment_writer_actor.hpp"
#include "wal/config_store.hpp"
#include "wal/meta_writer_actor.hpp"
#include "wal/wal_actor.hpp"

namespace ra {

// -- result.hpp ---------------------------------------------------------------------------

const char* to_string(api_errc e) {
  switch (e) {
    case api_errc::timeout: return "timeout";
    case api_errc::noproc: return "noproc";
    case api_errc::command: return "command";
    case api_errc::cluster_not_formed: return "cluster_not_formed";
    case api_errc::storage: return "storage";
    case api_errc::invalid_argument: return "invalid_argument";
    case api_errc::bad_reply: return "bad_reply";
    case api_errc::data_dir_locked: return "data_dir_locked";
    case api_errc::command_too_large: return "command_too_large";
  }
  return "?";
}

std::string api_error::to_string() const {
  std::string s = ra::to_string(code);
  if (command) {
    s += std::string(": ") + ra::to_string(command->code);
    if (!command->leader.empty()) s += " (leader " + command->leader.to_string() + ")";
  }
  if (!message.empty()) s += ": " + message;
  return s;
}

// system_core (directory, resolution, process-wide registry): actors/system_core.cpp

// -- system -------------------------------------------------------------------------------

namespace {

/// Monitors `actors` and waits (bounded) until each has gone.
bool wait_down(caf::scoped_actor& self, std::vector<caf::actor> actors, std::chrono::milliseconds timeout) {
  // A set: stopping 30,000 servers must not cost 30,000 linear scans.
  std::set<caf::actor_addr> waiting;
  for (auto& a : actors)
    if (a) {
      self->monitor(a);
      waiting.insert(a.address());
    }
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!waiting.empty()) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) return false;
    bool timed_out = false;
    self->receive([&](const caf::down_msg& m) { waiting.erase(m.source); },
                  caf::after(left) >> [&] { timed_out = true; });
    if (timed_out) return false;
  }
  return true;
}

/// A server restarted while the system runs finds its newest entries only in the live WAL
/// files (they reach segments at roll-over). Reads `uid`'s entries from every WAL file in
/// `wal_dir`, oldest first, applying overwrites as WAL recovery does. A file deleted
/// meanwhile by the segment writer is skipped: its entries are in segments by then.
storage::io_result<std::vector<log_entry>> live_wal_entries(storage::file_system& fs, const std::string& wal_dir,
                                                           const std::string& uid) {
  return storage::read_writer_entries(fs, wal_dir, uid);
}

std::string new_uid(const std::string& name) {
  std::string prefix;
  for (char c : name)
    if (std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-') prefix += c;
  if (prefix.size() > 32) prefix.resize(32);
  static const char* hex = "0123456789ABCDEF";
  std::random_device rd;
  std::string suffix;
  for (int i = 0; i < 8; ++i) suffix += hex[rd() % 16];
  return (prefix.empty() ? std::string("server") : prefix) + "_" + suffix;
}

/// Review F13: with wal_sync_method none, the members of a cluster on this node lose
/// their unsynced entries together on a power loss. A majority of them could then lose
/// committed entries, which a new leader overwrites. (The initial members are what the
/// stored config knows; later membership changes are not checked.)
std::optional<api_error> refuse_unsynced_majority(const detail::system_core& core, const server_config& server) {
  if (!core.refuse_unsynced_majority) return std::nullopt;
  size_t local = 0;
  for (auto& m : server.initial_members) local += m.id.node == core.name;
  auto members = server.initial_members.size();
  if (members == 0 || local < members / 2 + 1) return std::nullopt;
  return make_api_error(api_errc::invalid_argument,
                        "wal_sync_method none with " + std::to_string(local) + " of the " + std::to_string(members) +
                          " members of cluster " + server.cluster_name + " on node " + core.name +
                          ": a power loss could lose committed entries (set allow_unsafe_sync_none to allow it)");
}

uint64_t random_seed() {
  std::random_device rd;
  return (uint64_t{rd()} << 32) ^ rd();
}

}  // namespace

result<std::unique_ptr<system>> system::start(system_config cfg) {
  if (cfg.name.empty() || cfg.data_dir.empty())
    return make_api_error(api_errc::invalid_argument, "system needs a name and a data_dir");
  if (detail::find_system(cfg.name))
    return make_api_error(api_errc::invalid_argument, "a system named '" + cfg.name + "' is running");
  {
    // The defaults of every new server, and the API's command size limit: checked now
    // rather than at the first start_server (their id is filled in per server).
    auto defaults = cfg.server_defaults;
    defaults.id = server_id{"server_defaults", cfg.name};
    if (auto ok = validate(defaults); !ok)
      return make_api_error(api_errc::invalid_argument, "server_defaults: " + ok.error().message());
  }
  // Checked here: segment files are created inside start (recovered WAL files) and in the
  // segment writer actor, where a bad value would throw.
  if (cfg.segments.segment_max_entries == 0 || cfg.segments.segment_max_entries > storage::segment_max_entries_limit)
    return make_api_error(api_errc::invalid_argument, "segments.segment_max_entries must be in [1, " +
                                                          std::to_string(storage::segment_max_entries_limit) + "]");
  if (cfg.wal.wal_max_batch_size == 0)
    return make_api_error(api_errc::invalid_argument, "wal.wal_max_batch_size must be > 0");
  if (cfg.wal.wal_max_batch_bytes == 0)
    return make_api_error(api_errc::invalid_argument, "wal.wal_max_batch_bytes must be > 0");
  auto& fs = cfg.fs ? *cfg.fs : storage::file_system::posix();
  if (auto st = fs.create_directories(cfg.data_dir); !st)
    return make_api_error(api_errc::storage, st.error().message());
  // One running system per data dir: a second one would recover the first one's live WAL
  // into segments and delete it under its feet. Held until stop() has ended every actor.
  // [node_link] plain TCP beyond loopback, TLS files; the wire bound covers a command
  if (cfg.logging)
    if (auto applied = apply_log_config(*cfg.logging); !applied)
      return make_api_error(api_errc::invalid_argument, applied.error());
  if (auto checked = detail::check_distribution_config(cfg); !checked) return checked.error();
  if (cfg.max_wire_field_bytes < cfg.server_defaults.max_command_bytes ||
      cfg.max_wire_field_bytes < cfg.server_defaults.snapshot_chunk_size)
    return make_api_error(api_errc::invalid_argument,
                          "max_wire_field_bytes must be >= server_defaults.max_command_bytes and snapshot_chunk_size");
  auto data_dir_lock = storage::directory_lock::acquire(cfg.data_dir);
  if (!data_dir_lock) {
    if (storage::directory_lock::is_held_elsewhere(data_dir_lock.error()))
      return make_api_error(api_errc::data_dir_locked, "data dir " + cfg.data_dir + " is in use by another system");
    return make_api_error(api_errc::storage, "locking the data dir: " + data_dir_lock.error().message());
  }

  std::unique_ptr<system> s{new system()};
  s->caf_cfg_ = std::make_unique<caf::actor_system_config>();
  actors::announce_ra_types(*s->caf_cfg_);
  s->caf_cfg_->set("scheduler.max-threads", cfg.scheduler_threads);
  // An idle CAF 0.17 worker polls its queue 100 times, then 500 times with a 50 us sleep
  // between polls (25 ms of "moderate" polling), and only then sleeps on a condition
  // variable that an enqueue from outside the pool (the WAL writer, the clock, a caller's
  // thread) signals at once. With thousands of servers whose timers fire every few ms
  // the workers never got past the moderate phase: each 50 us sleep is a wakeup (12.9 %
  // of a core idle with 1,000 clusters), and a message arriving during one waits for its
  // end (A1's commit path crosses threads four times). Without it: idle CPU 0.19 x,
  // A1 p50 0.60 x, B load 1.36 x (docs/benchmarks.md). configure_caf may set it back.
  s->caf_cfg_->set("work-stealing.moderate-poll-attempts", 0);
  if (cfg.configure_caf) cfg.configure_caf(*s->caf_cfg_);
  detail::configure_caf_distribution(*s->caf_cfg_, cfg);  // [node_link] CAF's openssl module for TLS
  // The bound on byte fields read from the wire (ra/inspect.hpp, wire_detail::load_bounded_bytes, reads it back).
  caf::put(s->caf_cfg_->content, "ra.max-wire-field-bytes", static_cast<int64_t>(cfg.max_wire_field_bytes));
  s->sys_ = std::make_unique<caf::actor_system>(*s->caf_cfg_);

  auto core = std::make_shared<detail::system_core>();
  core->name = cfg.name;
  core->data_dir = cfg.data_dir;
  core->fs = &fs;
  core->segments = cfg.segments;
  core->max_open_segments = cfg.max_open_segments;
  core->defaults = cfg.server_defaults;
  if (cfg.wal.wal_sync_method == storage::sync_method::none) {
    core->refuse_unsynced_majority = !cfg.allow_unsafe_sync_none;
    spdlog::warn("[{}] wal_sync_method none: entries are acknowledged before they are durable; a power loss "
                 "on a majority of a cluster's members can lose committed entries{}",
                 cfg.name, cfg.allow_unsafe_sync_none ? " (allowed by allow_unsafe_sync_none)" : "");
  }
  core->sys = s->sys_.get();
  core->machines = std::move(cfg.machines);
  core->data_dir_lock = std::move(*data_dir_lock);
  s->core_ = core;

  auto meta = storage::meta_store::open(fs, cfg.data_dir + "/meta");
  if (!meta) return make_api_error(api_errc::storage, "meta store: " + meta.error().message());
  core->meta = std::move(*meta);
  core->meta_writer = storage::spawn_meta_writer(*s->sys_, *core->meta, cfg.detached_storage_actors);

  detail::finish_deletions(*core, cfg.name);

  // The directory: every server directory with a readable config.
  std::error_code ec;
  for (auto& entry : std::filesystem::directory_iterator(cfg.data_dir, ec)) {
    if (!entry.is_directory() || detail::is_tombstone(entry.path().filename().string()) ||
        !fs.exists(entry.path().string() + "/config"))
      continue;
    auto pc = storage::load_server_config(fs, entry.path().string());
    if (!pc) {
      spdlog::warn("[{}] ignoring server directory {}: {}", cfg.name, entry.path().string(), pc.error().message());
      continue;
    }
    core->directory[pc->server.id.name] = detail::server_entry{pc->uid, pc->server.cluster_name, {}};
  }

  std::weak_ptr<detail::system_core> weak = core;
  auto server_dir = [weak](const std::string& uid) -> std::string {
    auto c = weak.lock();
    if (!c) return {};
    auto dir = c->server_dir(uid);
    return c->fs->exists(dir) ? dir : std::string{};
  };
  storage::segment_writer_config swc;
  swc.fs = &fs;
  swc.segments = cfg.segments;
  swc.server_dir = server_dir;
  swc.notify = [weak](const std::string& uid, std::vector<storage::segment_ref> refs) {
    if (auto c = weak.lock())
      if (auto a = c->find_by_uid(uid)) caf::anon_send(a, actors::segments_atom::value, actors::segments_msg{std::move(refs)});
  };
  swc.on_error = [name = cfg.name](const std::string& message) {
    spdlog::error("[{}] segment writer: {}", name, message);
  };
  swc.on_flushed = [weak](const storage::segment_flush_result& res) {
    auto c = weak.lock();
    if (!c) return;
    auto& m = c->segment_metrics;
    (res.error ? m.failed_flushes : m.flushes).fetch_add(1, std::memory_order_relaxed);
    uint64_t written = 0;
    for (const auto& [uid, refs] : res.segments) written += refs.size();
    m.segments_written.fetch_add(written, std::memory_order_relaxed);
  };
  core->detached_storage_actors = cfg.detached_storage_actors;
  core->segment_writer = storage::spawn_segment_writer(*s->sys_, swc, cfg.detached_storage_actors);

  // WAL: recover, move the recovered files into segments, then start a new file.
  storage::wal_config wc = cfg.wal;
  wc.wal_data_dir = cfg.wal_data_dir.empty() ? cfg.data_dir + "/wal" : cfg.wal_data_dir;
  wc.fs = &fs;
  wc.on_notice = [name = cfg.name](std::string_view text) { spdlog::warn("[{}] {}", name, text); };
  auto writer = std::make_unique<storage::wal_writer>(
    wc, [seg = core->segment_writer](storage::rollover_info r) { storage::submit_rollover(seg, std::move(r)); });
  // Every failure below must drop the writer before stopping: its roll-over callback
  // holds a handle of the segment writer, and ~actor_system waits for every actor whose
  // handle is still alive, so stopping with the writer alive never returns.
  auto fail = [&](api_error error) {
    writer.reset();
    s->stop();
    return error;
  };
  storage::wal_recovery rec;
  if (auto rc = writer->recover(rec, /*collect_entries=*/false); !rc) {
    if (rc.error().held_elsewhere)
      return fail(make_api_error(api_errc::data_dir_locked, "WAL dir " + wc.wal_data_dir + " is in use by another system"));
    return fail(make_api_error(api_errc::storage, "WAL recovery: " + rc.error().message()));
  }
  for (auto& f : rec.files) {
    auto res = storage::flush_wal_file(fs, f, server_dir, cfg.segments);
    if (res.error) return fail(make_api_error(api_errc::storage, "moving recovered WAL file " + f.path + ": " + *res.error));
  }
  if (auto st = writer->start(); !st) return fail(make_api_error(api_errc::storage, "WAL start: " + st.error().message()));
  core->wal_metrics = writer->published_metrics();
  core->wal = storage::spawn_wal(*s->sys_, std::move(writer), cfg.detached_storage_actors);
  s->wal_dir_ = wc.wal_data_dir;
  detail::register_system(core);
  // Server requests from other nodes (actors/node_admin.hpp): the system outlives every
  // actor of its actor system, so the node actor's helpers may call it.
  core->server_admin = [sys = s.get(), c = core.get()](const actors::node_server_request& req) {
    return detail::run_server_request(*sys, *c, req);
  };
  // [node_link] distribution: node actor, peers, node failure detector (actors/node_link.hpp)
  if (auto linked = detail::start_node_link(core, cfg); !linked) {
    s->stop();
    return linked.error();
  }
  spdlog::info("[{}] system started in {} ({} known servers)", cfg.name, cfg.data_dir, core->directory.size());
  return s;
}

system::~system() { stop(); }

void system::stop() {
  if (stopped_ || !sys_) return;
  if (core_) {
    // Waits for a server request still running (actors/node_admin.hpp); none runs after.
    std::lock_guard lk{core_->admin_mx};
    core_->admin_closed = true;
  }
  stopped_ = true;
  if (core_) {
    detail::unregister_system(core_->name);
    std::vector<caf::actor> servers;
    {
      std::lock_guard lk{core_->mx};
      for (auto& [name, e] : core_->directory)
        if (e.actor) servers.push_back(e.actor);
    }
    {
      caf::scoped_actor self{*sys_};
      for (auto& a : servers) core_->stop_actor(a);
      if (!wait_down(self, servers, std::chrono::seconds(10)))
        spdlog::error("[{}] some servers did not stop in time", core_->name);
      if (core_->meta_writer) {  // after the servers: no vote comes any more
        caf::anon_send_exit(core_->meta_writer, caf::exit_reason::user_shutdown);
        wait_down(self, {core_->meta_writer}, std::chrono::seconds(10));
      }
      if (core_->wal) {
        storage::stop_wal(core_->wal);
        wait_down(self, {core_->wal}, std::chrono::seconds(10));
      }
      if (core_->segment_writer) {
        caf::anon_send_exit(core_->segment_writer, caf::exit_reason::user_shutdown);
        wait_down(self, {core_->segment_writer}, std::chrono::seconds(10));
      }
    }
    core_->wal = caf::actor{};
    core_->meta_writer = caf::actor{};
    core_->segment_writer = caf::actor{};
    {
      std::lock_guard lk{core_->mx};
      for (auto& [name, e] : core_->directory) e.actor = caf::actor{};
    }
    detail::stop_node_link(*core_);  // [node_link] after the servers, before the actor system
  }
  sys_.reset();  // waits for every remaining actor
  if (core_) {
    core_->meta.reset();
    core_->data_dir_lock.reset();  // last: nothing of this system touches the dir now
  }
}

void system::register_machine(const std::string& name, machine_factory f) {
  std::lock_guard lk{core_->mx};
  core_->machines[name] = std::move(f);
}

std::vector<std::string> system::known_servers() const {
  std::lock_guard lk{core_->mx};
  std::vector<std::string> out;
  for (auto& [name, e] : core_->directory) out.push_back(name);
  return out;
}

std::string system::uid_of(const std::string& name) const {
  std::lock_guard lk{core_->mx};
  auto it = core_->directory.find(name);
  return it == core_->directory.end() ? std::string{} : it->second.uid;
}

status system::spawn_server(storage::persisted_server_config pc, std::vector<log_entry> wal_entries) {
  auto name = pc.server.id.name;
  pc.server.rng_seed = random_seed();
  auto a = detail::spawn_server_actor(core_, pc, std::move(wal_entries));
  {
    std::lock_guard lk{core_->mx};
    core_->directory[name].actor = a;
  }
  // The server's own verdict (typed: unknown machine = invalid_argument), or, without an
  // answer, a storage error with CAF's reason.
  api_error error = make_api_error(api_errc::storage);
  bool answered = false;
  bool started = false;
  caf::scoped_actor self{*sys_};
  self->request(a, std::chrono::seconds(30), actors::ready_atom::value)
    .receive(
        [&](actors::ready_result& r) {
          answered = true;
          started = r.status.has_value();
          if (!started) error = std::move(r.status.error());
        },
        [&](caf::error& e) { error.message = sys_->render(e); });
  if (started) return done{};
  if (!answered) core_->stop_actor(a);
  core_->forget_actor(name, a.address());
  error.message = "server " + name + ": " + error.message;
  return error;
}

status system::start_server(const std::string& cluster_name, const server_id& id, const std::string& machine,
                            std::vector<member> initial_members, std::string machine_args) {
  std::vector<server_start_request> one;
  one.push_back({cluster_name, id, machine, std::move(initial_members), std::move(machine_args)});
  return std::move(start_servers(std::move(one)).front());
}

std::vector<status> system::start_servers(std::vector<server_start_request> requests) {
  std::vector<status> out(requests.size(), status{done{}});
  if (stopped_) {
    for (auto& st : out) st = make_api_error(api_errc::noproc, "system stopped");
    return out;
  }
  // 1. Validate each request and claim its name; a refused one is answered at once.
  std::vector<storage::persisted_server_config> configs;
  std::vector<size_t> request_of;  // configs[k] answers requests[request_of[k]]
  for (size_t i = 0; i < requests.size(); ++i) {
    auto& r = requests[i];
    auto refuse = [&](api_errc code, std::string why) { out[i] = make_api_error(code, std::move(why)); };
    if (r.id.node != core_->name) {
      refuse(api_errc::invalid_argument, r.id.to_string() + " is not on node " + core_->name);
      continue;
    }
    storage::persisted_server_config pc;
    pc.uid = new_uid(r.id.name);
    pc.server = core_->defaults;
    pc.server.id = r.id;
    pc.server.cluster_name = r.cluster_name;
    pc.server.initial_members = std::move(r.initial_members);
    pc.machine = r.machine;
    pc.machine_args = std::move(r.machine_args);
    if (auto ok = validate(pc.server); !ok) {
      refuse(api_errc::invalid_argument, ok.error().message());
      continue;
    }
    if (auto refused = refuse_unsynced_majority(*core_, pc.server)) {
      out[i] = *refused;
      continue;
    }
    // The pure core (and the simulator) has no nodes; here a member without one could
    // never be reached and the cluster would silently never form.
    auto nodeless = std::find_if(pc.server.initial_members.begin(), pc.server.initial_members.end(),
                                 [](const member& m) { return m.id.node.empty(); });
    if (nodeless != pc.server.initial_members.end()) {
      refuse(api_errc::invalid_argument, "initial_members: " + nodeless->id.name + " has no node");
      continue;
    }
    {
      std::lock_guard lk{core_->mx};
      if (core_->directory.count(r.id.name)) {
        refuse(api_errc::invalid_argument, "server " + r.id.name + " already exists");
        continue;
      }
      if (!core_->machines.count(r.machine)) {
        refuse(api_errc::invalid_argument, "unknown machine '" + r.machine + "'");
        continue;
      }
      core_->directory[r.id.name] = detail::server_entry{pc.uid, r.cluster_name, {}};
    }
    configs.push_back(std::move(pc));
    request_of.push_back(i);
  }
  if (configs.empty()) return out;
  // 2. One save for all: it creates the directories and syncs them into the data dir.
  std::vector<storage::server_config_item> items;
  for (auto& pc : configs) items.push_back({core_->server_dir(pc.uid), &pc});
  if (auto saved = storage::save_server_configs(*core_->fs, items); !saved) {
    std::lock_guard lk{core_->mx};
    for (size_t k = 0; k < configs.size(); ++k) {
      core_->directory.erase(configs[k].server.id.name);
      out[request_of[k]] = make_api_error(api_errc::storage, saved.error().message());
    }
    return out;
  }
  // 3. Spawn each (each answers whether it started).
  for (size_t k = 0; k < configs.size(); ++k) out[request_of[k]] = spawn_server(std::move(configs[k]));
  return out;
}

status system::restart_server(const server_id& id) {
  if (stopped_) return make_api_error(api_errc::noproc, "system stopped");
  std::string uid;
  {
    std::lock_guard lk{core_->mx};
    auto it = core_->directory.find(id.name);
    if (it == core_->directory.end() || id.node != core_->name)
      return make_api_error(api_errc::noproc, "unknown server " + id.to_string());
    if (it->second.actor) return make_api_error(api_errc::invalid_argument, id.to_string() + " is running");
    uid = it->second.uid;
  }
  auto pc = storage::load_server_config(*core_->fs, core_->server_dir(uid));
  if (!pc) return make_api_error(api_errc::storage, pc.error().message());
  if (auto refused = refuse_unsynced_majority(*core_, pc->server)) return *refused;
  // Let the WAL write what the server queued before it stopped: a request is answered
  // after the appends ahead of it, and a second one after the flush they scheduled.
  {
    caf::scoped_actor self{*sys_};
    for (int i = 0; i < 2; ++i)
      self->request(core_->wal, std::chrono::seconds(10), storage::wal_stats_atom::value)
        .receive([](const storage::wal_writer_stats&) {}, [](caf::error&) {});
  }
  auto entries = live_wal_entries(*core_->fs, wal_dir_, uid);
  if (!entries) return make_api_error(api_errc::storage, entries.error().message());
  return spawn_server(std::move(*pc), std::move(*entries));
}

status system::stop_server(const server_id& id, std::chrono::milliseconds timeout) {
  if (stopped_) return make_api_error(api_errc::noproc, "system stopped");
  auto a = id.node == core_->name ? core_->find(id.name) : caf::actor{};
  if (!a) return make_api_error(api_errc::noproc, id.to_string() + " is not running");
  caf::scoped_actor self{*sys_};
  core_->stop_actor(a);
  bool down = wait_down(self, {a}, timeout);
  core_->forget_actor(id.name, a.address());
  if (!down) return make_api_error(api_errc::timeout, id.to_string() + " did not stop");
  // The actor's own exit hook does the same, but may run after our down message arrived.
  if (auto m = detail::find_key_metrics(core_->name, id.name)) m->mark_stopped(a.id());
  return done{};
}

status system::delete_server(const server_id& id, std::chrono::milliseconds timeout) {
  if (is_running(id.name))
    if (auto st = stop_server(id, timeout); !st) return st;
  std::string uid = uid_of(id.name);
  if (uid.empty()) return make_api_error(api_errc::noproc, "unknown server " + id.to_string());
  if (auto del = detail::delete_server_data(*core_, id.name, uid); !del) return del.error();
  return done{};
}

const std::string& system::name() const { return core_->name; }
const std::string& system::data_dir() const { return core_->data_dir; }
uint64_t system::max_command_bytes() const { return core_->defaults.max_command_bytes; }
caf::actor system::lookup(const server_id& id) const { return core_->resolve(id); }
bool system::is_running(const std::string& name) const { return static_cast<bool>(core_->find(name)); }

nlohmann::json system::overview(std::chrono::milliseconds timeout) {
  nlohmann::json j;
  j["name"] = core_->name;
  j["data_dir"] = core_->data_dir;
  nlohmann::json servers = nlohmann::json::object();
  std::vector<std::pair<std::string, detail::server_entry>> entries;
  {
    std::lock_guard lk{core_->mx};
    for (auto& [name, e] : core_->directory) entries.emplace_back(name, e);
  }
  if (stopped_) return j;
  caf::scoped_actor self{*sys_};
  for (auto& [name, e] : entries) {
    nlohmann::json s;
    s["uid"] = e.uid;
    s["cluster_name"] = e.cluster;
    s["running"] = static_cast<bool>(e.actor);
    if (e.actor) {
      self->request(e.actor, timeout, actors::overview_atom::value)
        .receive([&](const actors::overview_result& r) { s["member"] = actors::to_json(r); },
                 [&](caf::error&) {});
    }
    servers[name] = std::move(s);
  }
  j["servers"] = std::move(servers);
  return j;
}

}  // namespace ra
