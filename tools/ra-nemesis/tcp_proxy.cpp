#include "tools/ra-nemesis/tcp_proxy.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <deque>
#include <list>
#include <mutex>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

namespace ra::nemesis {

namespace {

using clock_type = std::chrono::steady_clock;

/// An owned file descriptor.
class fd_handle {
 public:
  fd_handle() = default;
  explicit fd_handle(int fd) : fd_{fd} {}
  fd_handle(fd_handle&& o) noexcept : fd_{o.fd_} { o.fd_ = -1; }
  fd_handle& operator=(fd_handle&& o) noexcept {
    if (this != &o) {
      reset();
      fd_ = o.fd_;
      o.fd_ = -1;
    }
    return *this;
  }
  ~fd_handle() { reset(); }
  int get() const { return fd_; }
  explicit operator bool() const { return fd_ >= 0; }
  void reset() {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
  }

 private:
  int fd_ = -1;
};

void set_nonblocking(int fd) { ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) | O_NONBLOCK); }

sockaddr_in loopback(uint16_t port) {
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(port);
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  return a;
}

/// Bytes read from one side, due on the other side at `due`.
struct chunk {
  clock_type::time_point due;
  std::string bytes;
  size_t sent = 0;
};

/// One direction of a connection.
struct pipe_dir {
  std::deque<chunk> queue;
  size_t queued = 0;
  bool ready(clock_type::time_point now) const { return !queue.empty() && queue.front().due <= now; }
};

/// Beyond this many queued bytes a direction stops reading (the sender is then held
/// back by TCP, as it would be by a slow link).
constexpr size_t max_queued = size_t{4} << 20;

struct connection {
  fd_handle dialler;   // accepted from the node that dialled
  fd_handle listener;  // our connection to the node dialled
  bool connecting = true;
  bool tainted = false;  // a direction was blocked while it lived: heal() closes it
  pipe_dir forward, backward;
};

}  // namespace

struct tcp_proxy::impl {
  fd_handle listen_fd;
  fd_handle wake_fd;
  uint16_t port = 0;
  std::atomic<uint64_t> accepted{0};

  std::mutex mx;  // guards the fields below
  uint16_t target = 0;
  link_state state;
  bool close_all = false;
  bool close_tainted = false;
  bool stopping = false;

  std::list<connection> conns;  // the loop thread's alone
  std::thread loop_thread;

  void wake() {
    uint64_t one = 1;
    [[maybe_unused]] auto n = ::write(wake_fd.get(), &one, sizeof one);
  }

  void run();
  void accept_one(uint16_t target_port, const link_state& s);
  /// Reads from `from` into `dir`; false when the connection must close.
  static bool pump_in(int from, pipe_dir& dir, std::chrono::milliseconds delay);
  /// Writes what is due from `dir` to `to`; false when the connection must close.
  static bool pump_out(int to, pipe_dir& dir, clock_type::time_point now);
};

tcp_proxy::tcp_proxy(uint16_t target_port) : impl_{std::make_unique<impl>()} {
  auto& m = *impl_;
  m.target = target_port;
  m.listen_fd = fd_handle{::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)};
  if (!m.listen_fd) throw std::runtime_error(std::string("proxy socket: ") + std::strerror(errno));
  int on = 1;
  ::setsockopt(m.listen_fd.get(), SOL_SOCKET, SO_REUSEADDR, &on, sizeof on);
  auto addr = loopback(0);
  if (::bind(m.listen_fd.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
      ::listen(m.listen_fd.get(), 64) != 0)
    throw std::runtime_error(std::string("proxy listen: ") + std::strerror(errno));
  socklen_t len = sizeof addr;
  ::getsockname(m.listen_fd.get(), reinterpret_cast<sockaddr*>(&addr), &len);
  m.port = ntohs(addr.sin_port);
  set_nonblocking(m.listen_fd.get());
  m.wake_fd = fd_handle{::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)};
  if (!m.wake_fd) throw std::runtime_error(std::string("proxy eventfd: ") + std::strerror(errno));
  m.loop_thread = std::thread{[&m] { m.run(); }};
}

tcp_proxy::~tcp_proxy() {
  {
    std::lock_guard lk{impl_->mx};
    impl_->stopping = true;
  }
  impl_->wake();
  impl_->loop_thread.join();
}

uint16_t tcp_proxy::port() const { return impl_->port; }
uint64_t tcp_proxy::accepted() const { return impl_->accepted.load(); }

void tcp_proxy::set_target(uint16_t target_port) {
  std::lock_guard lk{impl_->mx};
  impl_->target = target_port;
}

void tcp_proxy::set_state(const link_state& s) {
  {
    std::lock_guard lk{impl_->mx};
    impl_->state = s;
    if (s.refuse) impl_->close_all = true;
  }
  impl_->wake();
}

void tcp_proxy::heal() {
  {
    std::lock_guard lk{impl_->mx};
    impl_->state = link_state{};
    impl_->close_tainted = true;
  }
  impl_->wake();
}

void tcp_proxy::impl::accept_one(uint16_t target_port, const link_state& s) {
  fd_handle in{::accept4(listen_fd.get(), nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC)};
  if (!in) return;
  ++accepted;
  if (s.refuse) return;  // closed at once: the dialler sees a reset link
  fd_handle out{::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0)};
  if (!out) return;
  int on = 1;
  ::setsockopt(in.get(), IPPROTO_TCP, TCP_NODELAY, &on, sizeof on);
  ::setsockopt(out.get(), IPPROTO_TCP, TCP_NODELAY, &on, sizeof on);
  auto addr = loopback(target_port);
  if (::connect(out.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 && errno != EINPROGRESS) return;
  connection c;
  c.dialler = std::move(in);
  c.listener = std::move(out);
  conns.push_back(std::move(c));
}

bool tcp_proxy::impl::pump_in(int from, pipe_dir& dir, std::chrono::milliseconds delay) {
  char buf[65536];
  auto n = ::recv(from, buf, sizeof buf, 0);
  if (n == 0) return false;
  if (n < 0) return errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR;
  dir.queue.push_back(chunk{clock_type::now() + delay, std::string(buf, static_cast<size_t>(n)), 0});
  dir.queued += static_cast<size_t>(n);
  return true;
}

bool tcp_proxy::impl::pump_out(int to, pipe_dir& dir, clock_type::time_point now) {
  while (dir.ready(now)) {
    auto& c = dir.queue.front();
    auto n = ::send(to, c.bytes.data() + c.sent, c.bytes.size() - c.sent, MSG_NOSIGNAL);
    if (n < 0) return errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR;
    c.sent += static_cast<size_t>(n);
    dir.queued -= static_cast<size_t>(n);
    if (c.sent < c.bytes.size()) return true;
    dir.queue.pop_front();
  }
  return true;
}

void tcp_proxy::impl::run() {
  std::vector<pollfd> fds;
  for (;;) {
    link_state s;
    uint16_t target_port = 0;
    {
      std::lock_guard lk{mx};
      if (stopping) break;
      s = state;
      target_port = target;
      if (close_all) conns.clear();
      if (close_tainted)
        conns.remove_if([](const connection& c) { return c.tainted; });
      close_all = close_tainted = false;
    }
    const auto now = clock_type::now();
    auto timeout = std::chrono::milliseconds{200};
    fds.clear();
    fds.push_back({wake_fd.get(), POLLIN, 0});
    fds.push_back({listen_fd.get(), POLLIN, 0});
    for (auto& c : conns) {
      if (s.block_forward || s.block_backward) c.tainted = true;
      short a = 0, b = 0;
      if (c.connecting) {
        b = POLLOUT;
      } else {
        if (!s.block_forward && c.forward.queued < max_queued) a |= POLLIN;
        if (!s.block_backward && c.backward.queued < max_queued) b |= POLLIN;
        if (c.forward.ready(now)) b |= POLLOUT;
        if (c.backward.ready(now)) a |= POLLOUT;
        for (auto* d : {&c.forward, &c.backward})
          if (!d->queue.empty() && d->queue.front().due > now)
            timeout = std::min(timeout, std::chrono::ceil<std::chrono::milliseconds>(d->queue.front().due - now));
      }
      fds.push_back({c.dialler.get(), a, 0});
      fds.push_back({c.listener.get(), b, 0});
    }
    ::poll(fds.data(), fds.size(), static_cast<int>(timeout.count()));
    if (fds[0].revents & POLLIN) {
      uint64_t v;
      [[maybe_unused]] auto n = ::read(wake_fd.get(), &v, sizeof v);
    }
    if (fds[1].revents & POLLIN) accept_one(target_port, s);
    const auto after = clock_type::now();
    size_t i = 2;
    for (auto it = conns.begin(); it != conns.end() && i + 1 < fds.size(); i += 2) {
      auto& c = *it;
      const auto ra = fds[i].revents, rb = fds[i + 1].revents;
      bool keep = true;
      if (c.connecting) {
        if (rb & (POLLOUT | POLLERR | POLLHUP)) {
          int err = 0;
          socklen_t len = sizeof err;
          ::getsockopt(c.listener.get(), SOL_SOCKET, SO_ERROR, &err, &len);
          if (err != 0) keep = false;
          else c.connecting = false;
        }
        if (ra & (POLLERR | POLLHUP)) keep = false;
      } else {
        if (keep && (ra & (POLLIN | POLLHUP | POLLERR)) && (fds[i].events & POLLIN))
          keep = pump_in(c.dialler.get(), c.forward, s.delay);
        if (keep && (rb & (POLLIN | POLLHUP | POLLERR)) && (fds[i + 1].events & POLLIN))
          keep = pump_in(c.listener.get(), c.backward, s.delay);
        if (keep) keep = pump_out(c.listener.get(), c.forward, after);
        if (keep) keep = pump_out(c.dialler.get(), c.backward, after);
        // An error on a side we do not read (blocked) still ends the connection.
        if (keep && ((ra | rb) & POLLERR)) keep = false;
      }
      it = keep ? std::next(it) : conns.erase(it);
    }
  }
  conns.clear();
}

}  // namespace ra::nemesis
