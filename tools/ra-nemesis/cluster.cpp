#include "tools/ra-nemesis/cluster.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <stdexcept>
#include <thread>

#include <nlohmann/json.hpp>

#include "actors/node_link.hpp"
#include "ra/node.hpp"

namespace ra::nemesis {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

namespace {

/// A port nothing listens on now (bound, read and released; the nodes bind it with
/// SO_REUSEADDR, so a kill -9 does not keep it from them).
uint16_t free_port() {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a);
  socklen_t len = sizeof a;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  ::close(fd);
  return ntohs(a.sin_port);
}

}  // namespace

cluster::cluster(fs::path dir, int nodes, std::string ra_node) : dir_{std::move(dir)}, ra_node_{std::move(ra_node)} {
  fs::create_directories(dir_);
  for (int i = 0; i < nodes; ++i) {
    node_process n;
    n.name = "n" + std::to_string(i + 1);
    n.dir = dir_ / n.name;
    n.port = free_port();
    fs::create_directories(n.dir);
    nodes_.push_back(std::move(n));
  }
  proxies_.resize(static_cast<size_t>(nodes * nodes));
  for (int from = 0; from < nodes; ++from)
    for (int to = 0; to < nodes; ++to)
      if (from != to) proxies_[static_cast<size_t>(from * nodes + to)] = std::make_unique<tcp_proxy>(node(to).port);
  for (int i = 0; i < nodes; ++i) {
    std::map<std::string, uint16_t> peers;
    for (int j = 0; j < nodes; ++j)
      if (j != i) peers[node(j).name] = proxy(i, j).port();
    node(i).write_config(peers);
    node(i).set_disk("ok");
  }
}

cluster::~cluster() { stop(); }

void cluster::start() {
  for (auto& n : nodes_) n.start(ra_node_, 20s);
  nlohmann::json j;
  j["name"] = "nemesis";
  j["data_dir"] = (dir_ / "client").string();
  j["restart_servers"] = false;
  j["log_level"] = "error";
  j["node_ping_interval_ms"] = 200;
  j["node_down_after_ms"] = 1000;
  for (auto& n : nodes_) j["peers"][n.name] = "127.0.0.1:" + std::to_string(n.port);
  auto cfg = parse_node_config(j);
  if (!cfg) throw std::runtime_error("client node config: " + cfg.error());
  auto sys = start_node(std::move(*cfg));
  if (!sys) throw std::runtime_error("client node: " + sys.error().to_string());
  client_ = std::move(*sys);
  const auto until = std::chrono::steady_clock::now() + 20s;
  while (connected_nodes(*client_).size() < nodes_.size()) {
    if (std::chrono::steady_clock::now() >= until) throw std::runtime_error("the client node did not reach every node");
    std::this_thread::sleep_for(20ms);
  }
}

void cluster::stop() {
  if (client_) {
    client_->stop();
    client_.reset();
  }
  for (auto& n : nodes_) n.stop(10s);
}

void cluster::restart(int i) {
  node(i).kill9();
  node(i).start(ra_node_, 20s);
}

std::vector<server_id> cluster::servers() const {
  std::vector<server_id> out;
  for (int i = 0; i < static_cast<int>(nodes_.size()); ++i) out.push_back(server(i));
  return out;
}

int cluster::index_of(const server_id& id) const {
  for (int i = 0; i < static_cast<int>(nodes_.size()); ++i)
    if (nodes_[static_cast<size_t>(i)].name == id.node) return i;
  return -1;
}

void cluster::cut(const std::set<int>& a, const std::set<int>& b) {
  link_state refuse;
  refuse.refuse = true;
  for (int i : a)
    for (int j : b)
      if (i != j) {
        proxy(i, j).set_state(refuse);
        proxy(j, i).set_state(refuse);
      }
}

void cluster::block_one_way(int from, int to) {
  link_state forward, backward;
  forward.block_forward = true;    // from dials to: its own bytes
  backward.block_backward = true;  // to dials from: the bytes coming back to `to`
  proxy(from, to).set_state(forward);
  proxy(to, from).set_state(backward);
}

void cluster::delay(int i, int j, std::chrono::milliseconds d) {
  link_state s;
  s.delay = d;
  proxy(i, j).set_state(s);
  proxy(j, i).set_state(s);
}

void cluster::heal_links() {
  for (auto& p : proxies_)
    if (p) p->heal();
}

}  // namespace ra::nemesis
