#pragma once
// Shared by the distribution tests (distributed_tests.cpp, distributed_admin_tests.cpp):
// systems on loopback over the io middleman with short detector timings, three connected
// nodes, a fake node, an outside process. Every wait is bounded.

#include <catch2/catch.hpp>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdlib>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include <caf/all.hpp>
#include <caf/io/all.hpp>
#include <spdlog/spdlog.h>

#include "test/actors/runtime_fixture.hpp"
#include "ra/api.hpp"
#include "actors/messages.hpp"
#include "actors/node_link.hpp"
#include "ra/machines/counter.hpp"

namespace ra::test {

using namespace std::chrono_literals;
using clock_type = std::chrono::steady_clock;
using ms = std::chrono::milliseconds;

// Function-based test actors take a dummy int spawn argument: CAF 0.17 dereferences a null
// argument tuple when a functor is spawned without arguments (UBSan reports it).


// Short detector timings so that a test run stays short; production defaults are 1 s / 3 s.
constexpr uint32_t ping_interval_ms = 100;
constexpr uint32_t down_after_ms = 500;

using peer_map = std::map<std::string, std::pair<std::string, uint16_t>>;

inline system_config distributed_config(const std::string& name, const std::string& dir, peer_map peers) {
  // The runtime tests' config (short timings, the counter machine), distributed.
  system_config c = make_config(name, dir);
  c.configure_caf = [](caf::actor_system_config& caf_cfg) { caf_cfg.load<caf::io::middleman>(); };
  c.distributed = true;
  c.listen_host = "127.0.0.1";
  c.listen_port = 0;  // any free port: read back with node_port()
  c.peers = std::move(peers);
  c.node_ping_interval_ms = ping_interval_ms;
  c.node_down_after_ms = down_after_ms;
  c.in_process_resolution = false;  // the systems meet only through the middleman
  return c;
}

inline std::unique_ptr<ra::system> start_system(system_config cfg) {
  spdlog::set_level(spdlog::level::warn);
  auto s = ra::system::start(std::move(cfg));
  if (!s) FAIL("system start failed: " << s.error().to_string());
  return std::move(*s);
}

inline bool connected_to(const ra::system& sys, const std::string& node) {
  auto nodes = connected_nodes(sys);
  return std::find(nodes.begin(), nodes.end(), node) != nodes.end();
}

/// Node events a watcher received, with when: written by the watcher actor, read by the test.
struct node_events {
  struct event {
    std::string node;
    bool up;
    clock_type::time_point at;
  };
  std::mutex mx;
  std::vector<event> events;

  std::optional<event> first(const std::string& node, bool up, clock_type::time_point after) {
    std::lock_guard lk{mx};
    for (auto& e : events)
      if (e.node == node && e.up == up && e.at >= after) return e;
    return std::nullopt;
  }
  size_t count(bool up) {
    std::lock_guard lk{mx};
    return static_cast<size_t>(std::count_if(events.begin(), events.end(), [&](auto& e) { return e.up == up; }));
  }
};

/// An actor recording node_up / node_down, ended with the scope (before its system stops).
class node_watcher {
 public:
  explicit node_watcher(caf::actor_system& sys) : events_(std::make_shared<node_events>()) {
    actor_ = sys.spawn([events = events_](caf::event_based_actor*, int) -> caf::behavior {
      auto record = [events](const std::string& node, bool up) {
        std::lock_guard lk{events->mx};
        events->events.push_back({node, up, clock_type::now()});
      };
      return {
        [record](actors::node_down_atom, const std::string& node) { record(node, false); },
        [record](actors::node_up_atom, const std::string& node) { record(node, true); },
      };
    }, 0);
  }
  ~node_watcher() { caf::anon_send_exit(actor_, caf::exit_reason::user_shutdown); }
  node_watcher(const node_watcher&) = delete;
  node_watcher& operator=(const node_watcher&) = delete;

  const caf::actor& actor() const { return actor_; }
  node_events& events() { return *events_; }

 private:
  std::shared_ptr<node_events> events_;
  caf::actor actor_;
};

/// Collects the correlations of pipelined commands applied (from another node's leader).
struct applied_log {
  std::mutex mx;
  std::vector<uint64_t> correlations;
  size_t size() {
    std::lock_guard lk{mx};
    return correlations.size();
  }
};

/// A stand-in for a remote ra node: speaks the node protocol (hello, directory, ping) in
/// its own actor system, and answers pings only while `answering` is set.
class fake_node {
 public:
  fake_node(uint16_t port, std::shared_ptr<std::atomic<bool>> answering) {
    cfg_.load<caf::io::middleman>();
    actors::announce_ra_types(cfg_);
    cfg_.set("scheduler.max-threads", 1);
    sys_ = std::make_unique<caf::actor_system>(cfg_);
    actor_ = sys_->spawn([answering](caf::event_based_actor* self, int) -> caf::behavior {
      return {
        [](actors::node_hello_atom, const std::string&, const caf::actor&) { return std::string("fake"); },
        [](actors::node_dir_atom, const std::vector<std::string>&) {
          return std::make_tuple(std::vector<std::string>{}, std::vector<caf::actor>{});
        },
        [self, answering](actors::node_ping_atom, const std::string&, uint64_t seq) {
          if (answering->load())
            self->send(caf::actor_cast<caf::actor>(self->current_sender()), actors::node_pong_atom::value,
                       std::string("fake"), seq);
        },
      };
    }, 0);
    auto bound = sys_->middleman().publish(actor_, port, "127.0.0.1", true);
    if (bound) port_ = *bound;
  }
  ~fake_node() {
    caf::anon_send_exit(actor_, caf::exit_reason::user_shutdown);
    actor_ = caf::actor{};
    sys_.reset();  // closes its connections: like a process exit
  }
  fake_node(const fake_node&) = delete;
  fake_node& operator=(const fake_node&) = delete;

  uint16_t port() const { return port_; }

 private:
  caf::actor_system_config cfg_;
  std::unique_ptr<caf::actor_system> sys_;
  caf::actor actor_;
  uint16_t port_ = 0;
};

/// Three systems n1..n3 on loopback (each config passed through `adjust`), fully
/// connected: n1 learns n2 and n3 from their hellos, so one side of each pair dials.
inline std::map<std::string, std::unique_ptr<ra::system>> start_three_nodes(
    temp_dir& d1, temp_dir& d2, temp_dir& d3, const std::function<system_config(system_config)>& adjust = {}) {
  auto conf = [&](system_config c) { return adjust ? adjust(std::move(c)) : c; };
  std::map<std::string, std::unique_ptr<ra::system>> nodes;
  nodes["n1"] = start_system(conf(distributed_config("n1", d1.path(), {})));
  auto p1 = node_port(*nodes["n1"]);
  REQUIRE(p1 != 0);
  nodes["n2"] = start_system(conf(distributed_config("n2", d2.path(), {{"n1", {"127.0.0.1", p1}}})));
  auto p2 = node_port(*nodes["n2"]);
  REQUIRE(p2 != 0);
  nodes["n3"] = start_system(
    conf(distributed_config("n3", d3.path(), {{"n1", {"127.0.0.1", p1}}, {"n2", {"127.0.0.1", p2}}})));
  REQUIRE(eventually(
    [&] {
      for (auto& [name, sys] : nodes)
        if (connected_nodes(*sys).size() != 2) return false;
      return true;
    },
    5s));
  return nodes;
}

/// Starts a counter cluster of `ids` (each server on its own node's system) and elects
/// the first one.
inline void start_counter_cluster(std::map<std::string, std::unique_ptr<ra::system>>& nodes, const std::string& cluster,
                           const std::vector<server_id>& ids) {
  std::vector<member> all;
  for (auto& id : ids) all.push_back(member{id});
  for (auto& id : ids) REQUIRE(start_server(*nodes[id.node], cluster, id, "counter", all));
  REQUIRE(trigger_election(*nodes[ids.front().node], ids.front()));
}

/// Certificates made with the openssl CLI into `dir` (test/actors/make_test_certs.sh).
inline void make_test_certs(const temp_dir& dir) {
  const std::string script = RA_TEST_CERT_SCRIPT;
  REQUIRE(std::system(("sh '" + script + "' '" + dir.path() + "'").c_str()) == 0);
}

/// `c` with mutual TLS: certificate and key `cert` from `certs`, the cluster CA.
inline system_config with_test_cert(system_config c, const temp_dir& certs, const std::string& cert) {
  c.tls_certificate = certs.path() + "/" + cert + ".pem";
  c.tls_key = certs.path() + "/" + cert + ".key";
  c.tls_ca_file = certs.path() + "/ca.pem";
  return c;
}

/// Freezes `sys` until `until`, as a SIGSTOP'ed process would be to its peers: every
/// scheduler thread runs one of these blocking actors (more of them than threads), so no
/// actor of the system (servers, node actor) runs; its connections stay open.
inline void freeze_system(ra::system& sys, clock_type::time_point until) {
  for (int i = 0; i < 32; ++i) {
    auto blocker = sys.actor_system().spawn(
      [until](caf::event_based_actor* self, int) -> caf::behavior {
        return {[self, until](caf::ok_atom) {
          std::this_thread::sleep_until(until);
          self->quit();
        }};
      },
      0);
    caf::anon_send(blocker, caf::ok_atom::value);
  }
}


/// A process that is not an ra node: its own CAF actor system with the io middleman,
/// optionally with ra's types announced (announce = false: the test announces its own).
struct outsider {
  caf::actor_system_config cfg;
  std::unique_ptr<caf::actor_system> sys;
  template <class Prepare>
  explicit outsider(Prepare prepare) {
    cfg.load<caf::io::middleman>();
    cfg.set("scheduler.max-threads", 1);
    prepare(cfg);
    sys = std::make_unique<caf::actor_system>(cfg);
  }
  caf::actor node_actor(uint16_t port) {
    auto a = sys->middleman().remote_actor("127.0.0.1", port);
    if (!a) FAIL("cannot reach the node actor: " << sys->render(a.error()));
    return *a;
  }
  /// The node's servers, as `ra_ndir` gives them to anyone who reaches the port.
  std::map<std::string, caf::actor> directory(const caf::actor& node) {
    std::map<std::string, caf::actor> out;
    caf::scoped_actor self{*sys};
    self->request(node, 5s, actors::node_dir_atom::value, std::vector<std::string>{})
      .receive(
        [&](const std::vector<std::string>& names, const std::vector<caf::actor>& actors) {
          for (size_t i = 0; i < names.size() && i < actors.size(); ++i) out[names[i]] = actors[i];
        },
        [&](caf::error& e) { FAIL("node_dir failed: " << sys->render(e)); });
    return out;
  }
};

}  // namespace ra::test
