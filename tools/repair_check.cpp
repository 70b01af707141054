// The safety check of `ra-inspect --repair` on a WAL file: the rules are in
// repair_check.hpp, the user's view in docs/ra-inspect.md.

#include "tools/repair_check.hpp"

#include <algorithm>
#include <filesystem>
#include <functional>
#include <limits>
#include <set>
#include <string_view>
#include <unordered_map>

#include "segments/segment_file.hpp"
#include "snapshot/snapshot_file.hpp"
#include "snapshot/snapshot_format.hpp"
#include "wal/config_store.hpp"
#include "wal/wal_format.hpp"

namespace ra::inspect {
namespace {

namespace stdfs = std::filesystem;
namespace wal_fmt = storage::wal_format;
using namespace ra::storage;

/// "Any index": what a holder whose data cannot be read may hold.
constexpr uint64_t unknown_highest = std::numeric_limits<uint64_t>::max();

/// Reads a file front to back through a buffer, for a scan that looks at every offset
/// while it resynchronises after damage.
class byte_window {
 public:
  byte_window(const file& f, uint64_t size) : file_(f), size_(size) {}

  /// The bytes [offset, offset + n); nullptr past the end of the file or on I/O error.
  const char* at(uint64_t offset, size_t n) {
    if (error_ || offset + n > size_) return nullptr;
    if (offset >= buffer_offset_ && offset + n <= buffer_offset_ + buffer_.size())
      return buffer_.data() + (offset - buffer_offset_);
    buffer_.resize(static_cast<size_t>(std::min<uint64_t>(std::max(n, chunk_size), size_ - offset)));
    auto got = file_.pread(buffer_, offset);
    if (!got || *got < n) {
      error_ = got ? io_error{EIO, "read (file shrank)", file_.path()} : got.error();
      buffer_.clear();
      return nullptr;
    }
    buffer_.resize(*got);
    buffer_offset_ = offset;
    return buffer_.data();
  }
  const std::optional<io_error>& error() const { return error_; }

 private:
  static constexpr size_t chunk_size = size_t{1} << 20;
  const file& file_;
  uint64_t size_;
  std::vector<char> buffer_;
  uint64_t buffer_offset_ = 0;
  std::optional<io_error> error_;
};

using entry_fn = std::function<void(std::string_view writer, uint64_t index, uint64_t offset)>;
using unidentified_fn = std::function<void(unidentified_bytes)>;

/// Calls `on_entry` for every entry record of the WAL file whose header is intact, in
/// file order, reading on past damage (unlike wal_reader, which stops there): after a
/// damaged header it moves byte by byte to the next intact one, and reports the non-zero
/// bytes in between to `on_unidentified`. An entry's body is not checked: the header's
/// own CRC covers its writer ref and index. The writer is empty when its declaration
/// record is damaged.
io_status walk_wal_entries(const std::string& path, const entry_fn& on_entry, const unidentified_fn& on_unidentified) {
  auto f = file_system::posix().open(path, {open_mode::read});
  if (!f) return f.error();
  auto size = (*f)->size();
  if (!size) return size.error();
  byte_window window{**f, *size};
  std::unordered_map<uint32_t, std::string> writers;
  std::optional<uint64_t> gap_from;
  bool gap_has_data = false;  // zeros are preallocated or never written: no data lost there
  auto end_gap = [&](uint64_t to) {
    if (gap_from && gap_has_data) on_unidentified({*gap_from, to});
    gap_from.reset();
    gap_has_data = false;
  };
  for (uint64_t pos = wal_fmt::file_header_size; pos < *size;) {
    wal_fmt::record_header h;
    const char* head = window.at(pos, wal_fmt::record_header_size);
    const bool intact = head && wal_fmt::decode_header(head, h) == wal_fmt::header_status::ok &&
                        pos + wal_fmt::record_header_size + h.body_length <= *size;
    if (!intact) {
      const char* byte = window.at(pos, 1);
      if (!byte) break;
      if (!gap_from) gap_from = pos;
      gap_has_data |= *byte != 0;
      ++pos;
      continue;
    }
    end_gap(pos);
    const uint64_t body_at = pos + wal_fmt::record_header_size;
    if (h.type == wal_fmt::record_type::writer_declaration && h.body_length <= wal_fmt::max_writer_uid_size) {
      const char* body = window.at(body_at, h.body_length);
      if (body && wal_fmt::body_intact(h, {body, h.body_length}))
        writers.try_emplace(h.writer_ref, body, h.body_length);
    } else if (h.type == wal_fmt::record_type::entry) {
      auto writer = writers.find(h.writer_ref);
      on_entry(writer == writers.end() ? std::string_view{} : std::string_view{writer->second}, h.index, pos);
    }
    pos = body_at + h.body_length;
  }
  if (window.error()) return *window.error();
  end_gap(*size);
  return io_ok();
}

std::string range_text(uint64_t first, uint64_t last) {
  return std::to_string(first) + (first == last ? "" : "-" + std::to_string(last));
}

std::string join(const std::vector<std::string>& items) {
  std::string out;
  for (auto& item : items) out += (out.empty() ? "" : ", ") + item;
  return out;
}

/// What the node's data directory records about its servers: configs, members, the
/// highest index each local server may hold. Read on demand, never written.
class node_servers {
 public:
  node_servers(const node_context& node, std::string wal_dir) : node_(node), wal_dir_(std::move(wal_dir)) {
    if (node_.data_dir) load_configs();
  }

  const persisted_server_config* config(const std::string& uid) const {
    auto it = configs_.find(uid);
    return it == configs_.end() ? nullptr : &it->second;
  }
  /// The uid of a server of this node, by its id.
  const std::string* uid_of(const server_id& id) const {
    auto it = uid_by_id_.find(id.to_string());
    return it == uid_by_id_.end() ? nullptr : &it->second;
  }
  uint64_t last_applied(const std::string& uid) const {
    if (!node_.last_applied) return 0;
    auto it = node_.last_applied->find(uid);
    return it == node_.last_applied->end() ? 0 : it->second;
  }

  /// The members of `uid`'s cluster as last recorded: its newest snapshot's, else the
  /// initial members of its config.
  cluster_config members(const std::string& uid, const persisted_server_config& pc) const {
    auto snapshots = list_snapshot_files(file_system::posix(), server_dir(uid) + "/snapshots");
    if (snapshots && !snapshots->empty())
      if (auto f = file_system::posix().open(snapshots->front().path, {open_mode::read}))
        if (auto layout = snapshot_format::read_layout(**f)) return layout->meta.cluster;
    return cluster_config{pc.server.initial_members};
  }

  /// False when a WAL file of the directory holds entries no intact record attributes
  /// to a writer: they could be any server's, so no server's highest index is known.
  bool wal_identified() {
    if (!wal_highest_) wal_highest_ = scan_wal_dir();
    return wal_complete_;
  }

  /// The highest index `uid` may hold anywhere on this node (unknown_highest when some
  /// of its data cannot be read): an upper bound, since overwritten entries still count.
  uint64_t highest_index(const std::string& uid) {
    if (!wal_identified()) return unknown_highest;
    if (auto known = highest_.find(uid); known != highest_.end()) return known->second;
    uint64_t in_wal = 0;
    if (auto it = wal_highest_->find(uid); it != wal_highest_->end()) in_wal = it->second;
    return highest_[uid] = std::max({in_wal, segments_highest(uid), snapshot_index(uid)});
  }

 private:
  std::string server_dir(const std::string& uid) const { return *node_.data_dir + "/" + uid; }

  void load_configs() {
    auto& fs = file_system::posix();
    auto names = fs.list(*node_.data_dir);
    for (auto& name : names ? *names : std::vector<std::string>{}) {
      // Deleted servers' directories (actors/server_data.cpp) are not servers any more.
      if (name.ends_with(".deleted") || !fs.exists(server_dir(name) + "/config")) continue;
      auto pc = load_server_config(fs, server_dir(name));
      if (!pc) continue;  // judged unknown, like a server without a config
      uid_by_id_[pc->server.id.to_string()] = pc->uid;
      configs_.emplace(pc->uid, std::move(*pc));
    }
  }

  /// Every writer's highest index over the WAL files of the directory, damaged parts
  /// included (they were held before the damage). A record of an unknown writer, or
  /// bytes no record header explains, could be anyone's: then nothing is known.
  std::map<std::string, uint64_t> scan_wal_dir() {
    std::map<std::string, uint64_t> highest;
    std::error_code ec;
    for (auto& entry : stdfs::directory_iterator(wal_dir_, ec)) {
      if (entry.path().extension() != ".wal") continue;
      auto st = walk_wal_entries(
        entry.path().string(),
        [&](std::string_view writer, uint64_t index, uint64_t) {
          if (writer.empty()) wal_complete_ = false;
          auto& h = highest[std::string{writer}];
          h = std::max(h, index);
        },
        [&](unidentified_bytes) { wal_complete_ = false; });
      if (!st) wal_complete_ = false;
    }
    if (ec) wal_complete_ = false;
    return highest;
  }

  uint64_t segments_highest(const std::string& uid) const {
    auto& fs = file_system::posix();
    const auto dir = server_dir(uid) + "/segments";
    auto names = fs.list(dir);
    if (!names) return fs.exists(dir) ? unknown_highest : 0;
    uint64_t highest = 0;
    for (auto& name : *names) {
      if (!name.ends_with(".segment")) continue;
      auto reader = segment_reader::open(fs, dir + "/" + name);
      if (!reader) return unknown_highest;
      if (auto range = reader->range()) highest = std::max(highest, range->last.value);
    }
    return highest;
  }

  uint64_t snapshot_index(const std::string& uid) const {
    auto snapshots = list_snapshot_files(file_system::posix(), server_dir(uid) + "/snapshots");
    if (!snapshots) return unknown_highest;
    return snapshots->empty() ? 0 : snapshots->front().index.value;
  }

  const node_context& node_;
  std::string wal_dir_;
  std::map<std::string, persisted_server_config> configs_;
  std::map<std::string, std::string> uid_by_id_;  ///< "name@node" -> uid
  std::optional<std::map<std::string, uint64_t>> wal_highest_;
  bool wal_complete_ = true;
  std::map<std::string, uint64_t> highest_;  ///< highest_index() per uid, computed once
};

/// One writer's cluster as far as the node knows it, and the verdict on each index.
class writer_judge {
 public:
  writer_judge(const std::string& writer, node_servers& servers, const node_context& node) : servers_(servers) {
    if (writer.empty()) {
      unknown_ = "may be committed: the writer is unknown (its declaration record is damaged)";
      return;
    }
    if (!node.data_dir) {
      unknown_ = "may be committed: the data directory is unknown, so is the server's cluster";
      return;
    }
    const auto* pc = servers.config(writer);
    if (!pc) {
      unknown_ = "may be committed: no readable config in " + *node.data_dir + "/" + writer + ", its cluster is unknown";
      return;
    }
    cluster_ = servers.members(writer, *pc);
    cluster_name_ = pc->server.cluster_name;
    if (!cluster_.contains(pc->server.id)) {
      unknown_ = "may be committed: " + pc->server.id.to_string() + " is not in the last known members of cluster " +
                 cluster_name_;
      return;
    }
    std::vector<std::string> elsewhere;
    for (auto& m : cluster_.members()) {
      const auto* uid = m.id.node == pc->server.id.node ? servers.uid_of(m.id) : nullptr;
      if (uid && servers.last_applied(*uid) > applied_) applied_ = servers.last_applied(*uid), applied_by_ = *uid;
      if (!cluster_.is_voter(m.id)) continue;
      if (uid)
        local_voter_uids_.push_back(*uid);
      else
        ++voters_without_data_;
      if (m.id.node != pc->server.id.node) elsewhere.push_back(m.id.to_string());
    }
    copies_ = elsewhere.empty() ? "no other node keeps a copy (every member is on " + pc->server.id.node + ")"
                                : "members on other nodes may keep copies (" + join(elsewhere) + ")";
  }

  /// Whether dropping `index` may lose a committed entry, and why.
  std::pair<bool, std::string> judge(uint64_t index) {
    if (unknown_) return {true, *unknown_};
    if (index <= applied_)
      return {true, "committed: at or below last_applied " + std::to_string(applied_) + " of " + applied_by_ + "; " +
                      copies_};
    if (!servers_.wal_identified())
      return {true, "may be committed: the WAL directory holds damaged records of unknown servers, which could be "
                    "copies of it; " + copies_};
    size_t holders = voters_without_data_;
    for (auto& uid : local_voter_uids_) holders += servers_.highest_index(uid) >= index;
    const auto count = std::to_string(holders) + " of the " + std::to_string(cluster_.voter_count()) +
                       " voters of cluster " + cluster_name_;
    if (holders >= cluster_.quorum()) return {true, "may be committed: held by up to " + count + "; " + copies_};
    return {false, "not committed: held by at most " + count + ", fewer than a majority"};
  }

 private:
  node_servers& servers_;
  std::optional<std::string> unknown_;
  cluster_config cluster_;
  std::string cluster_name_;
  uint64_t applied_ = 0;
  std::string applied_by_;
  std::vector<std::string> local_voter_uids_;
  size_t voters_without_data_ = 0;  ///< on other nodes, or here without a readable config
  std::string copies_;
};

}  // namespace

bool cut_assessment::safe() const {
  if (drops_nothing()) return true;
  if (meta_problem || !unidentified.empty()) return false;
  return std::none_of(runs.begin(), runs.end(), [](const dropped_run& r) { return r.at_risk; });
}

storage::io_result<cut_assessment> assess_wal_cut(const std::string& wal_path, uint64_t cut, const node_context& node) {
  cut_assessment a;
  std::map<std::string, std::set<uint64_t>> dropped;  // writer -> indexes
  auto st = walk_wal_entries(
    wal_path,
    [&](std::string_view writer, uint64_t index, uint64_t offset) {
      if (offset >= cut) dropped[std::string{writer}].insert(index);
    },
    [&](unidentified_bytes u) {
      if (u.to > cut) a.unidentified.push_back({std::max(u.from, cut), u.to});
    });
  if (!st) return st.error();
  if (dropped.empty() && a.unidentified.empty()) return a;
  if (!node.last_applied) a.meta_problem = node.meta_problem;

  auto wal_dir = stdfs::path(wal_path).parent_path();
  node_servers servers{node, wal_dir.empty() ? "." : wal_dir.string()};
  for (auto& [writer, indexes] : dropped) {
    writer_judge judge{writer, servers, node};
    for (uint64_t index : indexes) {
      auto [at_risk, why] = judge.judge(index);
      auto* run = a.runs.empty() ? nullptr : &a.runs.back();
      if (run && run->writer == writer && run->last + 1 == index && run->at_risk == at_risk && run->why == why)
        run->last = index;
      else
        a.runs.push_back(dropped_run{writer, index, index, at_risk, std::move(why)});
    }
  }
  return a;
}

std::string describe(const cut_assessment& a, bool at_risk_only, const std::string& indent) {
  std::string out;
  for (auto& run : a.runs) {
    if (at_risk_only && !run.at_risk) continue;
    out += indent + (run.writer.empty() ? "(unknown writer)" : run.writer) + " " + range_text(run.first, run.last) +
           ": " + run.why + "\n";
  }
  for (auto& u : a.unidentified)
    out += indent + "bytes " + std::to_string(u.from) + "-" + std::to_string(u.to) +
           ": no intact record header (damaged), what they held is unknown and may be committed\n";
  if (a.meta_problem && !a.drops_nothing())
    out += indent + "meta store: " + *a.meta_problem +
           "; without it no server's last_applied can be checked, nor that the data directory is this WAL's "
           "node's\n";
  return out;
}

}  // namespace ra::inspect
