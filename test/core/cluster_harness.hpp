#pragma once
// A hand-driven cluster of pure servers for scenario tests (etcd's raft_test network
// style): the test decides which messages are delivered, when disks sync and which
// timers fire. Nothing here is random or timed.

#include <algorithm>
#include <deque>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "libra/memory_log.hpp"
#include "libra/server.hpp"
#include "ra/typed_machine.hpp"

namespace ra::test {

/// State: the list of applied increments. Command -999 makes apply throw.
/// Emits release_cursor every `release_every` applied commands (0 = never).
struct list_machine {
  using command_type = int64_t;
  using state_type = std::vector<int64_t>;
  using reply_type = int64_t;  ///< sum after applying
  uint64_t release_every = 0;
  uint64_t checkpoint_every = 0;

  state_type init() const { return {}; }
  apply_result<state_type, reply_type> apply(const command_meta& meta, const command_type& c, state_type s) const {
    if (c == -999) throw std::runtime_error("poisoned command");
    s.push_back(c);
    int64_t sum = 0;
    for (auto v : s) sum += v;
    effects effs;
    if (checkpoint_every && s.size() % checkpoint_every == 0) effs.push_back(checkpoint_effect{meta.index});
    if (release_every && s.size() % release_every == 0) effs.push_back(release_cursor_effect{meta.index});
    return {std::move(s), sum, std::move(effs)};
  }
};

inline server_id sid(const std::string& name) { return server_id{name, "test"}; }

struct envelope {
  server_id from, to;
  peer_message msg;
};

struct node {
  memory_log log;
  durable_meta meta;
  std::unique_ptr<server> srv;
  std::set<timer_kind> timers;  ///< armed timers
  bool up = true;
};

class cluster {
 public:
  /// Creates servers `names` (all voters) with `tune` applied to each config.
  explicit cluster(std::vector<std::string> names, std::function<void(server_config&)> tune = {},
                   uint64_t release_every = 0, uint64_t checkpoint_every = 0)
    : tune_(std::move(tune)), release_every_(release_every), checkpoint_every_(checkpoint_every) {
    std::vector<member> ms;
    for (auto& n : names) ms.push_back(member{sid(n), membership::voter, index_t{0}});
    for (auto& n : names) add_server(n, ms);
  }

  /// Starts a server with the given initial members (empty: a brand-new joiner).
  void add_server(const std::string& name, std::vector<member> initial) {
    auto& nd = nodes_[name];
    nd.srv.reset();
    nd.up = true;
    initial_[name] = std::move(initial);
    start(name);
  }

  server& operator[](const std::string& name) { return *nodes_.at(name).srv; }
  node& at(const std::string& name) { return nodes_.at(name); }
  std::vector<std::string> names() const {
    std::vector<std::string> out;
    for (auto& [n, _] : nodes_) out.push_back(n);
    return out;
  }

  /// Collects actions of every server into the network / replies / timers.
  void collect() {
    for (auto& [name, nd] : nodes_) {
      if (!nd.up) continue;
      for (auto& a : nd.srv->take_actions()) record(name, nd, std::move(a));
    }
  }

  /// Delivers queued messages (in order) until none is left, syncing disks as it goes
  /// if `auto_sync`. Messages to or from cut/crashed servers are dropped.
  void run(bool auto_sync = true, size_t max_steps = 100000) {
    collect();
    for (size_t i = 0; i < max_steps; ++i) {
      if (auto_sync) sync_all();
      if (net_.empty()) {
        collect();
        if (net_.empty()) return;
      }
      deliver_one();
    }
    throw std::runtime_error("cluster::run did not quiesce");
  }

  void deliver_one() {
    auto env = std::move(net_.front());
    net_.pop_front();
    delivered_.push_back(env);
    if (!link_up(env.from.name, env.to.name)) return;
    auto& nd = nodes_.at(env.to.name);
    nd.srv->handle(env.from, env.msg);
    collect();
  }

  /// Makes every up server's log durable and tells it.
  void sync_all() {
    for (auto& [name, nd] : nodes_) sync(name);
  }
  void sync(const std::string& name) {
    auto& nd = nodes_.at(name);
    if (!nd.up) return;
    if (nd.log.sync_all()) {
      nd.srv->handle_log_written();
      collect();
    }
  }

  void fire(const std::string& name, timer_kind k) {
    auto& nd = nodes_.at(name);
    nd.timers.erase(k);
    nd.srv->handle_timeout(k);
    collect();
  }

  void elect(const std::string& name) {
    (*this)[name].handle_trigger_election();
    run();
  }

  /// Crash: loses un-synced log writes; restarts from the durable log and meta.
  void crash(const std::string& name) {
    auto& nd = nodes_.at(name);
    nd.up = false;
    nd.srv.reset();
    nd.timers.clear();
    nd.log.crash();
    // What it had sent but not yet delivered is lost with it.
    std::erase_if(net_, [&](const envelope& e) { return e.from.name == name || e.to.name == name; });
  }
  void restart(const std::string& name) {
    nodes_.at(name).up = true;
    start(name);
    collect();
  }
  /// Runs `name` with other machine code from its next (re)start on (a rolling upgrade
  /// is crash + set_machine + restart).
  void set_machine(const std::string& name, std::function<std::unique_ptr<machine>()> make) {
    machine_override_[name] = std::move(make);
  }

  void cut(const std::string& a, const std::string& b) { cuts_.insert({a, b}); cuts_.insert({b, a}); }
  void cut_one_way(const std::string& from, const std::string& to) { cuts_.insert({from, to}); }
  void isolate(const std::string& a) {
    for (auto& [n, _] : nodes_) if (n != a) cut(a, n);
  }
  void heal() { cuts_.clear(); }
  bool link_up(const std::string& a, const std::string& b) const {
    return nodes_.at(a).up && nodes_.at(b).up && !cuts_.count({a, b});
  }

  /// The unique leader among up servers, or empty.
  std::string leader() const {
    std::string found;
    term_t best{0};
    for (auto& [n, nd] : nodes_)
      if (nd.up && nd.srv->current_role() == role::leader && nd.srv->current_term() >= best) {
        best = nd.srv->current_term();
        found = n;
      }
    return found;
  }

  client_ref next_client() { return client_ref{++client_seq_}; }

  /// Submits a command to `name`; returns the client ref to find its reply.
  client_ref command(const std::string& name, int64_t value, reply_mode mode = reply_mode::await_consensus,
                     command_priority prio = command_priority::normal, uint64_t correlation = 0) {
    auto c = next_client();
    (*this)[name].handle_command(command_request{c, encode(value), mode, correlation, prio});
    collect();
    return c;
  }

  const reply_action* reply_for(client_ref c) const {
    for (auto& r : replies_) if (r.to == c) return &r;
    return nullptr;
  }
  const query_reply_action* query_reply_for(client_ref c) const {
    for (auto& r : query_replies_) if (r.to == c) return &r;
    return nullptr;
  }

  const std::vector<int64_t>& applied(const std::string& name) {
    return machine_state<std::vector<int64_t>>((*this)[name].state_machine());
  }

  std::deque<envelope>& network() { return net_; }
  const std::set<timer_kind>& timers(const std::string& name) const { return nodes_.at(name).timers; }
  std::vector<envelope>& delivered() { return delivered_; }
  std::vector<reply_action> replies_;
  std::vector<query_reply_action> query_replies_;
  std::vector<notify_action> notifications_;
  std::vector<reject_action> rejections_;
  std::vector<std::pair<std::string, action>> log_;  ///< every action, with its server
  std::vector<std::string> flush_requests_;

 private:
  void start(const std::string& name) {
    auto& nd = nodes_.at(name);
    server_config cfg;
    cfg.id = sid(name);
    cfg.cluster_name = "test";
    cfg.initial_members = initial_.at(name);
    cfg.rng_seed = std::hash<std::string>{}(name);
    if (tune_) tune_(cfg);
    auto m = machine_override_.count(name) ? machine_override_.at(name)()
                                           : make_machine<list_machine>(list_machine{release_every_, checkpoint_every_});
    nd.srv = std::make_unique<server>(cfg, nd.log, std::move(m), nd.meta);
  }

  void record(const std::string& name, node& nd, action a) {
    log_.emplace_back(name, a);
    std::visit(
      [&](auto& x) {
        using T = std::decay_t<decltype(x)>;
        if constexpr (std::is_same_v<T, send_action>) net_.push_back(envelope{sid(name), x.to, std::move(x.msg)});
        else if constexpr (std::is_same_v<T, persist_meta_action>) nd.meta = durable_meta{x.term, x.voted_for};
        else if constexpr (std::is_same_v<T, set_timer_action>) nd.timers.insert(x.kind);
        else if constexpr (std::is_same_v<T, cancel_timer_action>) nd.timers.erase(x.kind);
        else if constexpr (std::is_same_v<T, reply_action>) replies_.push_back(x);
        else if constexpr (std::is_same_v<T, query_reply_action>) query_replies_.push_back(x);
        else if constexpr (std::is_same_v<T, notify_action>) notifications_.push_back(x);
        else if constexpr (std::is_same_v<T, reject_action>) rejections_.push_back(x);
        else if constexpr (std::is_same_v<T, flush_commands_action>) flush_requests_.push_back(name);
      },
      a);
  }

  std::function<void(server_config&)> tune_;
  uint64_t release_every_;
  uint64_t checkpoint_every_;
  std::map<std::string, node> nodes_;
  std::map<std::string, std::vector<member>> initial_;
  std::map<std::string, std::function<std::unique_ptr<machine>()>> machine_override_;
  std::deque<envelope> net_;
  std::vector<envelope> delivered_;
  std::set<std::pair<std::string, std::string>> cuts_;
  uint64_t client_seq_ = 0;
};

}  // namespace ra::test
