// An installed-package consumer of ra/prometheus.hpp (test/package/install_consumer.sh):
// a system serves its metrics on a free port and a plain HTTP GET of /metrics returns the
// ra_servers family. Exit 0 only if it does.

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>

#include "ra/api.hpp"
#include "ra/prometheus.hpp"

namespace {

std::string http_get_metrics(uint16_t port) {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return {};
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  std::string body;
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0) {
    const std::string req = "GET /metrics HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n";
    if (::write(fd, req.data(), req.size()) == static_cast<ssize_t>(req.size())) {
      char buf[4096];
      for (ssize_t n; (n = ::read(fd, buf, sizeof buf)) > 0;) body.append(buf, static_cast<size_t>(n));
    }
  }
  ::close(fd);
  return body;
}

}  // namespace

int main() {
  std::string pattern = (std::filesystem::temp_directory_path() / "ra-metrics-consumer-XXXXXX").string();
  if (!::mkdtemp(pattern.data())) return std::perror("mkdtemp"), 1;
  int rc = 1;
  {
    ra::system_config cfg;
    cfg.name = "metrics_node";
    cfg.data_dir = pattern;
    auto sys = ra::system::start(cfg);
    if (!sys) return std::fprintf(stderr, "system: %s\n", sys.error().to_string().c_str()), 1;
    auto endpoint = ra::serve_metrics(**sys, "127.0.0.1:0");
    if (!endpoint) return std::fprintf(stderr, "serve_metrics: %s\n", endpoint.error().to_string().c_str()), 1;
    const std::string answer = http_get_metrics((*endpoint)->port());
    if (answer.find("ra_servers") != std::string::npos) {
      std::printf("metrics served on port %u\n", static_cast<unsigned>((*endpoint)->port()));
      rc = 0;
    } else {
      std::fprintf(stderr, "GET /metrics did not return ra_servers:\n%s\n", answer.c_str());
    }
  }
  std::filesystem::remove_all(pattern);
  return rc;
}
