// The simulated disk (see the header for the model). Every random decision draws from
// the one splitmix64 stream seeded in the constructor, in an order fixed by sorted maps,
// so a seed replays the same faults and the same crash outcomes.

#include "io/sim_file_system.hpp"

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <utility>

namespace ra::storage {

struct sim_file_system::inode {
  std::vector<char> data;          // what reads see (the page cache)
  std::vector<char> durable;       // what is on the platter for sure; its size is the durable size
  std::set<uint64_t> dirty_pages;  // written since the last successful sync
  bool size_dirty = false;         // data.size() may differ from durable.size()
};

struct sim_file_system::directory {
  // One change of the names in a directory, applied all or nothing at a crash.
  struct change {
    std::vector<std::pair<std::string, std::shared_ptr<inode>>> effects;  // null: unlink
  };
  std::map<std::string, std::shared_ptr<inode>> live;
  std::map<std::string, std::shared_ptr<inode>> durable;
  std::vector<change> pending;  // since the last sync_directory, oldest first
};

namespace {

std::string normalized(const std::string& path) {
  std::string s = std::filesystem::path(path).lexically_normal().string();
  while (s.size() > 1 && s.back() == '/')
    s.pop_back();
  return s.empty() ? std::string(".") : s;
}

std::string parent_of(const std::string& normalized_path) {
  auto parent = std::filesystem::path(normalized_path).parent_path().string();
  return parent.empty() ? std::string(".") : parent;
}

std::string name_of(const std::string& normalized_path) {
  return std::filesystem::path(normalized_path).filename().string();
}

void apply_change(std::map<std::string, std::shared_ptr<sim_file_system::inode>>& entries,
           const sim_file_system::directory::change& c) {
  for (const auto& [name, target] : c.effects) {
    if (target)
      entries[name] = target;
    else
      entries.erase(name);
  }
}

}  // namespace

class sim_file_system::sim_file final : public file {
 public:
  sim_file(sim_file_system& fs, std::shared_ptr<inode> node, std::string path, bool writable,
           bool o_dsync)
    : fs_(fs), node_(std::move(node)), path_(std::move(path)), epoch_(fs.epoch_),
      writable_(writable), o_dsync_(o_dsync), position_(writable ? node_->data.size() : 0) {}

  const std::string& path() const override { return path_; }

  io_status write(std::span<const char> data) override { return append(data, "write"); }

  io_status writev(std::span<const iovec> bufs) override {
    std::vector<char> joined;
    for (const auto& b : bufs)
      joined.insert(joined.end(), static_cast<const char*>(b.iov_base),
                    static_cast<const char*>(b.iov_base) + b.iov_len);
    return append(joined, "writev");
  }

  io_status pwrite(std::span<const char> data, uint64_t offset) override {
    if (auto st = usable("pwrite", true); !st)
      return st;
    auto st = fs_.write_at(*node_, path_, data, offset, "pwrite");
    if (st && o_dsync_)
      return fs_.sync_inode(*node_, path_, "pwrite");
    return st;
  }

  io_result<size_t> pread(std::span<char> out, uint64_t offset) const override {
    if (auto st = usable("pread", false); !st)
      return st.error();
    const auto& data = node_->data;
    if (offset >= data.size())
      return size_t{0};
    size_t n = std::min<uint64_t>(out.size(), data.size() - offset);
    fs_.maybe_flip_bit(*node_, offset, n);
    std::memcpy(out.data(), data.data() + offset, n);
    return n;
  }

  io_status sync(sync_method m) override {
    if (auto st = usable(m == sync_method::sync ? "fsync" : "fdatasync", false); !st)
      return st;
    if (m == sync_method::none)
      return io_ok();
    return fs_.sync_inode(*node_, path_, m == sync_method::sync ? "fsync" : "fdatasync");
  }

  io_result<uint64_t> size() const override {
    if (auto st = usable("fstat", false); !st)
      return st.error();
    return static_cast<uint64_t>(node_->data.size());
  }

  io_status truncate(uint64_t new_size) override {
    if (auto st = usable("ftruncate", true); !st)
      return st;
    if (fs_.power_dies_now()) {
      fs_.power_fails();
      return io_error{EIO, "ftruncate", path_};
    }
    node_->data.resize(new_size, 0);
    // The pages beyond the new end no longer matter; a page cut in two is dirty again.
    node_->dirty_pages.erase(node_->dirty_pages.lower_bound((new_size + fs_.model_.page_bytes - 1) / fs_.model_.page_bytes),
                             node_->dirty_pages.end());
    if (new_size % fs_.model_.page_bytes != 0)
      node_->dirty_pages.insert(new_size / fs_.model_.page_bytes);
    node_->size_dirty = true;
    position_ = new_size;
    return io_ok();
  }

 private:
  io_status usable(std::string_view op, bool needs_write) const {
    if (epoch_ != fs_.epoch_)  // the process that opened it died in a crash
      return io_error{EIO, std::string(op), path_};
    if (needs_write && !writable_)
      return io_error{EBADF, std::string(op), path_};
    return io_ok();
  }

  io_status append(std::span<const char> data, std::string_view op) {
    if (auto st = usable(op, true); !st)
      return st;
    uint64_t before = node_->data.size();
    auto st = fs_.write_at(*node_, path_, data, position_, op);
    // A failed write may have written a prefix: the position moves past it, as with write(2).
    position_ += st ? data.size() : node_->data.size() > before ? node_->data.size() - before : 0;
    if (st && o_dsync_)
      return fs_.sync_inode(*node_, path_, op);
    return st;
  }

  sim_file_system& fs_;
  std::shared_ptr<inode> node_;
  std::string path_;
  uint64_t epoch_;
  bool writable_;
  bool o_dsync_;
  uint64_t position_;
};

sim_file_system::sim_file_system(uint64_t seed, sim_crash_model model)
  : rng_state_(seed), model_(model) {
  dirs_["/"] = std::make_unique<directory>();
  dirs_["."] = std::make_unique<directory>();
}

sim_file_system::~sim_file_system() = default;

bool sim_file_system::chance(double p) {
  if (p <= 0)
    return false;  // no draw: switching a fault off must not shift the other decisions
  return static_cast<double>(below(uint64_t{1} << 53)) * 0x1.0p-53 < p;
}

uint64_t sim_file_system::below(uint64_t n) {
  uint64_t z = (rng_state_ += 0x9e3779b97f4a7c15ULL);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  z ^= z >> 31;
  return n == 0 ? 0 : z % n;
}

sim_file_system::directory* sim_file_system::find_directory(const std::string& path) {
  auto it = dirs_.find(path);
  return it == dirs_.end() ? nullptr : it->second.get();
}

void sim_file_system::set_entry(directory& d, const std::string& name, std::shared_ptr<inode> target) {
  directory::change c;
  c.effects.emplace_back(name, std::move(target));
  apply_change(d.live, c);
  d.pending.push_back(std::move(c));
}

void sim_file_system::put_in_page_cache(inode& node, std::span<const char> data, uint64_t offset) {
  if (data.empty())
    return;
  if (offset + data.size() > node.data.size()) {
    node.data.resize(offset + data.size(), 0);
    node.size_dirty = true;
  }
  std::memcpy(node.data.data() + offset, data.data(), data.size());
  for (uint64_t p = offset / model_.page_bytes; p <= (offset + data.size() - 1) / model_.page_bytes; ++p)
    node.dirty_pages.insert(p);
}

io_status sim_file_system::write_at(inode& node, const std::string& path, std::span<const char> data,
                                    uint64_t offset, std::string_view op) {
  ++counters_.writes;
  if (powered_off_)
    return io_error{EIO, std::string(op), path};
  if (power_dies_now()) {
    // The power goes in the middle of this write: some prefix of it is in the page cache.
    put_in_page_cache(node, data.first(below(data.size() + 1)), offset);
    power_fails();
    return io_error{EIO, std::string(op), path};
  }
  if (chance(faults_.write_eio)) {
    ++counters_.write_faults;
    return io_error{EIO, std::string(op), path};
  }
  size_t length = data.size();
  bool out_of_space = chance(faults_.write_enospc);
  if (out_of_space) {
    ++counters_.write_faults;
    length = below(data.size() + 1);  // the disk filled up somewhere inside this write
  }
  put_in_page_cache(node, data.first(length), offset);
  if (out_of_space)
    return io_error{ENOSPC, std::string(op), path};
  return io_ok();
}

io_status sim_file_system::sync_inode(inode& node, const std::string& path, std::string_view op) {
  ++counters_.syncs;
  if (powered_off_ || power_dies_now()) {
    if (!powered_off_)
      power_fails();
    return io_error{EIO, std::string(op), path};
  }
  int failure = chance(faults_.sync_eio) ? EIO : chance(faults_.sync_enospc) ? ENOSPC : 0;
  if (failure != 0) {
    ++counters_.sync_faults;
    // Linux marks the pages clean after a failed writeback: they stay readable until the
    // crash but are never written again, and the next sync reports success.
    node.dirty_pages.clear();
    return io_error{failure, std::string(op), path};
  }
  node.durable.resize(node.data.size(), 0);
  for (uint64_t p : node.dirty_pages) {
    uint64_t begin = p * model_.page_bytes;
    if (begin >= node.data.size())
      continue;
    uint64_t end = std::min<uint64_t>(begin + model_.page_bytes, node.data.size());
    std::memcpy(node.durable.data() + begin, node.data.data() + begin, end - begin);
  }
  node.dirty_pages.clear();
  node.size_dirty = false;
  return io_ok();
}

void sim_file_system::maybe_flip_bit(inode& node, uint64_t offset, size_t length) {
  if (length == 0 || counters_.bits_flipped >= faults_.max_bit_flips || !chance(faults_.read_bit_flip))
    return;
  // Only data that reached the disk rots: synced pages inside the durable size.
  uint64_t end = std::min<uint64_t>({offset + length, node.durable.size(), node.data.size()});
  std::vector<uint64_t> candidates;
  for (uint64_t p = offset / model_.page_bytes; p * model_.page_bytes < end; ++p)
    if (!node.dirty_pages.contains(p))
      candidates.push_back(p);
  if (candidates.empty())
    return;
  uint64_t page = candidates[below(candidates.size())];
  uint64_t lo = std::max(offset, page * model_.page_bytes);
  uint64_t hi = std::min(end, (page + 1) * model_.page_bytes);
  uint64_t byte = lo + below(hi - lo);
  char mask = static_cast<char>(1u << below(8));
  node.data[byte] ^= mask;
  node.durable[byte] ^= mask;
  ++counters_.bits_flipped;
}

void sim_file_system::crash_inode(inode& node) {
  uint64_t size = node.data.size();
  if (node.size_dirty && !chance(model_.keep_new_size))
    size = node.durable.size();
  std::vector<char> after = node.durable;
  after.resize(size, 0);  // beyond the durable end, unwritten blocks read as zeros
  // In-order writeback: nothing lands after the first page not kept whole (a torn page
  // keeps a prefix of its sectors), and without size_runs_ahead the file ends where the
  // landed data ends.
  bool writeback_stopped = false;
  uint64_t landed_end = 0;
  std::optional<uint64_t> stopped_at;
  for (uint64_t p : node.dirty_pages) {
    uint64_t begin = p * model_.page_bytes;
    uint64_t end = std::min<uint64_t>({begin + model_.page_bytes, size, node.data.size()});
    if (begin >= end)
      continue;
    double r = writeback_stopped ? 1.0 : static_cast<double>(below(uint64_t{1} << 53)) * 0x1.0p-53;
    writeback_stopped = !model_.reorder_writeback && (writeback_stopped || r >= model_.keep_page);
    if (r < model_.keep_page) {
      std::memcpy(after.data() + begin, node.data.data() + begin, end - begin);
      landed_end = end;
      ++counters_.pages_kept;
    } else if (r < model_.keep_page + model_.tear_page) {
      // Out of order, any subset of the sectors lands; in order, a prefix of them.
      const uint64_t sectors = (end - begin + model_.sector_bytes - 1) / model_.sector_bytes;
      const uint64_t prefix = model_.reorder_writeback ? sectors : below(sectors + 1);
      uint64_t index = 0;
      for (uint64_t s = begin; s < end; s += model_.sector_bytes, ++index)
        if (model_.reorder_writeback ? below(2) == 1 : index < prefix)
          std::memcpy(after.data() + s, node.data.data() + s, std::min(model_.sector_bytes, end - s));
      if (prefix > 0)
        landed_end = std::min(end, begin + prefix * model_.sector_bytes);
      ++counters_.pages_torn;
    } else {
      ++counters_.pages_lost;
    }
    if (writeback_stopped && !stopped_at)
      stopped_at = landed_end;
  }
  if (stopped_at && !model_.size_runs_ahead) {
    const uint64_t end_of_data = std::max<uint64_t>(node.durable.size(), *stopped_at);
    if (after.size() > end_of_data)
      after.resize(end_of_data);
  }
  node.data = after;
  node.durable = std::move(after);
  node.dirty_pages.clear();
  node.size_dirty = false;
}

void sim_file_system::apply_crash_model() {
  ++counters_.crashes;
  ++epoch_;
  for (auto& [path, d] : dirs_) {
    size_t kept = below(d->pending.size() + 1);  // journals commit in order: a prefix survives
    for (size_t i = 0; i < kept; ++i)
      apply_change(d->durable, d->pending[i]);
    counters_.dir_changes_kept += kept;
    counters_.dir_changes_undone += d->pending.size() - kept;
    d->pending.clear();
    d->live = d->durable;
  }
  std::set<const inode*> done;  // a file linked under two names crashes once
  for (auto& [path, d] : dirs_)
    for (auto& [name, node] : d->live)
      if (done.insert(node.get()).second)
        crash_inode(*node);
}

void sim_file_system::crash() {
  if (powered_off_) {  // the cut already applied the crash model
    powered_off_ = false;
    return;
  }
  power_cut_in_.reset();
  apply_crash_model();
}

bool sim_file_system::power_dies_now() {
  if (!power_cut_in_ || --*power_cut_in_ > 0)
    return false;
  power_cut_in_.reset();
  return true;
}

void sim_file_system::power_fails() {
  ++counters_.power_cuts;
  apply_crash_model();
  powered_off_ = true;
}

uint64_t sim_file_system::unsynced_pages() const {
  std::set<const inode*> seen;
  uint64_t n = 0;
  for (const auto& [path, d] : dirs_)
    for (const auto& [name, node] : d->live)
      if (seen.insert(node.get()).second)
        n += node->dirty_pages.size();
  return n;
}

io_result<std::unique_ptr<file>> sim_file_system::open(const std::string& raw_path, open_options opts) {
  if (powered_off_)
    return io_error{EIO, "open", raw_path};
  const std::string path = normalized(raw_path);
  if (find_directory(path))
    return io_error{EISDIR, "open", raw_path};
  directory* dir = find_directory(parent_of(path));
  if (!dir)
    return io_error{ENOENT, "open", raw_path};
  const std::string name = name_of(path);
  auto it = dir->live.find(name);
  std::shared_ptr<inode> node = it == dir->live.end() ? nullptr : it->second;
  switch (opts.mode) {
    case open_mode::read:
    case open_mode::read_write:
      if (!node)
        return io_error{ENOENT, "open", raw_path};
      break;
    case open_mode::create:
    case open_mode::append_create:
      if ((!node || opts.mode == open_mode::create) && power_dies_now()) {
        power_fails();
        return io_error{EIO, "open", raw_path};
      }
      if (!node) {
        node = std::make_shared<inode>();
        set_entry(*dir, name, node);
      } else if (opts.mode == open_mode::create) {
        node->data.clear();  // O_TRUNC keeps the inode and changes its size
        node->dirty_pages.clear();
        node->size_dirty = true;
      }
      break;
  }
  const bool writable = opts.mode != open_mode::read;
  return std::unique_ptr<file>(std::make_unique<sim_file>(*this, std::move(node), raw_path, writable,
                                                          opts.o_dsync));
}

io_status sim_file_system::rename(const std::string& raw_from, const std::string& raw_to) {
  if (powered_off_)
    return io_error{EIO, "rename", raw_from + " -> " + raw_to};
  const std::string from = normalized(raw_from), to = normalized(raw_to);
  directory* from_dir = find_directory(parent_of(from));
  directory* to_dir = find_directory(parent_of(to));
  if (!from_dir || !to_dir || !from_dir->live.contains(name_of(from)))
    return io_error{ENOENT, "rename", raw_from + " -> " + raw_to};
  if (from == to)
    return io_ok();
  if (power_dies_now()) {
    power_fails();
    return io_error{EIO, "rename", raw_from + " -> " + raw_to};
  }
  std::shared_ptr<inode> node = from_dir->live.at(name_of(from));
  if (from_dir == to_dir) {
    // Within one directory a rename is atomic: a crash shows the old or the new names.
    directory::change c;
    c.effects.emplace_back(name_of(from), nullptr);
    c.effects.emplace_back(name_of(to), node);
    apply_change(from_dir->live, c);
    from_dir->pending.push_back(std::move(c));
  } else {
    set_entry(*to_dir, name_of(to), node);
    set_entry(*from_dir, name_of(from), nullptr);
  }
  return io_ok();
}

io_status sim_file_system::remove(const std::string& raw_path) {
  if (powered_off_)
    return io_error{EIO, "remove", raw_path};
  const std::string path = normalized(raw_path);
  if (directory* d = find_directory(path)) {
    const std::string prefix = path == "/" ? path : path + "/";
    auto sub = dirs_.upper_bound(prefix);
    bool has_subdirectory = sub != dirs_.end() && sub->first.starts_with(prefix);
    if (!d->live.empty() || has_subdirectory)
      return io_error{ENOTEMPTY, "remove", raw_path};
    dirs_.erase(path);
    return io_ok();
  }
  directory* dir = find_directory(parent_of(path));
  if (!dir || !dir->live.contains(name_of(path)))
    return io_error{ENOENT, "remove", raw_path};
  if (power_dies_now()) {
    power_fails();
    return io_error{EIO, "remove", raw_path};
  }
  set_entry(*dir, name_of(path), nullptr);
  return io_ok();
}

io_status sim_file_system::create_directories(const std::string& raw_path) {
  if (powered_off_)
    return io_error{EIO, "mkdir", raw_path};
  std::string path = normalized(raw_path);
  std::vector<std::string> missing;
  for (std::string p = path; !find_directory(p); p = parent_of(p)) {
    directory* parent = find_directory(parent_of(p));
    if (parent && parent->live.contains(name_of(p)))
      return io_error{ENOTDIR, "mkdir", raw_path};  // a file is in the way
    missing.push_back(p);
    if (parent_of(p) == p)
      break;
  }
  for (const auto& p : missing)
    dirs_[p] = std::make_unique<directory>();
  return io_ok();
}

io_status sim_file_system::sync_directory(const std::string& raw_path) {
  directory* d = find_directory(normalized(raw_path));
  if (powered_off_)
    return io_error{EIO, "fsync", raw_path};
  if (!d)
    return io_error{ENOENT, "open", raw_path};
  ++counters_.dir_syncs;
  if (power_dies_now()) {
    power_fails();
    return io_error{EIO, "fsync", raw_path};
  }
  if (chance(faults_.dir_sync_eio)) {
    ++counters_.sync_faults;
    return io_error{EIO, "fsync", raw_path};
  }
  d->durable = d->live;
  d->pending.clear();
  return io_ok();
}

io_result<std::vector<std::string>> sim_file_system::list(const std::string& raw_dir) {
  if (powered_off_)
    return io_error{EIO, "opendir", raw_dir};
  const std::string path = normalized(raw_dir);
  directory* d = find_directory(path);
  if (!d)
    return io_error{ENOENT, "opendir", raw_dir};
  std::vector<std::string> names;
  for (const auto& [name, node] : d->live)
    names.push_back(name);
  for (const auto& [sub, ignored] : dirs_)
    if (sub != path && parent_of(sub) == path)
      names.push_back(name_of(sub));
  std::sort(names.begin(), names.end());
  return names;
}

bool sim_file_system::exists(const std::string& raw_path) {
  if (powered_off_)
    return false;
  const std::string path = normalized(raw_path);
  if (find_directory(path))
    return true;
  directory* dir = find_directory(parent_of(path));
  return dir && dir->live.contains(name_of(path));
}

}  // namespace ra::storage
