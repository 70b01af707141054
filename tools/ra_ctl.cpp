// ra-ctl: administers and queries the nodes of a Ra cluster from the command line. It
// joins as a node of its own (a ra::system with a temporary data dir, a name of its own,
// the same TLS settings as the nodes), runs one command and leaves.
//
//   ra-ctl --peer n1=127.0.0.1:7001 --peer n2=... [--config node.json] [--json] COMMAND ...
//
// Commands (SERVER is name@node):
//   start-cluster CLUSTER MACHINE SERVER...   [--restart] [--machine-args A]
//   delete-cluster SERVER...
//   members SERVER            leader SERVER
//   overview SERVER           (every member's overview, JSON)
//   metrics SERVER            (key metrics of every member, read on its node)
//   add-member SERVER NEW     (starts NEW on its node with the cluster's machine, then adds it)
//   remove-member SERVER TARGET [--delete]
//   transfer-leadership SERVER TARGET       trigger-election SERVER
//   counter add SERVER N      counter get SERVER [--kind local|leader|consistent]
//   kv put SERVER KEY VALUE   kv get SERVER KEY [--kind ...]   kv size SERVER [--kind ...]
//   kv cas SERVER KEY EXPECTED VALUE [--absent]                  kv delete SERVER KEY
//   fifo enqueue SERVER PAYLOAD                                  fifo ready SERVER [--kind ...]
//   fifo checkout SERVER [--credit N] [--count M]                (prints deliveries as they come)
//
// Output: one line of text, or with --json one JSON object. Exit codes: 0 done; 1 the
// operation failed (the error is printed); 2 bad command line or config; 3 no node
// reachable; 4 a kv cas that did not swap.

#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iostream>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include <CLI/CLI.hpp>
#include <caf/all.hpp>
#include <spdlog/spdlog.h>

#include "actors/node_identity.hpp"
#include "actors/node_link.hpp"
#include "actors/pid.hpp"
#include "ra/api.hpp"
#include "ra/behaviour_machine.hpp"
#include "ra/machines/counter.hpp"
#include "ra/machines/fifo.hpp"
#include "ra/machines/kv.hpp"
#include "ra/node.hpp"
#include "ra/version.hpp"

namespace {

using ms = std::chrono::milliseconds;
using ra::server_id;

constexpr int exit_failed = 1;
constexpr int exit_usage = 2;
constexpr int exit_unreachable = 3;
constexpr int exit_not_swapped = 4;

struct options {
  std::vector<std::string> peers;  ///< name=host:port
  std::string config;
  std::string name;
  std::string tls_cert, tls_key, tls_ca, tls_passphrase;
  bool allow_insecure_remote = false;
  bool json = false;
  std::string log_level = "warn";
  uint64_t timeout_ms = 10000;
  uint64_t connect_timeout_ms = 3000;
};

/// Prints the outcome: `j` with --json, else `text`.
struct printer {
  bool json = false;
  int ok(const nlohmann::json& j, const std::string& text) const {
    std::cout << (json ? j.dump() : text) << std::endl;
    return 0;
  }
  int fail(const std::string& what, const ra::api_error& e) const {
    if (json)
      std::cout << nlohmann::json{{"ok", false}, {"error", ra::to_string(e.code)}, {"message", e.to_string()}}.dump()
                << std::endl;
    std::cerr << "ra-ctl: " << what << ": " << e.to_string() << std::endl;
    return exit_failed;
  }
};

std::optional<server_id> parse_server(const std::string& s) {
  auto at = s.find('@');
  if (at == std::string::npos || at == 0 || at + 1 == s.size()) return std::nullopt;
  return server_id{s.substr(0, at), s.substr(at + 1)};
}

ra::query_kind parse_kind(const std::string& k) {
  if (k == "local") return ra::query_kind::local;
  if (k == "leader") return ra::query_kind::leader;
  return ra::query_kind::consistent;
}

/// The system config of ra-ctl's own node: the node config file (if any) with its name and
/// data dir replaced, plus the command line's peers and TLS files.
ra::expected<ra::node_config, std::string> ctl_config(const options& o, const std::string& data_dir) {
  nlohmann::json j = nlohmann::json::object();
  if (!o.config.empty()) {
    auto file = ra::load_node_config(o.config);  // checked whole, then read again as JSON
    if (!file) return ra::unexpected(file.error());
    std::ifstream in{o.config};
    in >> j;
    j.erase("port_file");
    j.erase("listen_port");
    j.erase("listen_host");
  }
  j["name"] = o.name.empty() ? "ra-ctl-" + std::to_string(::getpid()) : o.name;
  // With TLS a node must be called what its certificate says (actors/node_identity.hpp):
  // without --name, ra-ctl takes the name from its certificate.
  std::string cert_file = !o.tls_cert.empty() ? o.tls_cert : j.contains("tls") ? j["tls"].value("certificate", "") : "";
  if (o.name.empty() && !cert_file.empty()) {
    auto cn = ra::actors::node_identity::certificate_name(cert_file);
    if (!cn) return ra::unexpected(cn.error());
    j["name"] = *cn;
  }
  j["data_dir"] = data_dir;
  j["restart_servers"] = false;
  if (!j.contains("log_level")) j["log_level"] = o.log_level;
  for (auto& p : o.peers) {
    auto eq = p.find('=');
    if (eq == std::string::npos || eq == 0) return ra::unexpected("--peer " + p + ": expected NAME=HOST:PORT");
    j["peers"][p.substr(0, eq)] = p.substr(eq + 1);
  }
  if (!o.tls_cert.empty() || !o.tls_key.empty() || !o.tls_ca.empty())
    j["tls"] = {{"certificate", o.tls_cert}, {"key", o.tls_key}, {"ca_file", o.tls_ca}, {"passphrase", o.tls_passphrase}};
  if (o.allow_insecure_remote) j["allow_insecure_remote"] = true;
  auto cfg = ra::parse_node_config(j);
  if (!cfg) return ra::unexpected(cfg.error());
  cfg->system.peers.erase(cfg->system.name);
  if (cfg->system.peers.empty()) return ra::unexpected(std::string("no node to join: give --peer NAME=HOST:PORT or --config"));
  return cfg;
}

/// Waits until `id`'s node is connected and the server's proxy is known (up to `limit`).
bool await_proxy(ra::system& sys, const server_id& id, ms limit) {
  const auto until = std::chrono::steady_clock::now() + limit;
  while (!sys.lookup(id)) {
    if (std::chrono::steady_clock::now() >= until) return false;
    std::this_thread::sleep_for(ms{20});
  }
  return true;
}

/// The context every command runs in.
struct ctl {
  ra::system& sys;
  printer out;
  ms timeout;

  /// `s` parsed; on a bad id the usage error is printed.
  std::optional<server_id> server(const std::string& s) const {
    auto id = parse_server(s);
    if (!id) std::cerr << "ra-ctl: " << s << ": a server is NAME@NODE" << std::endl;
    return id;
  }
  void reach(const server_id& id) const { await_proxy(sys, id, std::min(timeout, ms{3000})); }
};

nlohmann::json ids_json(const std::vector<server_id>& ids) {
  auto j = nlohmann::json::array();
  for (auto& id : ids) j.push_back(id.to_string());
  return j;
}

std::string ids_text(const std::vector<server_id>& ids) {
  std::string s;
  for (auto& id : ids) s += (s.empty() ? "" : " ") + id.to_string();
  return s;
}

// -- cluster administration --------------------------------------------------------------------

int start_cluster(ctl& c, const std::string& cluster, const std::string& machine, const std::vector<std::string>& names,
                  bool restart, const std::string& args) {
  std::vector<server_id> ids;
  for (auto& n : names) {
    auto id = c.server(n);
    if (!id) return exit_usage;
    ids.push_back(*id);
  }
  auto r = restart ? ra::start_or_restart_cluster(c.sys, cluster, machine, ids, c.timeout, args)
                   : ra::start_cluster(c.sys, cluster, machine, ids, c.timeout, args);
  if (!r) return c.out.fail("start-cluster " + cluster, r.error());
  nlohmann::json errors = nlohmann::json::object();
  for (size_t i = 0; i < r->not_started.size() && i < r->not_started_errors.size(); ++i)
    errors[r->not_started[i].to_string()] = r->not_started_errors[i].to_string();
  return c.out.ok({{"ok", true}, {"started", ids_json(r->started)}, {"not_started", ids_json(r->not_started)},
                   {"not_started_errors", errors}, {"leader", r->leader.to_string()}},
                  "started: " + ids_text(r->started) + "; not started: " + ids_text(r->not_started) +
                    "; leader: " + r->leader.to_string());
}

int delete_cluster(ctl& c, const std::vector<std::string>& names) {
  std::vector<server_id> ids;
  for (auto& n : names) {
    auto id = c.server(n);
    if (!id) return exit_usage;
    ids.push_back(*id);
  }
  c.reach(ids.front());
  auto st = ra::delete_cluster(c.sys, ids, c.timeout);
  if (!st) return c.out.fail("delete-cluster", st.error());
  return c.out.ok({{"ok", true}, {"deleted", ids_json(ids)}}, "deleted: " + ids_text(ids));
}

int members(ctl& c, const server_id& id, bool leader_only) {
  c.reach(id);
  auto m = ra::members(c.sys, id, c.timeout);
  if (!m) return c.out.fail("members of " + id.to_string(), m.error());
  if (leader_only) return c.out.ok({{"ok", true}, {"leader", m->leader.to_string()}}, m->leader.to_string());
  std::vector<server_id> ids;
  nlohmann::json list = nlohmann::json::array();
  for (auto& mb : m->members) {
    ids.push_back(mb.id);
    list.push_back({{"id", mb.id.to_string()}, {"membership", ra::to_string(mb.kind)}});
  }
  return c.out.ok({{"ok", true}, {"members", list}, {"leader", m->leader.to_string()}},
                  ids_text(ids) + " (leader " + m->leader.to_string() + ")");
}

/// Every member's overview (asked on its node); a member that does not answer gets its error.
int overview(ctl& c, const server_id& id) {
  c.reach(id);
  auto m = ra::members(c.sys, id, c.timeout);
  if (!m) return c.out.fail("members of " + id.to_string(), m.error());
  nlohmann::json all = nlohmann::json::object();
  for (auto& mb : m->members) {
    c.reach(mb.id);
    auto o = ra::member_overview(c.sys, mb.id, c.timeout);
    all[mb.id.to_string()] = o ? *o : nlohmann::json{{"error", o.error().to_string()}};
  }
  nlohmann::json j = {{"ok", true}, {"leader", m->leader.to_string()}, {"members", all}};
  return c.out.ok(j, j.dump(2));
}

/// Every member's key metrics (ra/key_metrics.hpp), read on its node.
int metrics(ctl& c, const server_id& id) {
  c.reach(id);
  auto m = ra::members(c.sys, id, c.timeout);
  if (!m) return c.out.fail("members of " + id.to_string(), m.error());
  nlohmann::json all = nlohmann::json::object();
  std::string text;
  for (auto& mb : m->members) {
    auto k = ra::key_metrics_on_node(c.sys, mb.id, c.timeout);
    nlohmann::json entry;
    if (!k) {
      entry = {{"error", k.error().to_string()}};
    } else {
#define RA_CTL_METRIC(type, name, source, doc) entry[#name] = k->name;
      RA_KEY_METRICS_FIELDS(RA_CTL_METRIC)
#undef RA_CTL_METRIC
      entry["state"] = ra::to_string(k->state);
      entry["running"] = k->running;
    }
    text += (text.empty() ? "" : "\n") + mb.id.to_string() + " " + entry.dump();
    all[mb.id.to_string()] = entry;
  }
  return c.out.ok({{"ok", true}, {"leader", m->leader.to_string()}, {"metrics", all}}, text);
}

int add_member(ctl& c, const server_id& id, const server_id& fresh) {
  c.reach(id);
  // Starts the new server on its node with the cluster's machine, then adds it.
  auto r = ra::join_cluster(c.sys, id, ra::member{fresh}, c.timeout);
  if (!r) return c.out.fail("add-member " + fresh.to_string(), r.error());
  return c.out.ok({{"ok", true}, {"added", fresh.to_string()}, {"leader", r->to_string()}},
                  "added " + fresh.to_string() + " (leader " + r->to_string() + ")");
}

int remove_member(ctl& c, const server_id& id, const server_id& target, bool del) {
  c.reach(id);
  auto r = ra::remove_member(c.sys, id, target, c.timeout);
  if (!r) return c.out.fail("remove-member " + target.to_string(), r.error());
  if (del)
    if (auto st = ra::delete_server_on_node(c.sys, target, c.timeout); !st)
      return c.out.fail("deleting " + target.to_string(), st.error());
  return c.out.ok({{"ok", true}, {"removed", target.to_string()}, {"deleted", del}},
                  "removed " + target.to_string() + (del ? " (deleted)" : ""));
}

int transfer(ctl& c, const server_id& id, const server_id& target) {
  c.reach(id);
  c.reach(target);
  // Ask the current leader (the call needs it).
  auto m = ra::members(c.sys, id, c.timeout);
  if (!m) return c.out.fail("members of " + id.to_string(), m.error());
  auto leader = m->leader.empty() ? id : m->leader;
  c.reach(leader);
  auto st = ra::transfer_leadership(c.sys, leader, target, c.timeout);
  if (!st) return c.out.fail("transfer-leadership to " + target.to_string(), st.error());
  return c.out.ok({{"ok", true}, {"from", leader.to_string()}, {"to", target.to_string()}},
                  "leadership: " + leader.to_string() + " -> " + target.to_string());
}

int elect(ctl& c, const server_id& id) {
  c.reach(id);
  auto st = ra::trigger_election(c.sys, id, c.timeout);
  if (!st) return c.out.fail("trigger-election " + id.to_string(), st.error());
  return c.out.ok({{"ok", true}, {"server", id.to_string()}}, "election triggered on " + id.to_string());
}

// -- the built-in machines -----------------------------------------------------------------------

template <class Reply>
nlohmann::json reply_meta(const ra::command_reply<Reply>& r) {
  return {{"ok", true}, {"leader", r.leader.to_string()}, {"index", r.index.value}};
}

int counter_add(ctl& c, const server_id& id, int64_t n) {
  c.reach(id);
  auto r = ra::process_command<ra::machines::counter>(c.sys, id, n, c.timeout);
  if (!r) return c.out.fail("counter add", r.error());
  auto j = reply_meta(*r);
  j["value"] = r->reply;
  return c.out.ok(j, std::to_string(r->reply) + " (leader " + r->leader.to_string() + ")");
}

template <class R, class... Arg>
ra::result<ra::query_reply<R>> query(ctl& c, const server_id& id, const std::string& kind, const std::string& name,
                                     const Arg&... arg) {
  c.reach(id);
  return ra::named_query<R>(c.sys, id, parse_kind(kind), name, arg..., c.timeout);
}

int counter_get(ctl& c, const server_id& id, const std::string& kind) {
  auto r = query<int64_t>(c, id, kind, "value");
  if (!r) return c.out.fail("counter get", r.error());
  return c.out.ok({{"ok", true}, {"value", r->value}, {"leader", r->leader.to_string()}}, std::to_string(r->value));
}

nlohmann::json opt_json(const std::optional<std::string>& v) { return v ? nlohmann::json(*v) : nlohmann::json(); }
std::string opt_text(const std::optional<std::string>& v) { return v ? *v : "(none)"; }

template <class Cmd>
ra::result<ra::command_reply<typename Cmd::reply_type>> kv_command(ctl& c, const server_id& id, const Cmd& cmd) {
  c.reach(id);
  auto raw = ra::process_command_raw(c.sys, id, ra::encode_command<ra::machines::kv_protocol>(cmd), c.timeout);
  if (!raw) return std::move(raw.error());
  auto reply = ra::decode_reply<Cmd>(raw->reply);
  if (!reply) return ra::make_api_error(ra::api_errc::bad_reply, "the reply is not the kv machine's");
  return ra::command_reply<typename Cmd::reply_type>{std::move(*reply), raw->leader, raw->index};
}

int kv_put(ctl& c, const server_id& id, const std::string& key, const std::string& value) {
  auto r = kv_command(c, id, ra::machines::kv_put{key, value});
  if (!r) return c.out.fail("kv put", r.error());
  auto j = reply_meta(*r);
  j["previous"] = opt_json(r->reply.value);
  return c.out.ok(j, "ok (previous: " + opt_text(r->reply.value) + ")");
}

int kv_delete(ctl& c, const server_id& id, const std::string& key) {
  auto r = kv_command(c, id, ra::machines::kv_delete{key});
  if (!r) return c.out.fail("kv delete", r.error());
  auto j = reply_meta(*r);
  j["removed"] = opt_json(r->reply.value);
  return c.out.ok(j, "removed: " + opt_text(r->reply.value));
}

int kv_cas(ctl& c, const server_id& id, const std::string& key, std::optional<std::string> expected,
           const std::string& value) {
  auto r = kv_command(c, id, ra::machines::kv_cas{key, std::move(expected), value});
  if (!r) return c.out.fail("kv cas", r.error());
  auto j = reply_meta(*r);
  j["swapped"] = r->reply.swapped;
  j["current"] = opt_json(r->reply.current);
  c.out.ok(j, std::string(r->reply.swapped ? "swapped" : "not swapped") + " (current: " + opt_text(r->reply.current) + ")");
  return r->reply.swapped ? 0 : exit_not_swapped;
}

int kv_get(ctl& c, const server_id& id, const std::string& key, const std::string& kind) {
  auto r = query<ra::machines::kv_lookup>(c, id, kind, "get", key);
  if (!r) return c.out.fail("kv get", r.error());
  return c.out.ok({{"ok", true}, {"key", key}, {"value", opt_json(r->value.value)}, {"leader", r->leader.to_string()}},
                  opt_text(r->value.value));
}

int uint_query(ctl& c, const server_id& id, const std::string& kind, const std::string& name, const std::string& what) {
  auto r = query<uint64_t>(c, id, kind, name);
  if (!r) return c.out.fail(what, r.error());
  return c.out.ok({{"ok", true}, {"value", r->value}, {"leader", r->leader.to_string()}}, std::to_string(r->value));
}

int fifo_enqueue(ctl& c, const server_id& id, const std::string& payload) {
  c.reach(id);
  auto raw = ra::process_command_raw(
    c.sys, id, ra::encode_command<ra::machines::fifo_protocol>(ra::machines::fifo_enqueue{payload}), c.timeout);
  if (!raw) return c.out.fail("fifo enqueue", raw.error());
  auto seq = ra::decode_reply<ra::machines::fifo_enqueue>(raw->reply);
  if (!seq) return c.out.fail("fifo enqueue", ra::make_api_error(ra::api_errc::bad_reply, "not the fifo machine's reply"));
  return c.out.ok({{"ok", true}, {"id", *seq}, {"leader", raw->leader.to_string()}, {"index", raw->index.value}},
                  "enqueued as " + std::to_string(*seq));
}

/// Checks out of the queue as a consumer (an actor of ra-ctl's node: the machine's
/// deliveries are send_msg effects to its pid on this node) and prints each delivery as
/// it comes ("delivered ID PAYLOAD", or one JSON object per line). Ends after `count`
/// deliveries (0: never; the process is stopped from outside, and the machine's monitor
/// gives its unsettled messages back to the queue). Deliveries are not settled.
int fifo_checkout(ctl& c, const server_id& id, uint32_t credit, uint64_t count) {
  c.reach(id);
  caf::scoped_actor consumer{c.sys.actor_system()};
  auto me = ra::to_pid(c.sys, caf::actor_cast<caf::actor>(consumer));
  auto raw = ra::process_command_raw(
    c.sys, id, ra::encode_command<ra::machines::fifo_protocol>(ra::machines::fifo_checkout{me, credit}), c.timeout);
  if (!raw) return c.out.fail("fifo checkout", raw.error());
  c.out.ok({{"ok", true}, {"checked_out", true}, {"consumer", me.to_string()}, {"leader", raw->leader.to_string()}},
           "checked out as " + me.to_string());
  for (uint64_t n = 0; count == 0 || n < count; ++n) {
    bool got = false;
    consumer->receive(
      [&](ra::machines::fifo_delivery_atom, uint64_t msg_id, const std::string& payload) {
        got = true;
        c.out.ok({{"ok", true}, {"delivered", msg_id}, {"payload", payload}},
                 "delivered " + std::to_string(msg_id) + " " + payload);
      },
      caf::after(count == 0 ? std::chrono::hours(24) : c.timeout) >> [] {});
    if (!got && count != 0)
      return c.out.fail("fifo checkout", ra::make_api_error(ra::api_errc::timeout, "no delivery in time"));
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"ra-ctl: administers and queries Ra nodes (joins as a node of its own for one command)"};
  app.set_version_flag("--version", "ra-ctl " RA_VERSION_STRING);
  // At most one command; none is reported after parsing, so that an unknown word is
  // named as such ("not expected") rather than as a missing command.
  app.require_subcommand(0, 1);
  options o;
  app.add_option("--peer", o.peers, "a node to join: NAME=HOST:PORT (repeat for every node)");
  app.add_option("--config", o.config, "a node config (JSON, as ra-node's): its peers, TLS and timings are used");
  app.add_option("--name", o.name, "this client's node name (default: the CN of its TLS certificate, else ra-ctl-PID)");
  app.add_option("--tls-cert", o.tls_cert, "PEM certificate of this client (signed by the cluster CA)");
  app.add_option("--tls-key", o.tls_key, "its PEM key");
  app.add_option("--tls-ca", o.tls_ca, "the cluster CA (PEM)");
  app.add_option("--tls-passphrase", o.tls_passphrase, "passphrase of an encrypted key");
  app.add_flag("--allow-insecure-remote", o.allow_insecure_remote, "plain TCP to non-loopback nodes");
  app.add_flag("--json", o.json, "print one JSON object");
  app.add_option("--log-level", o.log_level, "log level on stderr (default warn)");
  // Up to a day: CLI11 reads "-5" into an unsigned as a huge number, refused here.
  const auto milliseconds = CLI::Range(uint64_t{1}, uint64_t{86'400'000});
  app.add_option("--timeout", o.timeout_ms, "timeout of the command in ms (default 10000)")->check(milliseconds);
  app.add_option("--connect-timeout", o.connect_timeout_ms, "how long to wait for every peer (ms, default 3000)")
    ->check(milliseconds);

  // Each subcommand sets `run`, called once the client node is up.
  std::function<int(ctl&)> run;
  std::string s1, s2, s3, s4, kind = "consistent";
  std::vector<std::string> list;
  bool flag = false;
  int64_t number = 0;
  auto server_cmd = [&](CLI::App* sub, std::function<int(ctl&, const server_id&)> f) {
    sub->add_option("server", s1, "NAME@NODE")->required();
    sub->callback([&, f] {
      run = [&, f](ctl& c) {
        auto id = c.server(s1);
        return id ? f(c, *id) : exit_usage;
      };
    });
  };
  auto two_servers = [&](CLI::App* sub, const char* second, std::function<int(ctl&, const server_id&, const server_id&)> f) {
    sub->add_option("server", s1, "a member, NAME@NODE")->required();
    sub->add_option(second, s2, "NAME@NODE")->required();
    sub->callback([&, f] {
      run = [&, f](ctl& c) {
        auto a = c.server(s1);
        auto b = c.server(s2);
        return a && b ? f(c, *a, *b) : exit_usage;
      };
    });
  };

  auto* sc = app.add_subcommand("start-cluster", "start a cluster whose members run on their nodes");
  sc->add_option("cluster", s1, "cluster name")->required();
  sc->add_option("machine", s2, "machine registered on the nodes (counter, kv, fifo)")->required();
  sc->add_option("servers", list, "members, NAME@NODE")->required();
  sc->add_flag("--restart", flag, "restart the members if their nodes know them (start_or_restart_cluster)");
  sc->add_option("--machine-args", s3, "the machine's arguments");
  sc->callback([&] { run = [&](ctl& c) { return start_cluster(c, s1, s2, list, flag, s3); }; });
  auto* dc = app.add_subcommand("delete-cluster", "delete a cluster and every member's data");
  dc->add_option("servers", list, "members, NAME@NODE")->required();
  dc->callback([&] { run = [&](ctl& c) { return delete_cluster(c, list); }; });
  server_cmd(app.add_subcommand("members", "the members and the leader"), [](ctl& c, auto& id) { return members(c, id, false); });
  server_cmd(app.add_subcommand("leader", "the leader"), [](ctl& c, auto& id) { return members(c, id, true); });
  server_cmd(app.add_subcommand("overview", "every member's overview (JSON)"), overview);
  server_cmd(app.add_subcommand("metrics", "every member's key metrics (read on its node)"), metrics);
  server_cmd(app.add_subcommand("trigger-election", "make a member start an election"), elect);
  two_servers(app.add_subcommand("add-member", "start a new server on its node and add it"), "new", add_member);
  auto* rm = app.add_subcommand("remove-member", "remove a member (and with --delete its data)");
  two_servers(rm, "target", [&](ctl& c, auto& a, auto& b) { return remove_member(c, a, b, flag); });
  rm->add_flag("--delete", flag, "delete the removed server on its node");
  two_servers(app.add_subcommand("transfer-leadership", "hand leadership to a member"), "target", transfer);

  auto* counter = app.add_subcommand("counter", "the counter machine")->require_subcommand(1);
  auto* cadd = counter->add_subcommand("add", "add N");
  server_cmd(cadd, [&](ctl& c, auto& id) { return counter_add(c, id, number); });
  cadd->add_option("n", number, "the increment")->required();
  auto* cget = counter->add_subcommand("get", "the value (named query \"value\")");
  server_cmd(cget, [&](ctl& c, auto& id) { return counter_get(c, id, kind); });

  auto* kv = app.add_subcommand("kv", "the key-value machine")->require_subcommand(1);
  auto* put = kv->add_subcommand("put", "set KEY to VALUE");
  server_cmd(put, [&](ctl& c, auto& id) { return kv_put(c, id, s2, s3); });
  put->add_option("key", s2)->required();
  put->add_option("value", s3)->required();
  auto* get = kv->add_subcommand("get", "KEY's value (named query \"get\")");
  server_cmd(get, [&](ctl& c, auto& id) { return kv_get(c, id, s2, kind); });
  get->add_option("key", s2)->required();
  auto* size = kv->add_subcommand("size", "the number of keys (named query \"size\")");
  server_cmd(size, [&](ctl& c, auto& id) { return uint_query(c, id, kind, "size", "kv size"); });
  auto* cas = kv->add_subcommand("cas", "set KEY to VALUE if it is EXPECTED (exit 4 if not)");
  server_cmd(cas, [&](ctl& c, auto& id) {
    return kv_cas(c, id, s2, flag ? std::nullopt : std::optional<std::string>{s3}, s4);
  });
  cas->add_option("key", s2)->required();
  cas->add_option("expected", s3, "the expected value (ignored with --absent)")->required();
  cas->add_option("value", s4)->required();
  cas->add_flag("--absent", flag, "expect the key to be absent");
  auto* del = kv->add_subcommand("delete", "remove KEY");
  server_cmd(del, [&](ctl& c, auto& id) { return kv_delete(c, id, s2); });
  del->add_option("key", s2)->required();

  auto* fifo = app.add_subcommand("fifo", "the fifo machine")->require_subcommand(1);
  auto* enq = fifo->add_subcommand("enqueue", "enqueue PAYLOAD");
  server_cmd(enq, [&](ctl& c, auto& id) { return fifo_enqueue(c, id, s2); });
  enq->add_option("payload", s2)->required();
  uint32_t credit = 1;
  uint64_t count = 0;
  auto* checkout = fifo->add_subcommand("checkout", "consume: print deliveries as they come (not settled)");
  server_cmd(checkout, [&](ctl& c, auto& id) { return fifo_checkout(c, id, credit, count); });
  checkout->add_option("--credit", credit, "unsettled messages this consumer may hold (default 1)")
    ->check(CLI::Range(uint32_t{1}, uint32_t{1'000'000}));
  checkout->add_option("--count", count, "end after this many deliveries (default 0: run until stopped)")
    ->check(CLI::Range(uint64_t{0}, uint64_t{1'000'000'000'000}));
  auto* ready = fifo->add_subcommand("ready", "messages waiting (named query \"ready\")");
  server_cmd(ready, [&](ctl& c, auto& id) { return uint_query(c, id, kind, "ready", "fifo ready"); });
  for (auto* q : {cget, get, size, ready})
    q->add_option("--kind", kind, "local, leader or consistent (default)")
      ->check(CLI::IsMember({"local", "leader", "consistent"}));

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? 0 : exit_usage;
  }
  if (!run) {
    std::cerr << "ra-ctl: a command is required\n" << app.help();
    return exit_usage;
  }

  char tmpl[] = "/tmp/ra-ctl-XXXXXX";
  if (!::mkdtemp(tmpl)) {
    std::perror("ra-ctl: mkdtemp");
    return exit_usage;
  }
  const std::string data_dir = tmpl;
  struct remove_dir {
    std::string path;
    ~remove_dir() {
      std::error_code ec;
      std::filesystem::remove_all(path, ec);
    }
  } cleanup{data_dir};
  auto cfg = ctl_config(o, data_dir + "/data");
  if (!cfg) {
    std::cerr << "ra-ctl: " << cfg.error() << std::endl;
    return exit_usage;
  }
  if (!ra::log_to_stderr(cfg->log.level)) {
    std::cerr << "ra-ctl: unknown log level " << cfg->log.level << std::endl;
    return exit_usage;
  }
  const auto peers = cfg->system.peers;
  auto sys = ra::start_node(std::move(*cfg));
  if (!sys) {
    std::cerr << "ra-ctl: cannot start the client node: " << sys.error().to_string() << std::endl;
    return sys.error().code == ra::api_errc::invalid_argument ? exit_usage : exit_failed;
  }
  // Wait for every peer (a node that is down is reported and skipped).
  const auto until = std::chrono::steady_clock::now() + ms{o.connect_timeout_ms};
  auto connected = [&] { return ra::connected_nodes(**sys).size(); };
  while (connected() < peers.size() && std::chrono::steady_clock::now() < until) std::this_thread::sleep_for(ms{20});
  if (connected() == 0) {
    std::cerr << "ra-ctl: no node reachable" << std::endl;
    return exit_unreachable;
  }
  auto up = ra::connected_nodes(**sys);
  for (auto& [node, address] : peers)
    if (std::find(up.begin(), up.end(), node) == up.end())
      spdlog::warn("node {} ({}:{}) is not reachable", node, address.first, address.second);
  ctl c{**sys, printer{o.json}, ms{o.timeout_ms}};
  int rc = run(c);
  (*sys)->stop();
  return rc;
}
