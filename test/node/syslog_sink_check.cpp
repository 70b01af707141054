// The syslog sink (log_config sink "syslog"): a system started with it sends its lines to
// /dev/log with the configured ident, in the text and the json format. This program plays
// syslogd: it binds a datagram socket at /dev/log and reads what arrives.
//
// Exit 0 if every check passed, 1 if one failed, 77 (ctest: skipped) where it cannot stand
// in for syslogd: /dev/log already exists (a real syslog daemon owns it) or cannot be
// created (not root).

#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include "ra/api.hpp"
#include "ra/logging.hpp"

namespace {

constexpr const char* dev_log = "/dev/log";
int failures = 0;

void check(bool ok, const std::string& what) {
  if (!ok) {
    std::fprintf(stderr, "FAIL: %s\n", what.c_str());
    ++failures;
  }
}

/// The datagrams that arrive within `ms` of the last one.
std::vector<std::string> drain(int fd, int ms) {
  std::vector<std::string> got;
  pollfd p{fd, POLLIN, 0};
  while (::poll(&p, 1, ms) == 1) {
    char buf[8192];
    const ssize_t n = ::recv(fd, buf, sizeof buf, 0);
    if (n <= 0) break;
    got.emplace_back(buf, static_cast<size_t>(n));
  }
  return got;
}

/// The datagram whose text contains `needle`, or "".
std::string find(const std::vector<std::string>& got, const std::string& needle) {
  for (auto& g : got)
    if (g.find(needle) != std::string::npos) return g;
  return {};
}

}  // namespace

int main() {
  if (std::filesystem::exists(dev_log)) {
    std::fprintf(stderr, "skipped: %s exists (a syslog daemon owns it)\n", dev_log);
    return 77;
  }
  const int fd = ::socket(AF_UNIX, SOCK_DGRAM, 0);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::strcpy(addr.sun_path, dev_log);
  if (fd < 0 || ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    std::fprintf(stderr, "skipped: cannot bind %s: %s\n", dev_log, std::strerror(errno));
    return 77;
  }
  struct unlink_at_exit {
    ~unlink_at_exit() { ::unlink(dev_log); }
  } remove_socket;
  std::string data = (std::filesystem::temp_directory_path() / "ra-syslog-XXXXXX").string();
  if (!::mkdtemp(data.data())) return std::perror("mkdtemp"), 1;
  struct remove_at_exit {
    std::string path;
    ~remove_at_exit() { std::filesystem::remove_all(path); }
  } remove_data{data};

  // Text: syslog stamps time and level, so a line is "<PRI>TIMESTAMP ident: [system] message".
  ra::log_config lc;
  lc.sink = "syslog";
  lc.syslog_ident = "ra-sysl";
  {
    ra::system_config cfg;
    cfg.name = "syslogged";
    cfg.data_dir = data + "/data";
    cfg.logging = lc;
    auto sys = ra::system::start(std::move(cfg));
    check(static_cast<bool>(sys), "a system starts with the syslog sink");
    spdlog::warn("[syslogged] a warning for syslog");
    if (sys) (*sys)->stop();
  }
  auto text = drain(fd, 500);
  const auto started = find(text, "[syslogged] system started");
  check(!started.empty(), "the runtime's 'system started' line reaches syslog");
  check(started.find("ra-sysl") != std::string::npos, "the line carries the ident: " + started);
  check(started.find("<14>") == 0, "facility user, level info (<14>): " + started);
  const auto warned = find(text, "[syslogged] a warning for syslog");
  check(warned.find("<12>") == 0, "a warning is sent at syslog's warning level (<12>): " + warned);
  check(warned.find("[warning]") == std::string::npos, "the text format leaves level and time to syslog: " + warned);

  // JSON: the message part is one JSON object.
  lc.format = "json";
  if (auto applied = ra::apply_log_config(lc); !applied) check(false, "json syslog: " + applied.error());
  spdlog::info("[syslogged] json \"quoted\"");
  auto json = drain(fd, 500);
  const auto line = find(json, "json \\\"quoted\\\"");
  check(!line.empty(), "the json line reaches syslog");
  check(line.find("ra-sysl") != std::string::npos, "the json line carries the ident after the switch: " + line);
  const auto brace = line.find('{');
  auto parsed = nlohmann::json::parse(brace == std::string::npos ? std::string{} : line.substr(brace), nullptr, false);
  check(!parsed.is_discarded() && parsed["message"] == "[syslogged] json \"quoted\"",
        "the json syslog message parses with the message intact: " + line);
  auto restored = ra::apply_log_config(ra::log_config{});
  check(restored.has_value(), "the default logging config applies again");

  if (failures == 0) std::printf("syslog sink: all checks passed\n");
  return failures == 0 ? 0 : 1;
}
