#include "actors/server_data.hpp"

#include <filesystem>

#include "actors/system_core.hpp"

namespace ra::detail {

expected<void, api_error> delete_server_data(system_core& core, const std::string& name, const std::string& uid) {
  std::string err;
  {
    std::lock_guard lk{core.meta_mx};
    if (auto st = core.meta->remove(uid); !st) err = "meta store: " + st.error().message();
  }
  std::error_code ec;
  std::filesystem::remove_all(core.server_dir(uid), ec);
  if (ec && err.empty()) err = core.server_dir(uid) + ": " + ec.message();
  std::lock_guard lk{core.mx};
  if (auto it = core.directory.find(name); it != core.directory.end() && it->second.uid == uid)
    core.directory.erase(it);
  if (!err.empty()) return make_api_error(api_errc::storage, err);
  return {};
}

}  // namespace ra::detail
