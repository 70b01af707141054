#include "tools/ra-bench/child_process.hpp"

#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <stdexcept>

namespace ra::bench {

child_process spawn_self(const std::vector<std::string>& args) {
  std::vector<std::string> copy{"ra-bench"};
  copy.insert(copy.end(), args.begin(), args.end());
  std::vector<char*> argv;
  for (auto& a : copy) argv.push_back(a.data());
  argv.push_back(nullptr);
  int fds[2];
  if (::pipe(fds) != 0) throw std::runtime_error("pipe failed");
  child_process c;
  c.forked = std::chrono::steady_clock::now();
  c.pid = ::fork();
  if (c.pid < 0) throw std::runtime_error("fork failed");
  if (c.pid == 0) {
    ::dup2(fds[1], STDOUT_FILENO);
    ::close(fds[0]);
    ::close(fds[1]);
    ::execv("/proc/self/exe", argv.data());
    ::_exit(127);
  }
  ::close(fds[1]);
  c.out = ::fdopen(fds[0], "r");
  return c;
}

std::string read_tagged_line(child_process& c, const std::string& tag) {
  char* line = nullptr;
  size_t cap = 0;
  while (::getline(&line, &cap, c.out) > 0) {
    std::string s{line};
    if (s.rfind(tag + " ", 0) == 0) {
      std::free(line);
      s = s.substr(tag.size() + 1);
      if (!s.empty() && s.back() == '\n') s.pop_back();
      return s;
    }
  }
  std::free(line);
  throw std::runtime_error("child " + std::to_string(c.pid) + " ended without a " + tag + " line");
}

int wait_child(child_process& c) {
  int status = 0;
  ::waitpid(c.pid, &status, 0);
  if (c.out) ::fclose(c.out);
  c.out = nullptr;
  return status;
}

}  // namespace ra::bench
