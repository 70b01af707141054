#include "io/atomic_write.hpp"

#include <filesystem>

namespace ra::storage {

namespace {
std::string parent_directory(const std::string& path) {
  auto parent = std::filesystem::path(path).parent_path();
  return parent.empty() ? std::string(".") : parent.string();
}
}  // namespace

io_status write_file_atomically(file_system& fs, const std::string& path, std::span<const char> data,
                                sync_method sync) {
  const std::string tmp = path + ".tmp";
  const bool durable = sync != sync_method::none;
  {
    auto f = fs.open(tmp, {open_mode::create});
    if (!f)
      return f.error();
    if (auto st = (*f)->write(data); !st)
      return st.error();
    if (durable) {
      if (auto st = (*f)->sync(sync); !st)
        return st.error();
    }
  }  // closed before the rename
  if (auto st = fs.rename(tmp, path); !st)
    return st.error();
  if (!durable)
    return io_ok();
  return fs.sync_directory(parent_directory(path));
}

}  // namespace ra::storage
