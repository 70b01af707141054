#pragma once
// A TCP proxy for one directed link between two nodes (the dialler's side -> the
// listener's side), owned by the nemesis so that it can partition nodes without root or
// network namespaces. Node A's config names the proxy's port as node B's address; each
// connection A opens is accepted here and forwarded to B's real port.
//
// Directions are named from the dialler: `forward` carries the dialler's bytes to the
// listener, `backward` the listener's bytes back. A blocked direction is not read at all,
// so its bytes wait in the kernel and TCP's flow control stalls the sender: what a real
// one-way partition does to a TCP connection. heal() closes every connection that had a
// direction blocked (the stalled bytes are lost, as after a real partition ends in a
// reset) and lets everything through again.

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>

namespace ra::nemesis {

/// What a proxy lets through.
struct link_state {
  bool refuse = false;          ///< close new connections at once and the existing ones now
  bool block_forward = false;   ///< hold the dialler's bytes
  bool block_backward = false;  ///< hold the listener's bytes
  std::chrono::milliseconds delay{0};  ///< forward every byte this much later (both directions)
};

class tcp_proxy {
 public:
  /// Listens on 127.0.0.1 (a free port) and forwards to 127.0.0.1:target_port. Throws
  /// std::runtime_error if it cannot listen.
  explicit tcp_proxy(uint16_t target_port);
  ~tcp_proxy();
  tcp_proxy(const tcp_proxy&) = delete;
  tcp_proxy& operator=(const tcp_proxy&) = delete;

  /// The port the proxy listens on.
  uint16_t port() const;
  /// Where new connections go (a node restarted on another port).
  void set_target(uint16_t target_port);
  /// Applies `s` now (refuse closes the open connections).
  void set_state(const link_state& s);
  /// Back to passing everything; connections that held bytes are closed.
  void heal();
  /// Connections accepted so far (for tests and reports).
  uint64_t accepted() const;

 private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

}  // namespace ra::nemesis
