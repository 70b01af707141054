// The node actor: directory service, remote proxy cache, node failure detector and
// node watches (see node_link.hpp and docs/runtime.md). All its state lives on the actor's
// thread except system_core::remote, which resolve() reads under remote_mx.

#include "actors/node_link.hpp"
#include "actors/node_identity.hpp"
#include "actors/pid.hpp"

#include <map>
#include <optional>
#include <set>
#include <tuple>
#include <utility>

#include <dlfcn.h>
#include <openssl/err.h>
#include <openssl/ssl.h>

#include <filesystem>

#include <caf/all.hpp>
#include <caf/io/all.hpp>
#include <caf/openssl/manager.hpp>
#include <caf/openssl/publish.hpp>
#include <spdlog/spdlog.h>

#include "actors/messages.hpp"
#include "actors/node_admin.hpp"
#include "actors/node_pids.hpp"
#include "actors/node_state.hpp"
#include "ra/system.hpp"

// -- CAF 0.17 openssl workaround ----------------------------------------------------------
//
// OpenSSL requires the thread's error queue to be empty before an SSL I/O call, because
// SSL_get_error looks at it first. libcaf_openssl never clears it (its get_ssl_error()
// drains it only inside CAF_LOG_INFO, compiled out in Debian's build), so after one
// failed handshake (a peer with a certificate from another CA, or plain TCP on the TLS
// port) the next SSL_read of a healthy connection on the multiplexer thread reports
// SSL_ERROR_SSL and CAF closes it: every failed attempt would drop the node's TLS links.
// These definitions interpose the four I/O calls libcaf_openssl makes (an executable's
// symbols come first in the dynamic lookup) and clear the queue before the real call.
namespace {
template <class Fn>
Fn real_ssl_fn(const char* name) {
  return reinterpret_cast<Fn>(::dlsym(RTLD_NEXT, name));
}
}  // namespace
extern "C" {
int SSL_read(SSL* ssl, void* buf, int num) {
  static auto real = real_ssl_fn<int (*)(SSL*, void*, int)>("SSL_read");
  ::ERR_clear_error();
  return real(ssl, buf, num);
}
int SSL_write(SSL* ssl, const void* buf, int num) {
  static auto real = real_ssl_fn<int (*)(SSL*, const void*, int)>("SSL_write");
  ::ERR_clear_error();
  return real(ssl, buf, num);
}
int SSL_accept(SSL* ssl) {
  static auto real = real_ssl_fn<int (*)(SSL*)>("SSL_accept");
  ::ERR_clear_error();
  return real(ssl);
}
int SSL_connect(SSL* ssl) {
  static auto real = real_ssl_fn<int (*)(SSL*)>("SSL_connect");
  ::ERR_clear_error();
  return real(ssl);
}
}  // extern "C"

namespace ra {
namespace detail {
namespace {

using namespace ra::actors;
using clock_type = std::chrono::steady_clock;
using ms = std::chrono::milliseconds;

using namespace node_link;


void notify_watchers(node_actor* self, const std::string& node, bool up) {
  for (auto& [addr, w] : self->state.watchers) {
    if (w.nodes.count(node)) {
      if (up)
        self->send(w.handle, node_up_atom::value, node);
      else
        self->send(w.handle, node_down_atom::value, node);
    }
    // The server's own handler ignores this unless `leader` is still its leader.
    if (!up && w.leader && w.leader->node == node) self->send(w.handle, leader_down_atom::value, *w.leader);
  }
}

void forget_lookups(system_core& core, const std::string& node, const std::vector<std::string>& names) {
  std::lock_guard lk{core.remote_mx};
  for (auto& n : names) core.remote.lookups_in_flight.erase({node, n});
}

void cache_server(node_actor* self, const std::string& node, const std::string& server, const caf::actor& proxy) {
  if (!proxy) return;
  {
    std::lock_guard lk{self->state.core->remote_mx};
    self->state.core->remote.servers[node][server] = proxy;
  }
  // The entry goes when the proxied actor goes (down_msg), e.g. a restarted server.
  if (self->state.proxies.emplace(proxy.address(), std::make_pair(node, server)).second) self->monitor(proxy);
}

/// Asks `node` which of `names` (empty: all) run there and caches their proxies.
void fetch_directory(node_actor* self, const std::string& node, std::vector<std::string> names) {
  auto it = self->state.peers.find(node);
  if (it == self->state.peers.end() || !it->second.link || !it->second.up) {
    forget_lookups(*self->state.core, node, names);
    return;
  }
  auto epoch = it->second.epoch;
  self->request(it->second.link, self->state.settings.down_after, node_dir_atom::value, names)
    .then(
      [self, node, names, epoch](const std::vector<std::string>& found, const std::vector<caf::actor>& actors) {
        forget_lookups(*self->state.core, node, names);
        auto it = self->state.peers.find(node);
        if (it == self->state.peers.end() || !it->second.up || it->second.epoch != epoch) return;
        for (size_t i = 0; i < found.size() && i < actors.size(); ++i) cache_server(self, node, found[i], actors[i]);
      },
      [self, node, names](caf::error&) { forget_lookups(*self->state.core, node, names); });
}

void mark_up(node_actor* self, const std::string& node) {
  auto& p = self->state.peers[node];
  p.last_heard = clock_type::now();
  if (p.up) return;
  p.up = true;
  ++p.epoch;
  {
    std::lock_guard lk{self->state.core->remote_mx};
    self->state.core->remote.up_nodes.insert(node);
  }
  spdlog::info("[{}] node {} is up", self->state.settings.local_name, node);
  notify_watchers(self, node, true);
  fetch_directory(self, node, {});  // most servers are known before they are first needed
}

void mark_down(node_actor* self, const std::string& node, const std::string& why) {
  auto& p = self->state.peers[node];
  if (!p.up) return;
  p.up = false;
  {
    std::lock_guard lk{self->state.core->remote_mx};
    auto& remote = self->state.core->remote;
    remote.up_nodes.erase(node);
    remote.servers.erase(node);
    std::erase_if(remote.lookups_in_flight, [&](const auto& l) { return l.first == node; });
  }
  for (auto it = self->state.proxies.begin(); it != self->state.proxies.end();) {
    if (it->second.first == node) {
      self->demonitor(it->first);
      it = self->state.proxies.erase(it);
    } else {
      ++it;
    }
  }
  spdlog::warn("[{}] node {} is down: {}", self->state.settings.local_name, node, why);
  notify_watchers(self, node, false);
  forget_pids_of(self, node);
}

void forget_node_name(node_actor* self, const caf::actor& link) {
  std::lock_guard lk{self->state.core->remote_mx};
  auto& names = self->state.core->remote.node_names;
  if (auto it = names.find(link.node()); it != names.end()) names.erase(it);
}

/// Whether `remote` may become node `node`'s link: not while another node actor is
/// linked under that name and answering (review F3: a hello claiming the name of a live
/// node would take over its link; two processes configured with the same name would
/// flap it forever).
bool may_adopt(node_actor* self, const std::string& node, const caf::actor& remote) {
  auto it = self->state.peers.find(node);
  if (it == self->state.peers.end()) return true;
  auto& p = it->second;
  return !p.link || p.link == remote || !p.up;
}

/// `remote` is node `node`'s node actor: adopt it as the link (one per node).
void adopt_link(node_actor* self, const std::string& node, const caf::actor& remote) {
  auto& p = self->state.peers[node];
  if (p.link != remote) {
    if (p.link) {  // the old link is down (adopt_link is not called for a live one)
      self->demonitor(p.link);
      self->state.link_nodes.erase(p.link.address());
      forget_node_name(self, p.link);
      mark_down(self, node, "it reconnected as a new node actor");
    }
    p.link = remote;
    self->state.link_nodes[remote.address()] = node;
    {
      // Peer messages from actors of this CAF node may speak for `node` (sender checks).
      std::lock_guard lk{self->state.core->remote_mx};
      self->state.core->remote.node_names[remote.node()] = node;
    }
    self->monitor(remote);
  }
  mark_up(self, node);
}

void drop_link(node_actor* self, const std::string& node, const std::string& why) {
  auto& p = self->state.peers[node];
  if (p.link) {
    self->state.link_nodes.erase(p.link.address());
    forget_node_name(self, p.link);
  }
  p.link = caf::actor{};
  mark_down(self, node, why);
}

/// The node dialled as `node` answered our hello as `their_name`: link it if it is that node.
void hello_answered(node_actor* self, const std::string& node, const caf::actor& remote, const std::string& their_name) {
  self->state.peers[node].dialling = false;
  if (their_name != node) {
    spdlog::error("[{}] the node configured as {} calls itself {}: not linked", self->state.settings.local_name, node,
                  their_name);
    return;
  }
  if (!may_adopt(self, node, remote)) {
    spdlog::error("[{}] the node at the address of {} is not the {} already linked: not linked",
                  self->state.settings.local_name, node, node);
    return;
  }
  adopt_link(self, node, remote);
}

/// A hello from `from` (its name already proven, with TLS): links it unless it is a
/// second node of a live name; the error says why not.
caf::error accept_hello(node_actor* self, const std::string& from, const caf::actor& their_node) {
  if (from.empty() || from == self->state.settings.local_name || !their_node)
    return caf::make_error(caf::sec::invalid_argument, "bad hello from " + from);
  if (!may_adopt(self, from, their_node)) {
    spdlog::error("[{}] refused a hello from a second node calling itself {}: {} is linked and up",
                  self->state.settings.local_name, from, from);
    return caf::make_error(caf::sec::invalid_argument, "node " + from + " is already linked");
  }
  adopt_link(self, from, their_node);
  return {};
}

/// Connects to a configured peer without blocking: the middleman actor connects, then
/// the two node actors say hello.
void dial(node_actor* self, const std::string& node) {
  auto& p = self->state.peers[node];
  if (!p.address || p.link || p.dialling) return;
  p.dialling = true;
  auto timeout = self->state.settings.down_after;
  auto give_up = [self, node](caf::error& e) {
    self->state.peers[node].dialling = false;
    spdlog::debug("[{}] cannot reach node {}: {}", self->state.settings.local_name, node, self->system().render(e));
  };
  auto mm = self->state.settings.tls ? self->system().openssl_manager().actor_handle()
                                     : self->system().middleman().actor_handle();
  self->request(mm, timeout, caf::connect_atom::value, p.address->first, p.address->second)
    .then(
      [self, node, timeout, give_up](const caf::node_id&, const caf::strong_actor_ptr& ptr,
                                     const std::set<std::string>&) {
        auto remote = caf::actor_cast<caf::actor>(ptr);
        if (!remote) {
          self->state.peers[node].dialling = false;
          spdlog::warn("[{}] node {}: nothing published at its address", self->state.settings.local_name, node);
          return;
        }
        auto& me = self->state.settings;
        if (!me.identity) {
          self->request(remote, timeout, node_hello_atom::value, me.local_name, caf::actor_cast<caf::actor>(self))
            .then([self, node, remote](const std::string& their_name) { hello_answered(self, node, remote, their_name); },
                  give_up);
          return;
        }
        auto proof = me.identity->prove(me.local_name, node, node_identity::now_ms());
        self->request(remote, timeout, node_hello_tls_atom::value, me.local_name, caf::actor_cast<caf::actor>(self),
                      std::move(proof.certificate_pem), std::move(proof.signature), proof.unix_ms)
          .then(
            [self, node, remote](const std::string& their_name, std::string cert, std::string sig, int64_t at) {
              auto& me = self->state.settings;
              auto why = me.identity->check({std::move(cert), std::move(sig), at}, their_name, me.local_name,
                                            node_identity::now_ms());
              if (!why.empty()) {
                self->state.peers[node].dialling = false;
                ++self->state.core->refused_hellos;
                spdlog::error("[{}] the node at the address of {} does not prove it is {}: {}; not linked",
                              me.local_name, node, their_name, why);
                return;
              }
              hello_answered(self, node, remote, their_name);
            },
            give_up);
      },
      give_up);
}

void tick(node_actor* self) {
  auto& st = self->state;
  auto now = clock_type::now();
  ++st.ping_seq;
  for (auto& [node, p] : st.peers) {
    if (p.link) {
      if (p.up && now - p.last_heard > st.settings.down_after)
        mark_down(self, node, "no answer to pings for " + std::to_string(st.settings.down_after.count()) + " ms");
      // A silent node is still pinged: its answer brings it back up.
      self->send(p.link, node_ping_atom::value, st.settings.local_name, st.ping_seq);
    } else {
      dial(self, node);
    }
  }
  self->delayed_send(self, st.settings.ping_interval, node_tick_atom::value);
}

watcher_entry& watcher_of(node_actor* self, const caf::actor& watcher) {
  auto [it, fresh] = self->state.watchers.try_emplace(watcher.address());
  if (fresh) {
    it->second.handle = watcher;
    self->monitor(watcher);  // its watches end with it
  }
  return it->second;
}

void drop_if_idle(node_actor* self, const caf::actor_addr& addr) {
  auto it = self->state.watchers.find(addr);
  if (it != self->state.watchers.end() && it->second.nodes.empty() && !it->second.leader) {
    self->demonitor(addr);
    self->state.watchers.erase(it);
  }
}

bool is_up(node_actor* self, const std::string& node) {
  auto it = self->state.peers.find(node);
  return it != self->state.peers.end() && it->second.up;
}

const char* server_op_name(uint8_t op) {
  switch (static_cast<server_op>(op)) {
    case server_op::start: return "start";
    case server_op::restart: return "restart";
    case server_op::stop: return "stop";
    case server_op::remove: return "delete";
    case server_op::status: return "look up";
    case server_op::metrics: return "read the key metrics of";
  }
  return "run an unknown operation on";
}

/// A server request (actors/node_admin.hpp). For a server of this node: from a local actor
/// or from an actor of a node linked and up (as for peer messages), run on a blocking
/// helper that answers the requester. For another node: from a local actor only,
/// forwarded to that node's link.
caf::result<node_server_result> on_server_request(node_actor* self, node_server_request& req) {
  auto& st = self->state;
  const auto& sender = self->current_sender();
  const bool local = sender && sender->node() == self->node();
  auto refuse = [&](api_errc code, const std::string& why) -> caf::result<node_server_result> {
    return detail::failed_result(make_api_error(code, why));
  };
  if (req.id.node != st.settings.local_name) {
    if (!local) {
      ++st.core->refused_server_requests;
      spdlog::warn("[{}] refused a server request for {} from another node: not on this node",
                   st.settings.local_name, req.id.to_string());
      return refuse(api_errc::invalid_argument, req.id.to_string() + " is not on node " + st.settings.local_name);
    }
    auto it = st.peers.find(req.id.node);
    if (it == st.peers.end() || !it->second.link || !it->second.up)
      return refuse(api_errc::noproc, "node " + req.id.node + " is not connected to " + st.settings.local_name);
    self->delegate(it->second.link, node_server_atom::value, std::move(req));
    return caf::delegated<node_server_result>{};
  }
  if (!local) {
    std::string from;
    if (sender) {
      std::lock_guard lk{st.core->remote_mx};
      if (auto n = st.core->remote.node_names.find(sender->node()); n != st.core->remote.node_names.end())
        from = n->second;
    }
    if (from.empty() || !is_up(self, from)) {
      auto n = ++st.core->refused_server_requests;
      spdlog::warn("[{}] refused a server request for {} from a process that is not a linked node ({} so far)",
                   st.settings.local_name, req.id.to_string(), n);
      return refuse(api_errc::invalid_argument, "server requests are taken from linked nodes only");
    }
    spdlog::info("[{}] node {} asks to {} {}", st.settings.local_name, from, server_op_name(req.op),
                 req.id.to_string());
  }
  auto admin = st.core->server_admin;
  if (!admin) return refuse(api_errc::noproc, "node " + st.settings.local_name + " takes no server requests");
  // ra::system's calls block: a detached helper runs the request and answers the
  // requester (delegated: the reply goes straight to it).
  auto helper = self->system().spawn(
    [admin](caf::blocking_actor* b, int) {
      b->receive([&](node_server_atom, const node_server_request& r) { return admin(r); });
    },
    0);
  self->delegate(helper, node_server_atom::value, std::move(req));
  return caf::delegated<node_server_result>{};
}

caf::behavior node_main(node_actor* self, std::shared_ptr<system_core> core, node_settings settings) {
  auto& st = self->state;
  st.core = std::move(core);
  st.settings = std::move(settings);
  for (auto& [node, address] : st.settings.peers) st.peers[node].address = address;
  // Only stop_node_link ends the node actor: an exit message may come from any process
  // that reaches the port.
  self->set_exit_handler([self](caf::exit_msg& m) {
    auto& core = *self->state.core;
    if (!core.take_stop_request(self->address())) {
      auto n = ++core.ignored_exits;
      spdlog::warn("[{}] node actor: ignored an exit message no local stop asked for ({}; {} so far)",
                   self->state.settings.local_name, self->system().render(m.reason), n);
      return;
    }
    self->quit(std::move(m.reason));
  });
  self->set_down_handler([self](caf::down_msg& m) {
    auto& st = self->state;
    if (auto it = st.link_nodes.find(m.source); it != st.link_nodes.end()) {
      auto node = it->second;
      drop_link(self, node, "connection lost (" + self->system().render(m.reason) + ")");
      return;
    }
    if (pid_proxy_down(self, m.source)) return;
    if (auto it = st.proxies.find(m.source); it != st.proxies.end()) {
      auto [node, server] = it->second;
      st.proxies.erase(it);
      std::lock_guard lk{st.core->remote_mx};
      auto& servers = st.core->remote.servers;
      if (auto n = servers.find(node); n != servers.end())
        if (auto s = n->second.find(server); s != n->second.end() && s->second.address() == m.source)
          n->second.erase(s);
      return;
    }
    st.watchers.erase(m.source);
  });
  return {
    // -- from other nodes ----------------------------------------------------------------
    [self](node_hello_atom, const std::string& from, const caf::actor& their_node) -> caf::result<std::string> {
      if (self->state.settings.identity) {
        // With TLS a name must be proven: an unproven hello is a peer of another build or
        // one trying to skip the check.
        ++self->state.core->refused_hellos;
        spdlog::error("[{}] refused a hello from {} without a proof of its name", self->state.settings.local_name, from);
        return caf::make_error(caf::sec::invalid_argument, "this node needs a TLS hello with a certificate");
      }
      if (auto err = accept_hello(self, from, their_node)) return err;
      return self->state.settings.local_name;
    },
    [self](node_hello_tls_atom, const std::string& from, const caf::actor& their_node, std::string cert,
           std::string sig, int64_t at) -> caf::result<std::string, std::string, std::string, int64_t> {
      auto& me = self->state.settings;
      if (!me.identity) return caf::make_error(caf::sec::invalid_argument, "this node does not run TLS");
      auto why = me.identity->check({std::move(cert), std::move(sig), at}, from, me.local_name, node_identity::now_ms());
      if (!why.empty()) {
        ++self->state.core->refused_hellos;
        spdlog::error("[{}] refused a hello from a node calling itself {}: {}", me.local_name, from, why);
        return caf::make_error(caf::sec::invalid_argument, "hello refused: " + why);
      }
      if (auto err = accept_hello(self, from, their_node)) return err;
      auto proof = me.identity->prove(me.local_name, from, node_identity::now_ms());
      return caf::result<std::string, std::string, std::string, int64_t>(
        me.local_name, std::move(proof.certificate_pem), std::move(proof.signature), proof.unix_ms);
    },
    [self](node_dir_atom, const std::vector<std::string>& names) {
      std::vector<std::string> found;
      std::vector<caf::actor> actors;
      auto& core = *self->state.core;
      std::lock_guard lk{core.mx};
      auto add = [&](const std::string& name, const server_entry& e) {
        if (!e.actor) return;
        found.push_back(name);
        actors.push_back(e.actor);
      };
      if (names.empty()) {
        for (auto& [name, e] : core.directory) add(name, e);
      } else {
        for (auto& name : names)
          if (auto it = core.directory.find(name); it != core.directory.end()) add(name, it->second);
      }
      return std::make_tuple(std::move(found), std::move(actors));
    },
    [self](node_pid_atom, uint64_t id) { return answer_pid_lookup(self, id); },
    [self](node_server_atom, node_server_request& req) { return on_server_request(self, req); },
    [self](node_ping_atom, const std::string&, uint64_t seq) {
      if (auto from = caf::actor_cast<caf::actor>(self->current_sender()))
        self->send(from, node_pong_atom::value, self->state.settings.local_name, seq);
    },
    [self](node_pong_atom, const std::string& from, uint64_t) {
      auto it = self->state.peers.find(from);
      if (it == self->state.peers.end() || !it->second.link) return;
      if (it->second.link.address() != caf::actor_cast<caf::actor_addr>(self->current_sender())) return;  // not over the current link
      mark_up(self, from);
    },
    // -- local -----------------------------------------------------------------------------
    [self](node_tick_atom) { tick(self); },
    [self](node_pid_send_atom, const std::string& node, uint64_t id, caf::message& m) {
      route_pid_send(self, {node, id}, std::move(m));
    },
    [self](node_pid_resolve_atom, const std::string& node, uint64_t id, const caf::actor& requester) {
      route_pid_monitor(self, {node, id}, requester);
    },
    [self](node_lookup_atom, const std::string& node, const std::string& server) {
      fetch_directory(self, node, {server});
    },
    [self](node_watch_atom, const std::string& node, const caf::actor& watcher) {
      watcher_of(self, watcher).nodes.insert(node);
      if (!is_up(self, node)) self->send(watcher, node_down_atom::value, node);
    },
    [self](node_unwatch_atom, const std::string& node, const caf::actor& watcher) {
      if (auto it = self->state.watchers.find(watcher.address()); it != self->state.watchers.end()) {
        it->second.nodes.erase(node);
        drop_if_idle(self, watcher.address());
      }
    },
    [self](leader_watch_atom, const server_id& leader, const caf::actor& watcher) {
      // No message now if the node is not up: the server found the leader some other way
      // (in-process), or it already treats an unresolvable leader as down.
      watcher_of(self, watcher).leader = leader;
    },
  };
}


/// Loopback: 127.0.0.0/8, ::1, localhost.
bool is_loopback(const std::string& host) {
  return host == "localhost" || host == "::1" || host == "[::1]" || host.rfind("127.", 0) == 0;
}

bool tls_configured(const system_config& cfg) {
  return !cfg.tls_certificate.empty() || !cfg.tls_key.empty() || !cfg.tls_ca_file.empty() ||
         !cfg.tls_passphrase.empty();
}

}  // namespace

expected<void, api_error> check_distribution_config(const system_config& cfg) {
  if (!cfg.distributed) return {};
  if (tls_configured(cfg)) {
    if (cfg.tls_certificate.empty() || cfg.tls_key.empty() || cfg.tls_ca_file.empty())
      return make_api_error(api_errc::invalid_argument,
                            "TLS needs tls_certificate, tls_key and tls_ca_file together (mutual TLS)");
    for (auto* f : {&cfg.tls_certificate, &cfg.tls_key, &cfg.tls_ca_file})
      if (!std::filesystem::is_regular_file(*f))
        return make_api_error(api_errc::invalid_argument, "TLS file " + *f + " does not exist");
    return {};
  }
  std::vector<std::string> remote;
  if (!is_loopback(cfg.listen_host)) remote.push_back("listen_host \"" + cfg.listen_host + "\"");
  for (auto& [node, address] : cfg.peers)
    if (node != cfg.name && !is_loopback(address.first)) remote.push_back("peer " + node + " at " + address.first);
  if (remote.empty()) return {};
  std::string what;
  for (auto& r : remote) what += (what.empty() ? "" : ", ") + r;
  if (!cfg.allow_insecure_remote)
    return make_api_error(api_errc::invalid_argument,
                          "plain (unauthenticated, unencrypted) distribution beyond loopback (" + what +
                            "): configure TLS (tls_certificate, tls_key, tls_ca_file) or set allow_insecure_remote");
  spdlog::warn("[{}] INSECURE: plain TCP distribution beyond loopback ({}), allowed by allow_insecure_remote: "
               "anyone who reaches the port can stop, delete and reconfigure every server of this node",
               cfg.name, what);
  return {};
}

void configure_caf_distribution(caf::actor_system_config& caf_cfg, const system_config& cfg) {
  if (!cfg.distributed || cfg.tls_certificate.empty()) return;
  caf_cfg.openssl_certificate = cfg.tls_certificate;
  caf_cfg.openssl_key = cfg.tls_key;
  caf_cfg.openssl_cafile = cfg.tls_ca_file;
  caf_cfg.openssl_passphrase = cfg.tls_passphrase;
  caf_cfg.load<caf::openssl::manager>();
}

expected<void, api_error> start_node_link(const std::shared_ptr<system_core>& core, const system_config& cfg) {
  core->in_process_resolution = cfg.in_process_resolution;
  if (!cfg.distributed) return {};
  auto& sys = *core->sys;
  if (!sys.has_middleman())
    return make_api_error(api_errc::invalid_argument, "distributed needs CAF's io middleman: load it in configure_caf");
  if (cfg.node_ping_interval_ms == 0 || cfg.node_down_after_ms < cfg.node_ping_interval_ms)
    return make_api_error(api_errc::invalid_argument,
                          "node_ping_interval_ms must be > 0 and node_down_after_ms >= node_ping_interval_ms");
  const bool tls = !cfg.tls_certificate.empty();
  if (tls && !sys.has_openssl_manager())
    return make_api_error(api_errc::invalid_argument, "TLS configured but CAF's openssl module is not loaded");
  node_settings settings{cfg.name, cfg.peers, ms{cfg.node_ping_interval_ms}, ms{cfg.node_down_after_ms}, tls, {}};
  settings.peers.erase(cfg.name);
  if (tls) {
    auto identity = node_identity::load(cfg.tls_certificate, cfg.tls_key, cfg.tls_passphrase, cfg.tls_ca_file);
    if (!identity) return make_api_error(api_errc::invalid_argument, "TLS: " + identity.error());
    settings.identity = std::move(*identity);
  }
  auto node = sys.spawn(node_main, core, std::move(settings));
  auto* host = cfg.listen_host.empty() ? nullptr : cfg.listen_host.c_str();
  // reuse = true: rebinding a port right after a restart is fine
  auto port = tls ? caf::openssl::publish(node, cfg.listen_port, host, true)
                  : sys.middleman().publish(node, cfg.listen_port, host, true);
  if (!port) {
    core->stop_actor(node);
    return make_api_error(api_errc::invalid_argument, "publishing the node on port " +
                                                          std::to_string(cfg.listen_port) + ": " + sys.render(port.error()));
  }
  {
    std::lock_guard lk{core->remote_mx};
    core->remote.node_actor = node;
    core->remote.port = *port;
  }
  caf::anon_send(node, node_tick_atom::value);  // dial the peers now, not after one interval
  spdlog::info("[{}] node published on {}:{}{}", cfg.name, cfg.listen_host.empty() ? "*" : cfg.listen_host, *port,
               tls ? " (mutual TLS)" : " (plain TCP)");
  return {};
}

void stop_node_link(system_core& core) {
  caf::actor node;
  uint16_t port = 0;
  {
    std::lock_guard lk{core.remote_mx};
    node = std::exchange(core.remote.node_actor, caf::actor{});
    port = std::exchange(core.remote.port, uint16_t{0});
  }
  if (node) {
    auto& sys = *core.sys;
    static_cast<void>(sys.middleman().close(port));  // best effort: the system ends soon anyway
    caf::scoped_actor self{sys};
    self->monitor(node);
    core.stop_actor(node);
    bool gone = false;
    self->receive([&](const caf::down_msg&) { gone = true; }, caf::after(std::chrono::seconds(5)) >> [] {});
    if (!gone) spdlog::error("[{}] the node actor did not stop in time", core.name);
  }
  // Remote proxies must not outlive the actor system that made them.
  std::lock_guard lk{core.remote_mx};
  core.remote = system_core::remote_state{};
}

}  // namespace detail

// -- public helpers -------------------------------------------------------------------------

uint16_t node_port(const system& sys) {
  auto core = detail::find_system(sys.name());
  if (!core) return 0;
  std::lock_guard lk{core->remote_mx};
  return core->remote.port;
}

std::vector<std::string> connected_nodes(const system& sys) {
  auto core = detail::find_system(sys.name());
  if (!core) return {};
  auto nodes = core->up_nodes();
  return {nodes.begin(), nodes.end()};
}

security_counters security_stats(const system& sys) {
  auto core = detail::find_system(sys.name());
  if (!core) return {};
  return {core->forged_peer_messages.load(), core->ignored_exits.load(), core->refused_hellos.load(),
          core->refused_server_requests.load()};
}

namespace {
result<std::shared_ptr<detail::system_core>> distributed_core(const system& sys) {
  auto core = detail::find_system(sys.name());
  if (!core) return make_api_error(api_errc::noproc, "system " + sys.name() + " is not running");
  std::lock_guard lk{core->remote_mx};
  if (!core->remote.node_actor) return make_api_error(api_errc::invalid_argument, sys.name() + " is not distributed");
  return core;
}
}  // namespace

status watch_node(const system& sys, const std::string& node, const caf::actor& watcher) {
  auto core = distributed_core(sys);
  if (!core) return core.error();
  (*core)->watch_node(node, watcher);
  return done{};
}

status unwatch_node(const system& sys, const std::string& node, const caf::actor& watcher) {
  auto core = distributed_core(sys);
  if (!core) return core.error();
  (*core)->unwatch_node(node, watcher);
  return done{};
}

}  // namespace ra
