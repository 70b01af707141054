#include "tools/ra-nemesis/node_process.hpp"

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstring>
#include <fstream>
#include <stdexcept>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

extern char** environ;

namespace ra::nemesis {

namespace fs = std::filesystem;

void node_process::write_config(const std::map<std::string, uint16_t>& peer_ports) const {
  nlohmann::json j;
  j["name"] = name;
  j["data_dir"] = data_dir().string();
  j["listen_host"] = "127.0.0.1";
  j["listen_port"] = port;
  for (auto& [peer, p] : peer_ports) j["peers"][peer] = "127.0.0.1:" + std::to_string(p);
  j["machines"] = {"kv"};
  j["log_level"] = "info";
  // Partitions and pauses are seen within a second, so a 30 s run sees many of them.
  j["node_ping_interval_ms"] = 200;
  j["node_down_after_ms"] = 1000;
  j["test_disk_faults_file"] = disk_switch().string();
  std::ofstream out{config_file(), std::ios::trunc};
  out << j.dump(2) << "\n";
  if (!out.flush()) throw std::runtime_error("cannot write " + config_file().string());
}

void node_process::start(const std::string& ra_node, std::chrono::milliseconds limit) {
  std::error_code ec;
  fs::remove(port_file(), ec);
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  const auto log = log_file().string();
  posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO, log.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
  posix_spawn_file_actions_adddup2(&actions, STDOUT_FILENO, STDERR_FILENO);
  posix_spawn_file_actions_addopen(&actions, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
  std::vector<std::string> args{ra_node, config_file().string(), "--port-file", port_file().string()};
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  pid_t child = -1;
  int rc = posix_spawn(&child, ra_node.c_str(), &actions, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  if (rc != 0) throw std::runtime_error("cannot start " + ra_node + ": " + std::strerror(rc));
  pid = child;
  paused = false;
  ++starts;
  const auto until = std::chrono::steady_clock::now() + limit;
  while (!fs::exists(port_file())) {
    if (exited()) throw std::runtime_error("node " + name + " exited at start; see " + log);
    if (std::chrono::steady_clock::now() >= until) {
      kill9();
      throw std::runtime_error("node " + name + " did not publish its port in time; see " + log);
    }
    std::this_thread::sleep_for(std::chrono::milliseconds{10});
  }
}

bool node_process::exited() {
  if (pid <= 0) return true;
  int status = 0;
  if (::waitpid(pid, &status, WNOHANG) == pid) {
    pid = -1;
    paused = false;
    return true;
  }
  return false;
}

void node_process::kill9() {
  if (pid <= 0) return;
  ::kill(pid, SIGKILL);
  int status = 0;
  ::waitpid(pid, &status, 0);
  pid = -1;
  paused = false;
}

void node_process::stop(std::chrono::milliseconds limit) {
  if (pid <= 0) return;
  if (paused) resume();
  ::kill(pid, SIGTERM);
  const auto until = std::chrono::steady_clock::now() + limit;
  while (!exited()) {
    if (std::chrono::steady_clock::now() >= until) return kill9();
    std::this_thread::sleep_for(std::chrono::milliseconds{10});
  }
}

void node_process::pause() {
  if (pid > 0 && !paused && ::kill(pid, SIGSTOP) == 0) paused = true;
}

void node_process::resume() {
  if (pid > 0 && paused && ::kill(pid, SIGCONT) == 0) paused = false;
}

void node_process::set_disk(const std::string& mode) const {
  // Written whole, then renamed: the node never reads half a mode.
  const auto tmp = disk_switch().string() + ".tmp";
  {
    std::ofstream out{tmp, std::ios::trunc};
    out << mode << "\n";
  }
  fs::rename(tmp, disk_switch());
}

}  // namespace ra::nemesis
