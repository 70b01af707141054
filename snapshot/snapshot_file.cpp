#include "snapshot/snapshot_file.hpp"

#include <algorithm>
#include <cerrno>
#include <cstdio>

#include "snapshot/snapshot_format.hpp"
#include "io/crc32c.hpp"

namespace ra::storage {

namespace format = snapshot_format;

namespace {

constexpr std::string_view snapshot_suffix = ".snapshot";
constexpr std::string_view tmp_suffix = ".tmp";
constexpr size_t hex_digits = 16;

std::string join(const std::string& dir, std::string_view name) { return dir + "/" + std::string{name}; }

std::string base_name(const std::string& path) {
  auto slash = path.rfind('/');
  return slash == std::string::npos ? path : path.substr(slash + 1);
}

std::optional<uint64_t> parse_hex(std::string_view s) {
  if (s.size() != hex_digits) return std::nullopt;
  uint64_t v = 0;
  for (char c : s) {
    int digit = c >= '0' && c <= '9'   ? c - '0'
                : c >= 'A' && c <= 'F' ? c - 'A' + 10
                : c >= 'a' && c <= 'f' ? c - 'a' + 10
                                       : -1;
    if (digit < 0) return std::nullopt;
    v = v << 4 | static_cast<uint64_t>(digit);
  }
  return v;
}

/// (index, term) from "<term:016X>_<index:016X>.snapshot".
std::optional<std::pair<index_t, term_t>> parse_snapshot_file_name(const std::string& name) {
  if (name.size() != 2 * hex_digits + 1 + snapshot_suffix.size() || !name.ends_with(snapshot_suffix) ||
      name[hex_digits] != '_')
    return std::nullopt;
  auto term = parse_hex(std::string_view{name}.substr(0, hex_digits));
  auto index = parse_hex(std::string_view{name}.substr(hex_digits + 1, hex_digits));
  if (!term || !index) return std::nullopt;
  return std::pair{index_t{*index}, term_t{*term}};
}

/// A file whose name says one snapshot and whose meta another was renamed or mixed up:
/// trusting either would be a guess.
io_status check_name_matches(const std::string& path, const snapshot_meta& meta) {
  auto named = parse_snapshot_file_name(base_name(path));
  if (named && (named->first != meta.index || named->second != meta.term))
    return format::corrupt(path, "snapshot name says index " + std::to_string(named->first.value) + " term " +
                                   std::to_string(named->second.value) + " but its meta says index " +
                                   std::to_string(meta.index.value) + " term " + std::to_string(meta.term.value));
  return io_ok();
}

/// Fully checks an open snapshot file without keeping its state in memory.
io_result<format::layout> validate(const file& f) {
  auto l = format::read_layout(f);
  if (!l) return l;
  if (auto r = check_name_matches(f.path(), l->meta); !r) return r.error();
  if (auto r = format::verify_crc(f, *l); !r) return r.error();
  return l;
}

/// Writes `snap` into `dir` under a temporary name, then renames it to its final name.
/// With `durable`, the file is synced before and the directory after the rename.
io_result<std::string> write_into(file_system& fs, const std::string& dir, const stored_snapshot& snap, bool durable) {
  if (auto r = fs.create_directories(dir); !r) return r.error();
  auto final_path = join(dir, snapshot_file_name(snap.meta.index, snap.meta.term));
  auto tmp_path = final_path + std::string{tmp_suffix};
  auto written = [&]() -> io_status {
    auto f = fs.open(tmp_path, {open_mode::create});
    if (!f) return f.error();
    if (auto r = format::write_contents(**f, snap.meta, snap.data.span()); !r) return r;
    if (durable) return (*f)->sync(sync_method::datasync);
    return io_ok();
  }();
  if (written) written = fs.rename(tmp_path, final_path);
  if (!written) {
    (void)fs.remove(tmp_path);  // best effort: a leftover .tmp is never read, and removed later
    return written.error();
  }
  if (durable) {
    if (auto r = fs.sync_directory(dir); !r) return r.error();
  }
  return final_path;
}

}  // namespace

std::string snapshot_file_name(index_t index, term_t term) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%016llX_%016llX.snapshot", static_cast<unsigned long long>(term.value),
                static_cast<unsigned long long>(index.value));
  return buf;
}

io_result<std::vector<snapshot_file_info>> list_snapshot_files(file_system& fs, const std::string& dir) {
  std::vector<snapshot_file_info> out;
  if (!fs.exists(dir)) return out;
  auto names = fs.list(dir);
  if (!names) return names.error();
  for (auto& name : *names)
    if (auto parsed = parse_snapshot_file_name(name)) out.push_back({join(dir, name), parsed->first, parsed->second});
  std::sort(out.begin(), out.end(), [](const snapshot_file_info& a, const snapshot_file_info& b) {
    return std::tie(a.index, a.term) > std::tie(b.index, b.term);
  });
  return out;
}

io_result<stored_snapshot> read_snapshot_file(file_system& fs, const std::string& path) {
  auto f = fs.open(path, {open_mode::read});
  if (!f) return f.error();
  auto l = format::read_layout(**f);
  if (!l) return l.error();
  if (auto r = check_name_matches(path, l->meta); !r) return r.error();
  std::vector<char> state(static_cast<size_t>(l->state_size));
  auto got = (*f)->pread(state, l->state_offset);
  if (!got) return got.error();
  if (*got != state.size()) return format::corrupt(path, "snapshot state truncated");
  if (crc32c(state, l->meta_crc) != l->stored_crc) return format::corrupt(path, "snapshot checksum mismatch");
  return stored_snapshot{std::move(l->meta), shared_bytes{std::move(state)}};
}

io_result<snapshot_meta> read_meta(file_system& fs, const std::string& path) {
  auto f = fs.open(path, {open_mode::read});
  if (!f) return f.error();
  auto l = format::read_layout(**f);
  if (!l) return l.error();
  return std::move(l->meta);
}

io_status remove_superseded_snapshots(file_system& fs, const std::string& server_dir, const std::string& kept_path,
                                      index_t kept_index) {
  auto snapshots_dir = join(server_dir, snapshots_dir_name);
  auto names = fs.list(snapshots_dir);
  if (!names) return names.error();
  bool removed = false;
  for (auto& name : *names) {
    auto path = join(snapshots_dir, name);
    bool superseded = (parse_snapshot_file_name(name) && path != kept_path) || name.ends_with(tmp_suffix);
    if (!superseded) continue;
    if (auto r = fs.remove(path); !r) return r;
    removed = true;
  }
  if (removed) {
    if (auto r = fs.sync_directory(snapshots_dir); !r) return r;
  }
  auto checkpoints = list_snapshot_files(fs, join(server_dir, checkpoints_dir_name));
  if (!checkpoints) return checkpoints.error();
  for (auto& c : *checkpoints) {
    if (c.index > kept_index) continue;
    // Not synced afterwards: checkpoints are never synced, a resurrected one is harmless.
    if (auto r = fs.remove(c.path); !r) return r;
  }
  return io_ok();
}

io_result<std::string> write_snapshot_file(file_system& fs, const std::string& server_dir, const stored_snapshot& snap) {
  return write_into(fs, join(server_dir, snapshots_dir_name), snap, true);
}

io_status write_snapshot(file_system& fs, const std::string& server_dir, const stored_snapshot& snap) {
  auto path = write_into(fs, join(server_dir, snapshots_dir_name), snap, true);
  if (!path) return path.error();
  return remove_superseded_snapshots(fs, server_dir, *path, snap.meta.index);
}

io_result<loaded_snapshot> load_latest_valid(file_system& fs, const std::string& server_dir) {
  auto files = list_snapshot_files(fs, join(server_dir, snapshots_dir_name));
  if (!files) return files.error();
  loaded_snapshot result;
  for (auto& info : *files) {
    auto snap = read_snapshot_file(fs, info.path);
    if (snap) {
      result.snapshot = std::move(*snap);
      result.path = info.path;
      return result;
    }
    if (snap.error().code != EBADMSG) return snap.error();
    result.skipped.push_back({info.path, snap.error().op});
  }
  return result;
}

io_status write_checkpoint(file_system& fs, const std::string& server_dir, const stored_snapshot& snap,
                           const snapshot_config& config) {
  auto dir = join(server_dir, checkpoints_dir_name);
  if (auto path = write_into(fs, dir, snap, false); !path) return path.error();
  auto files = list_snapshot_files(fs, dir);
  if (!files) return files.error();
  for (size_t k = config.max_checkpoints; k < files->size(); ++k) {
    if (auto r = fs.remove((*files)[k].path); !r) return r;
  }
  return io_ok();
}

io_result<promotion> promote_checkpoint(file_system& fs, const std::string& server_dir, index_t index) {
  auto snapshots = list_snapshot_files(fs, join(server_dir, snapshots_dir_name));
  if (!snapshots) return snapshots.error();
  index_t snapshot_index = snapshots->empty() ? index_t{0} : snapshots->front().index;
  auto checkpoints_dir = join(server_dir, checkpoints_dir_name);
  auto checkpoints = list_snapshot_files(fs, checkpoints_dir);
  if (!checkpoints) return checkpoints.error();

  promotion result;
  for (auto& c : *checkpoints) {
    if (c.index > index) continue;
    if (c.index <= snapshot_index) break;  // older than the snapshot: nothing to gain
    auto f = fs.open(c.path, {open_mode::read_write});
    if (!f) return f.error();
    // Synced before it is checked, so the bytes validated are the bytes on disk.
    if (auto r = (*f)->sync(sync_method::datasync); !r) {
      // A failed fsync is not retried: Linux marks the dirty pages clean after a failed
      // writeback, so a second fsync would succeed without writing them, the file would
      // validate from the page cache, and a crash after the promotion (which deletes the
      // older snapshot and the segments it covers) would leave a damaged snapshot and a
      // hole in the log. The checkpoint is of no further use: it goes.
      f->reset();
      (void)fs.remove(c.path);  // best effort; a failure leaves it for the next attempt
      return r.error();
    }
    auto l = validate(**f);
    f->reset();
    if (!l) {
      if (l.error().code != EBADMSG) return l.error();
      // Never synced, so torn by a crash: expected, reported, and of no further use.
      result.skipped.push_back({c.path, l.error().op});
      if (auto r = fs.remove(c.path); !r) return r.error();
      continue;
    }
    auto snapshots_dir = join(server_dir, snapshots_dir_name);
    if (auto r = fs.create_directories(snapshots_dir); !r) return r.error();
    auto target = join(snapshots_dir, snapshot_file_name(c.index, c.term));
    if (auto r = fs.rename(c.path, target); !r) return r.error();
    if (auto r = fs.sync_directory(snapshots_dir); !r) return r.error();
    result.promoted = std::move(l->meta);
    if (auto r = remove_superseded_snapshots(fs, server_dir, target, c.index); !r) return r.error();
    return result;
  }
  return result;
}

}  // namespace ra::storage
