#pragma once
// ra-bench running itself (/proc/self/exe) as child processes (workloads c and dist):
// the child's stdout is a pipe the parent reads tagged lines from.

#include <sys/types.h>

#include <chrono>
#include <cstdio>
#include <string>
#include <vector>

namespace ra::bench {

struct child_process {
  pid_t pid = -1;
  FILE* out = nullptr;  ///< the child's stdout
  std::chrono::steady_clock::time_point forked;
};

/// Runs `ra-bench args...` as a child process with its stdout piped to the parent.
child_process spawn_self(const std::vector<std::string>& args);

/// Reads the child's lines until one starts with `tag` and a space; returns the rest of
/// that line (without the newline). Throws if the child's stdout ends first.
std::string read_tagged_line(child_process& c, const std::string& tag);

/// Waits for the child to end; returns its waitpid status and closes its pipe.
int wait_child(child_process& c);

}  // namespace ra::bench
