#include "wal/meta_store.hpp"

#include <cstring>

#include "io/atomic_write.hpp"
#include "io/crc32c.hpp"
#include "io/endian.hpp"

namespace ra::storage {

namespace {

constexpr char magic[4] = {'R', 'A', 'M', 'T'};
constexpr uint8_t format_version = 1;
constexpr size_t header_size = 8;        // magic, version, 3 bytes padding
constexpr size_t record_prefix = 8;      // crc32c u32, body length u32
constexpr uint32_t max_record_body = 1 << 20;
// removed flag, uid, term, vote flag, vote name, vote node, last_applied
constexpr uint32_t min_record_body = 1 + 4 + 8 + 1 + 4 + 4 + 8;

void put_u32(std::vector<char>& out, uint32_t v) { append_le(out, v); }
void put_u64(std::vector<char>& out, uint64_t v) { append_le(out, v); }
void put_str(std::vector<char>& out, const std::string& s) {
  put_u32(out, static_cast<uint32_t>(s.size()));
  out.insert(out.end(), s.begin(), s.end());
}
uint64_t get_le(const char* p, int n) { return load_le_bytes(p, n); }

struct body_reader {
  const char* p;
  size_t left;
  bool ok = true;
  uint64_t num(int n) {
    if (left < static_cast<size_t>(n)) return ok = false, 0;
    auto v = get_le(p, n);
    p += n;
    left -= n;
    return v;
  }
  std::string str() {
    auto n = num(4);
    if (!ok || n > left) return ok = false, std::string{};
    std::string s{p, n};
    p += n;
    left -= n;
    return s;
  }
};

std::vector<char> encode_record(const std::string& uid, const server_meta& m, bool removed) {
  std::vector<char> body;
  body.push_back(static_cast<char>(removed ? 1 : 0));
  put_str(body, uid);
  put_u64(body, m.current_term.value);
  body.push_back(static_cast<char>(m.voted_for ? 1 : 0));
  put_str(body, m.voted_for ? m.voted_for->name : std::string{});
  put_str(body, m.voted_for ? m.voted_for->node : std::string{});
  put_u64(body, m.last_applied.value);
  std::vector<char> rec;
  rec.reserve(record_prefix + body.size());
  std::vector<char> len;
  put_u32(len, static_cast<uint32_t>(body.size()));
  put_u32(rec, crc32c(body.data(), body.size(), crc32c(len.data(), len.size())));
  rec.insert(rec.end(), len.begin(), len.end());
  rec.insert(rec.end(), body.begin(), body.end());
  return rec;
}

std::vector<char> file_header() {
  std::vector<char> h(magic, magic + 4);
  h.push_back(static_cast<char>(format_version));
  h.resize(header_size, 0);
  return h;
}

bool all_zero(const char* p, size_t n) {
  for (size_t i = 0; i < n; ++i)
    if (p[i] != 0) return false;
  return true;
}

}  // namespace

meta_store::meta_store(file_system& fs, std::string dir, uint64_t compact_after)
  : fs_(fs), dir_(std::move(dir)), path_(dir_ + "/meta.log"), compact_after_(compact_after) {}

io_result<std::unique_ptr<meta_store>> meta_store::open(file_system& fs, std::string dir, uint64_t compact_after) {
  std::unique_ptr<meta_store> s{new meta_store(fs, std::move(dir), compact_after)};
  if (auto st = fs.create_directories(s->dir_); !st) return st.error();
  if (fs.exists(s->path_))
    if (auto st = s->load(); !st) return st.error();
  // Compacting on open also drops a torn tail and leaves a clean file to append to.
  if (auto st = s->compact(); !st) return st.error();
  return s;
}

io_status meta_store::load() {
  auto data = read_file(fs_, path_);
  if (!data) return data.error();
  auto& d = *data;
  auto corrupt = [&](uint64_t offset, const std::string& why) {
    return io_error{EILSEQ, "read", path_ + " at offset " + std::to_string(offset) + ": " + why};
  };
  if (d.size() < header_size || std::memcmp(d.data(), magic, 4) != 0) return corrupt(0, "not a meta store file");
  if (static_cast<uint8_t>(d[4]) != format_version) return corrupt(4, "unsupported version");
  // A record is whole when its length fits the file and its CRC matches.
  auto whole_record_at = [&](size_t o) {
    if (d.size() - o < record_prefix) return false;
    auto len = static_cast<uint32_t>(get_le(d.data() + o + 4, 4));
    if (len < min_record_body || len > max_record_body || len > d.size() - o - record_prefix) return false;
    auto crc = static_cast<uint32_t>(get_le(d.data() + o, 4));
    return crc32c(d.data() + o + record_prefix, len, crc32c(d.data() + o + 4, 4)) == crc;
  };
  // A damaged record is the torn final write (never acknowledged: its sync did not
  // complete) when no whole record follows it anywhere: a crash may leave any prefix of
  // it, including its CRC without its length, and zeros up to a size that landed first.
  // A whole record after it means the damage is in the middle: corruption.
  auto torn_from = [&](size_t o) {
    for (size_t p = o + 1; p + record_prefix <= d.size(); ++p)
      if (whole_record_at(p)) return false;
    return true;
  };
  size_t off = header_size;
  while (off < d.size()) {
    size_t left = d.size() - off;
    // A record cut short, or zeros (pre-allocated / never written) can only be a torn
    // final write: it was never acknowledged, so it is dropped.
    if (left < record_prefix || all_zero(d.data() + off, left)) break;
    auto crc = static_cast<uint32_t>(get_le(d.data() + off, 4));
    auto len = static_cast<uint32_t>(get_le(d.data() + off + 4, 4));
    if (len < min_record_body || len > max_record_body) {
      if (torn_from(off)) break;
      return corrupt(off, "record length " + std::to_string(len) + " is invalid");
    }
    if (left < record_prefix + len) {
      if (torn_from(off)) break;  // cut off by the crash
      return corrupt(off, "record length " + std::to_string(len) + " runs past the end of the file");
    }
    auto body = d.data() + off + record_prefix;
    if (crc32c(body, len, crc32c(d.data() + off + 4, 4)) != crc) {
      if (torn_from(off)) break;
      return corrupt(off, "checksum mismatch");
    }
    body_reader r{body, len};
    bool removed = r.num(1) != 0;
    auto uid = r.str();
    server_meta m;
    m.current_term = term_t{r.num(8)};
    bool has_vote = r.num(1) != 0;
    auto vname = r.str();
    auto vnode = r.str();
    if (has_vote) m.voted_for = server_id{vname, vnode};
    m.last_applied = index_t{r.num(8)};
    if (!r.ok) return corrupt(off, "record body does not decode");
    if (removed) servers_.erase(uid);
    else servers_[uid] = std::move(m);
    off += record_prefix + len;
  }
  return io_ok();
}

server_meta meta_store::get(const std::string& uid) const {
  std::lock_guard lk{table_mx_};
  auto it = servers_.find(uid);
  return it == servers_.end() ? server_meta{} : it->second;
}

size_t meta_store::server_count() const {
  std::lock_guard lk{table_mx_};
  return servers_.size();
}

std::vector<std::string> meta_store::uids() const {
  std::lock_guard lk{table_mx_};
  std::vector<std::string> out;
  out.reserve(servers_.size());
  for (auto& [uid, m] : servers_) out.push_back(uid);
  return out;
}

io_status meta_store::append(const std::vector<char>& records, bool sync) {
  if (!file_)  // a failed write or sync left the file untrusted: rewrite it first
    if (auto st = compact_locked(); !st) return st;
  if (auto st = file_->write(records); !st) {
    // The file may now end in a partial record: rewrite it cleanly before going on.
    file_.reset();
    return st.error();
  }
  size_ += records.size();
  if (sync) {
    ++syncs_;
    if (auto st = file_->sync(sync_method::datasync); !st) {
      // Linux may have dropped the unsynced pages: nothing written since the last good
      // sync can be trusted, so the next write starts from a rewritten file.
      file_.reset();
      return st.error();
    }
  }
  return io_ok();
}

io_status meta_store::compact_if_large() {
  if (size_ > compact_after_) return compact_locked();
  return io_ok();
}

io_status meta_store::put_term_vote(const std::string& uid, term_t term, std::optional<server_id> voted_for) {
  term_vote one{uid, term, std::move(voted_for)};
  return put_term_votes(std::span<const term_vote>{&one, 1});
}

io_status meta_store::put_term_votes(std::span<const term_vote> batch) {
  if (batch.empty()) return io_ok();
  std::lock_guard file_lock{file_mx_};
  std::vector<std::pair<std::string, server_meta>> updated;
  updated.reserve(batch.size());
  std::vector<char> records;
  for (auto& tv : batch) {
    auto m = get(tv.uid);
    // A server voting twice in one batch: its later record wins, in the file as here.
    for (auto& [uid, earlier] : updated)
      if (uid == tv.uid) m = earlier;
    m.current_term = tv.term;
    m.voted_for = tv.voted_for;
    auto rec = encode_record(tv.uid, m, false);
    records.insert(records.end(), rec.begin(), rec.end());
    updated.emplace_back(tv.uid, std::move(m));
  }
  if (auto st = append(records, true); !st) return st;
  votes_written_ += batch.size();
  {
    std::lock_guard table_lock{table_mx_};
    for (auto& [uid, m] : updated) servers_[uid] = std::move(m);
  }
  return compact_if_large();
}

io_status meta_store::put_last_applied(const std::string& uid, index_t last_applied) {
  std::lock_guard file_lock{file_mx_};
  auto m = get(uid);
  if (m.last_applied == last_applied) return io_ok();
  m.last_applied = last_applied;
  if (auto st = append(encode_record(uid, m, false), false); !st) return st;
  {
    std::lock_guard table_lock{table_mx_};
    servers_[uid] = std::move(m);
  }
  return compact_if_large();
}

io_status meta_store::remove(const std::string& uid) {
  std::lock_guard file_lock{file_mx_};
  {
    std::lock_guard table_lock{table_mx_};
    if (!servers_.count(uid)) return io_ok();
  }
  if (auto st = append(encode_record(uid, server_meta{}, true), true); !st) return st;
  {
    std::lock_guard table_lock{table_mx_};
    servers_.erase(uid);
  }
  return compact_if_large();
}

io_status meta_store::compact() {
  std::lock_guard file_lock{file_mx_};
  return compact_locked();
}

io_status meta_store::compact_locked() {
  auto data = file_header();
  {
    std::lock_guard table_lock{table_mx_};
    for (auto& [uid, m] : servers_) {
      auto rec = encode_record(uid, m, false);
      data.insert(data.end(), rec.begin(), rec.end());
    }
  }
  file_.reset();
  if (auto st = write_file_atomically(fs_, path_, data); !st) return st;
  auto f = fs_.open(path_, open_options{open_mode::append_create, false});
  if (!f) return f.error();
  file_ = std::move(*f);
  size_ = data.size();
  return io_ok();
}

}  // namespace ra::storage
