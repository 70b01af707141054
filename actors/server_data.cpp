#include "actors/server_data.hpp"

#include <spdlog/spdlog.h>

#include "actors/system_core.hpp"
#include "io/file.hpp"

namespace ra::detail {

namespace {

constexpr std::string_view tombstone_suffix = ".deleted";

/// Removes a tombstone's tree and makes the removal durable.
storage::io_status remove_tombstone(storage::file_system& fs, const std::string& data_dir, const std::string& tomb) {
  if (auto st = storage::remove_tree(fs, tomb); !st) return st;
  return fs.sync_directory(data_dir);
}

}  // namespace

std::string tombstone_dir(const system_core& core, const std::string& uid) {
  return core.server_dir(uid) + std::string(tombstone_suffix);
}

expected<void, api_error> delete_server_data(system_core& core, const std::string& name, const std::string& uid) {
  auto& fs = *core.fs;
  auto dir = core.server_dir(uid);
  auto tomb = tombstone_dir(core, uid);
  auto forget = [&] {
    std::lock_guard lk{core.mx};
    if (auto it = core.directory.find(name); it != core.directory.end() && it->second.uid == uid)
      core.directory.erase(it);
  };
  // Review F12: the directory goes first, durably, as one rename. Removing the meta record
  // first would let a crash part-way leave <uid>/config (and part of the log) without
  // its term and vote: the server would come back at term 0 and could vote twice. A
  // tombstone is never loaded as a server, and start finishes its removal.
  if (fs.exists(dir)) {
    if (auto st = fs.rename(dir, tomb); !st) return make_api_error(api_errc::storage, st.error().message());
    if (auto st = fs.sync_directory(core.data_dir); !st)
      return make_api_error(api_errc::storage, st.error().message());
  }
  forget();
  if (auto st = core.meta->remove(uid); !st)
    return make_api_error(api_errc::storage, "meta store: " + st.error().message());
  if (auto st = remove_tombstone(fs, core.data_dir, tomb); !st)
    return make_api_error(api_errc::storage, st.error().message());
  return {};
}

void finish_deletions(system_core& core, const std::string& log_name) {
  auto& fs = *core.fs;
  auto names = fs.list(core.data_dir);
  if (!names) return;
  for (auto& entry : *names) {
    if (entry.size() <= tombstone_suffix.size() || !entry.ends_with(tombstone_suffix)) continue;
    auto uid = entry.substr(0, entry.size() - tombstone_suffix.size());
    auto tomb = core.data_dir + "/" + entry;
    // The meta record may still be there (a crash between the rename and its removal).
    if (auto st = core.meta->remove(uid); !st) {
      spdlog::warn("[{}] deleted server {}: meta store: {}", log_name, uid, st.error().message());
      continue;
    }
    if (auto st = remove_tombstone(fs, core.data_dir, tomb); !st)
      spdlog::warn("[{}] deleted server {}: {}", log_name, uid, st.error().message());
    else
      spdlog::info("[{}] finished the deletion of server {}", log_name, uid);
  }
}

bool is_tombstone(const std::string& dir_name) {
  return dir_name.size() > tombstone_suffix.size() && dir_name.ends_with(tombstone_suffix);
}

}  // namespace ra::detail
