// The node program's test-only disk faults (node/disk_fault_switch.hpp), switched from
// outside the process through a control file as ra-nemesis does.

#include <cerrno>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <thread>

#include <catch2/catch.hpp>

#include "node/disk_fault_switch.hpp"

using namespace std::chrono_literals;
namespace fs = std::filesystem;

namespace {

void set_mode(const fs::path& control, const std::string& mode) {
  std::ofstream{control, std::ios::trunc} << mode << "\n";
}

}  // namespace

TEST_CASE("disk fault switch: full fails writes with ENOSPC until ok, slow delays syncs", "[node][disk]") {
  const auto dir = fs::temp_directory_path() / ("disk-switch-" + std::to_string(::getpid()));
  fs::remove_all(dir);
  fs::create_directories(dir);
  const auto control = dir / "disk";
  ra::detail::disk_fault_switch sw{control.string()};
  auto f = sw.fs().open((dir / "data").string(), {ra::storage::open_mode::create});
  REQUIRE(f);
  const std::string bytes = "abc";
  CHECK((*f)->write(bytes));  // no control file: ok

  set_mode(control, "full");
  sw.poll();
  auto failed = (*f)->write(bytes);
  REQUIRE_FALSE(failed);
  CHECK(failed.error().code == ENOSPC);
  CHECK((*f)->sync(ra::storage::sync_method::datasync));  // a sync of what is there still works

  set_mode(control, "slow 300");
  sw.poll();
  CHECK((*f)->write(bytes));
  const auto t0 = std::chrono::steady_clock::now();
  CHECK((*f)->sync(ra::storage::sync_method::datasync));
  CHECK(std::chrono::steady_clock::now() - t0 >= 300ms);

  set_mode(control, "ok");
  std::this_thread::sleep_for(200ms);  // the poller reads it by itself
  const auto t1 = std::chrono::steady_clock::now();
  CHECK((*f)->sync(ra::storage::sync_method::datasync));
  CHECK((*f)->write(bytes));
  CHECK(std::chrono::steady_clock::now() - t1 < 300ms);
  fs::remove_all(dir);
}
