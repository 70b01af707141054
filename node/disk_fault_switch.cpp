#include "node/disk_fault_switch.hpp"

#include <cerrno>
#include <chrono>
#include <fstream>
#include <mutex>
#include <vector>

#include <spdlog/spdlog.h>

namespace ra::detail {

disk_fault_switch::disk_fault_switch(std::string control_file)
    : control_file_{std::move(control_file)}, fs_{storage::file_system::posix()} {
  fs_.set_rule([this](std::string_view op, const std::string&) -> int {
    if (full_.load(std::memory_order_relaxed) &&
        (op == "write" || op == "writev" || op == "pwrite" || op == "mkdir" || op == "truncate"))
      return ENOSPC;
    if (const int ms = slow_ms_.load(std::memory_order_relaxed); ms > 0 && (op == "sync" || op == "sync_directory"))
      std::this_thread::sleep_for(std::chrono::milliseconds{ms});
    return 0;
  });
  poll();
  poller_ = std::thread{[this] {
    while (!stop_.load()) {
      std::this_thread::sleep_for(std::chrono::milliseconds{50});
      poll();
    }
  }};
}

disk_fault_switch::~disk_fault_switch() {
  stop_ = true;
  poller_.join();
}

void disk_fault_switch::poll() {
  std::ifstream in{control_file_};
  std::string mode;
  int ms = 0;
  if (in) in >> mode;
  if (mode == "slow") in >> ms;
  const bool full = mode == "full";
  const int slow = mode == "slow" && ms > 0 ? ms : 0;
  const bool full_changed = full != full_.exchange(full);
  const bool slow_changed = slow != slow_ms_.exchange(slow);
  if (full_changed || slow_changed)
    spdlog::warn("test disk faults: {}", full ? "full disk" : slow ? "slow disk, +" + std::to_string(slow) + " ms per sync" : "off");
}

storage::file_system& process_disk_fault_switch(const std::string& control_file) {
  static std::mutex mx;
  static std::vector<std::unique_ptr<disk_fault_switch>> switches;
  std::lock_guard lk{mx};
  switches.push_back(std::make_unique<disk_fault_switch>(control_file));
  return switches.back()->fs();
}

}  // namespace ra::detail
