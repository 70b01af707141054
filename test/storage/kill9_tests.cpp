// kill -9 test: a child process runs a 3-member cluster on real storage and reports every
// command it submits and every acknowledgement; it is killed at random moments and
// restarted on the same data. After each restart the recovered state must contain every
// acknowledged command, in order, nothing that was never submitted, and everything any
// earlier recovery had seen committed.
//   RA_KILL9_ITERATIONS (default 15) sets the number of kills; RA_KILL9_SEED the seed.
#include <catch2/catch.hpp>

#include <atomic>
#include <csignal>
#include <cstdlib>
#include <filesystem>
#include <optional>
#include <poll.h>
#include <random>
#include <set>
#include <sstream>
#include <sys/wait.h>
#include <unistd.h>

namespace {

struct child {
  pid_t pid = -1;
  int out = -1;
  std::string buffer;

  child(const std::string& dir, int64_t first_value) {
    int fds[2];
    REQUIRE(::pipe(fds) == 0);
    pid = ::fork();
    REQUIRE(pid >= 0);
    if (pid == 0) {
      ::dup2(fds[1], 1);
      ::close(fds[0]);
      ::close(fds[1]);
      auto v = std::to_string(first_value);
      ::execl(RA_KILL9_CHILD, RA_KILL9_CHILD, dir.c_str(), v.c_str(), static_cast<char*>(nullptr));
      ::_exit(127);
    }
    ::close(fds[1]);
    out = fds[0];
  }
  ~child() {
    if (pid > 0) {
      ::kill(pid, SIGKILL);
      ::waitpid(pid, nullptr, 0);
    }
    if (out >= 0) ::close(out);
  }

  /// Next complete line, waiting at most `ms`; empty at EOF or timeout.
  std::optional<std::string> line(int ms) {
    auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(ms);
    for (;;) {
      if (auto nl = buffer.find('\n'); nl != std::string::npos) {
        auto l = buffer.substr(0, nl);
        buffer.erase(0, nl + 1);
        return l;
      }
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now()).count();
      if (left <= 0) return std::nullopt;
      pollfd p{out, POLLIN, 0};
      if (::poll(&p, 1, static_cast<int>(left)) <= 0) continue;
      char buf[4096];
      auto n = ::read(out, buf, sizeof buf);
      if (n <= 0) return std::nullopt;
      buffer.append(buf, static_cast<size_t>(n));
    }
  }

  void kill9() {
    ::kill(pid, SIGKILL);
    int status = 0;
    ::waitpid(pid, &status, 0);
    pid = -1;
  }
};

struct history {
  std::vector<int64_t> acked;      // in acknowledgement order
  std::set<int64_t> submitted;
  std::vector<int64_t> last_state;
  int64_t max_submitted = 0;

  void record(const std::string& l) {
    std::istringstream in(l);
    std::string kind;
    int64_t v;
    in >> kind >> v;
    if (kind == "SUBMIT") {
      submitted.insert(v);
      max_submitted = std::max(max_submitted, v);
    } else if (kind == "ACK") {
      acked.push_back(v);
    }
  }

  /// Checks a recovered state; returns a description of the first violation.
  std::string check(const std::vector<int64_t>& state) const {
    for (size_t i = 1; i < state.size(); ++i)
      if (state[i] <= state[i - 1]) return "state not strictly increasing at position " + std::to_string(i);
    for (auto v : state)
      if (!submitted.count(v)) return "value " + std::to_string(v) + " was never submitted";
    std::set<int64_t> in_state(state.begin(), state.end());
    for (auto v : acked)
      if (!in_state.count(v)) return "acknowledged value " + std::to_string(v) + " is missing";
    if (state.size() < last_state.size() || !std::equal(last_state.begin(), last_state.end(), state.begin()))
      return "an earlier recovered state is not a prefix of this one";
    return {};
  }
};

std::vector<int64_t> parse_state(const std::string& line) {
  std::istringstream in(line.substr(5));
  std::vector<int64_t> out;
  for (int64_t v; in >> v;) out.push_back(v);
  return out;
}

}  // namespace

TEST_CASE("kill -9 at random moments never loses an acknowledged command", "[storage][kill9]") {
  int iterations = 15;
  if (auto e = std::getenv("RA_KILL9_ITERATIONS")) iterations = std::atoi(e);
  uint64_t seed = 12345;
  if (auto e = std::getenv("RA_KILL9_SEED")) seed = std::strtoull(e, nullptr, 10);
  std::mt19937_64 rng{seed};
  auto dir = (std::filesystem::temp_directory_path() / ("ra-kill9-" + std::to_string(::getpid()))).string();
  std::filesystem::remove_all(dir);
  history h;
  INFO("seed " << seed << ", data dir " << dir);
  for (int it = 0; it <= iterations; ++it) {
    INFO("iteration " << it);
    child c{dir, h.max_submitted + 1};
    std::optional<std::string> l;
    while ((l = c.line(30000)) && !l->starts_with("STATE")) h.record(*l);
    REQUIRE(l);  // the cluster recovered and elected a leader
    auto state = parse_state(*l);
    auto violation = h.check(state);
    if (!violation.empty()) FAIL("after kill " << it << ": " << violation);
    h.last_state = state;
    if (it == iterations) break;
    // Let it work for a random while, then kill it mid-flight.
    auto run_for = std::uniform_int_distribution<int>{5, 250}(rng);
    auto until = std::chrono::steady_clock::now() + std::chrono::milliseconds(run_for);
    while (std::chrono::steady_clock::now() < until)
      if (auto x = c.line(5)) h.record(*x);
    c.kill9();
    while (auto x = c.line(100)) h.record(*x);  // what it wrote before dying
  }
  std::filesystem::remove_all(dir);
  CHECK(h.acked.size() > static_cast<size_t>(iterations));  // the workload made progress
  WARN("kill -9: " << iterations << " kills, " << h.acked.size() << " acknowledged commands, all recovered");
}
