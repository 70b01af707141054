#pragma once
// The processes of one nemesis run: N ra-node processes, a TCP proxy on every directed
// node-to-node link (tcp_proxy.hpp), and the harness's own client node, which reaches the
// nodes directly (clients are not partitioned, the nodes among themselves are).

#include <chrono>
#include <filesystem>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "tools/ra-nemesis/node_process.hpp"
#include "ra/system.hpp"
#include "ra/types.hpp"
#include "tools/ra-nemesis/tcp_proxy.hpp"

namespace ra::nemesis {

class cluster {
 public:
  /// Creates the dirs, proxies and configs of `nodes` nodes under `dir` (nothing runs yet).
  cluster(std::filesystem::path dir, int nodes, std::string ra_node);
  ~cluster();

  /// Starts every node and the client node; throws std::runtime_error on failure.
  void start();
  /// Stops the client node and every node (SIGTERM, then kill -9).
  void stop();

  int size() const { return static_cast<int>(nodes_.size()); }
  node_process& node(int i) { return nodes_[static_cast<size_t>(i)]; }
  /// Restarts node i (after kill9) on its port; the proxies need no change.
  void restart(int i);
  system& client() { return *client_; }
  /// The cluster's server on node i.
  server_id server(int i) const { return {"kv", nodes_[static_cast<size_t>(i)].name}; }
  std::vector<server_id> servers() const;
  /// The node index of `id`, -1 if none.
  int index_of(const server_id& id) const;

  /// Cuts every link between a node in `a` and one in `b`, both ways.
  void cut(const std::set<int>& a, const std::set<int>& b);
  /// Holds the bytes node `from` sends to node `to` (one way).
  void block_one_way(int from, int to);
  /// Delays both directions between i and j by `d`.
  void delay(int i, int j, std::chrono::milliseconds d);
  /// Heals every link.
  void heal_links();

 private:
  tcp_proxy& proxy(int from, int to) { return *proxies_[static_cast<size_t>(from * size() + to)]; }

  std::filesystem::path dir_;
  std::string ra_node_;
  std::vector<node_process> nodes_;
  std::vector<std::unique_ptr<tcp_proxy>> proxies_;  // [from * N + to]; null on the diagonal
  std::unique_ptr<system> client_;
};

}  // namespace ra::nemesis
