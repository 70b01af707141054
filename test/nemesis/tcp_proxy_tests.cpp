// The nemesis's link proxy (tools/ra-nemesis/tcp_proxy.hpp): it forwards, refuses, holds
// one direction, delays, and heals by closing what it held.

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <string>
#include <thread>

#include <catch2/catch.hpp>

#include "tools/ra-nemesis/tcp_proxy.hpp"

using namespace std::chrono_literals;
using ra::nemesis::link_state;
using ra::nemesis::tcp_proxy;

namespace {

sockaddr_in loopback(uint16_t port) {
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(port);
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  return a;
}

struct socket_fd {
  int fd = -1;
  explicit socket_fd(int f) : fd{f} {}
  socket_fd(socket_fd&& o) noexcept : fd{o.fd} { o.fd = -1; }
  ~socket_fd() {
    if (fd >= 0) ::close(fd);
  }
};

/// A listening socket on a free loopback port.
struct listener {
  socket_fd s{::socket(AF_INET, SOCK_STREAM, 0)};
  uint16_t port = 0;
  listener() {
    auto a = loopback(0);
    REQUIRE(::bind(s.fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0);
    REQUIRE(::listen(s.fd, 8) == 0);
    socklen_t len = sizeof a;
    ::getsockname(s.fd, reinterpret_cast<sockaddr*>(&a), &len);
    port = ntohs(a.sin_port);
  }
  socket_fd accept_one() { return socket_fd{::accept(s.fd, nullptr, nullptr)}; }
};

socket_fd dial(uint16_t port) {
  socket_fd s{::socket(AF_INET, SOCK_STREAM, 0)};
  auto a = loopback(port);
  REQUIRE(::connect(s.fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0);
  return s;
}

void send_all(const socket_fd& s, const std::string& text) {
  REQUIRE(::send(s.fd, text.data(), text.size(), MSG_NOSIGNAL) == static_cast<ssize_t>(text.size()));
}

/// What arrives within `limit` (up to `want` bytes); "" on a timeout, "<closed>" on EOF or error.
std::string receive(const socket_fd& s, size_t want, std::chrono::milliseconds limit) {
  timeval tv{0, static_cast<suseconds_t>(std::chrono::microseconds{limit}.count())};
  if (limit >= 1s) tv = {static_cast<time_t>(limit.count() / 1000), static_cast<suseconds_t>(limit.count() % 1000 * 1000)};
  ::setsockopt(s.fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  std::string out;
  while (out.size() < want) {
    char buf[256];
    auto n = ::recv(s.fd, buf, std::min(sizeof buf, want - out.size()), 0);
    if (n == 0) return "<closed>";
    if (n < 0) return errno == EAGAIN || errno == EWOULDBLOCK ? out : std::string{"<closed>"};
    out.append(buf, static_cast<size_t>(n));
  }
  return out;
}

}  // namespace

TEST_CASE("nemesis proxy: forwards both directions to its target", "[nemesis]") {
  listener target;
  tcp_proxy proxy{target.port};
  auto client = dial(proxy.port());
  auto server = target.accept_one();
  send_all(client, "ping");
  CHECK(receive(server, 4, 2s) == "ping");
  send_all(server, "pong");
  CHECK(receive(client, 4, 2s) == "pong");
  CHECK(proxy.accepted() == 1);
}

TEST_CASE("nemesis proxy: refuse closes the open connections and every new one", "[nemesis]") {
  listener target;
  tcp_proxy proxy{target.port};
  auto client = dial(proxy.port());
  auto server = target.accept_one();
  link_state s;
  s.refuse = true;
  proxy.set_state(s);
  CHECK(receive(client, 1, 2s) == "<closed>");
  CHECK(receive(server, 1, 2s) == "<closed>");
  auto again = dial(proxy.port());  // accepted by the kernel, then closed by the proxy
  CHECK(receive(again, 1, 2s) == "<closed>");
  proxy.heal();
  auto healed = dial(proxy.port());
  auto server2 = target.accept_one();
  send_all(healed, "back");
  CHECK(receive(server2, 4, 2s) == "back");
}

TEST_CASE("nemesis proxy: a blocked direction holds its bytes, the other passes, heal closes", "[nemesis]") {
  listener target;
  tcp_proxy proxy{target.port};
  auto client = dial(proxy.port());
  auto server = target.accept_one();
  link_state s;
  s.block_forward = true;  // the dialler's bytes are held
  proxy.set_state(s);
  std::this_thread::sleep_for(50ms);
  send_all(client, "held");
  CHECK(receive(server, 4, 300ms).empty());
  send_all(server, "free");
  CHECK(receive(client, 4, 2s) == "free");
  proxy.heal();  // the connection that held bytes is closed: they are lost, not delivered late
  CHECK(receive(server, 4, 2s) == "<closed>");
  CHECK(receive(client, 1, 2s) == "<closed>");
}

TEST_CASE("nemesis proxy: the backward direction can be held alone", "[nemesis]") {
  listener target;
  tcp_proxy proxy{target.port};
  auto client = dial(proxy.port());
  auto server = target.accept_one();
  link_state s;
  s.block_backward = true;
  proxy.set_state(s);
  std::this_thread::sleep_for(50ms);
  send_all(server, "held");
  CHECK(receive(client, 4, 300ms).empty());
  send_all(client, "free");
  CHECK(receive(server, 4, 2s) == "free");
}

TEST_CASE("nemesis proxy: a delay holds every byte at least that long", "[nemesis]") {
  listener target;
  tcp_proxy proxy{target.port};
  auto client = dial(proxy.port());
  auto server = target.accept_one();
  link_state s;
  s.delay = 200ms;
  proxy.set_state(s);
  std::this_thread::sleep_for(50ms);
  const auto t0 = std::chrono::steady_clock::now();
  send_all(client, "slow");
  CHECK(receive(server, 4, 3s) == "slow");
  CHECK(std::chrono::steady_clock::now() - t0 >= 200ms);
}
