// ra-inspect: looks inside ra's storage files (WAL, segment, snapshot, meta store),
// verifies a whole data directory, and truncates a damaged WAL or meta store file at its
// first bad record on explicit request (a WAL file only when the cut cannot lose a
// committed entry: repair_check.hpp). Usage and exit codes: docs/ra-inspect.md.
//
// Verdicts come from the same readers recovery uses (wal_reader, segment_reader,
// snapshot_format), so "OK" here means "recovery accepts this file". The meta store's
// record format has no public reader (meta_store::open compacts, i.e. writes), so its
// scan below mirrors meta_store::load() rule for rule.

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <functional>
#include <iostream>
#include <optional>
#include <regex>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include "ra/version.hpp"
#include "segments/segment_file.hpp"
#include "snapshot/snapshot_file.hpp"
#include "snapshot/snapshot_format.hpp"
#include "io/crc32c.hpp"
#include "io/file.hpp"
#include "wal/wal_format.hpp"
#include "wal/wal_reader.hpp"

#include "tools/repair_check.hpp"

namespace {

namespace stdfs = std::filesystem;
using json = nlohmann::ordered_json;  // keys print in insertion order
using namespace ra::storage;

constexpr int exit_ok = 0;
constexpr int exit_damaged = 1;
constexpr int exit_usage = 2;

enum class file_kind { wal, segment, snapshot, meta, unknown };

const char* kind_name(file_kind k) {
  constexpr const char* names[] = {"wal", "segment", "snapshot", "meta", "unknown"};
  return names[static_cast<int>(k)];
}

file_kind kind_by_magic(const std::string& path) {
  auto f = file_system::posix().open(path, {open_mode::read});
  if (!f) return file_kind::unknown;
  char magic[4];
  auto got = (*f)->pread(magic, 0);
  if (!got || *got < sizeof magic) return file_kind::unknown;
  std::string_view m{magic, sizeof magic};
  if (m == "RAWA") return file_kind::wal;
  if (m == "RASG") return file_kind::segment;
  if (m == "RASN") return file_kind::snapshot;
  if (m == "RAMT") return file_kind::meta;
  return file_kind::unknown;
}

/// The kind a file's name promises: a file named like a WAL whose magic was destroyed
/// must be reported as a damaged WAL, not skipped as a stranger.
file_kind kind_by_name(const std::string& path) {
  auto name = stdfs::path(path).filename().string();
  if (name.ends_with(".wal")) return file_kind::wal;
  if (name.ends_with(".segment")) return file_kind::segment;
  if (name.ends_with(".snapshot")) return file_kind::snapshot;
  if (name == "meta.log") return file_kind::meta;
  return file_kind::unknown;
}

file_kind detect_kind(const std::string& path) {
  auto k = kind_by_magic(path);
  return k != file_kind::unknown ? k : kind_by_name(path);
}

/// What scanning one file found. Only the first bad record counts: past it, nothing in
/// the file can be trusted to be where its neighbours say.
struct scan_result {
  std::optional<uint64_t> bad_offset;
  std::string bad_reason;
  std::optional<uint64_t> torn_offset;  ///< valid data ends here; recovery drops the rest
  uint64_t size = 0;

  void mark_bad(uint64_t offset, std::string reason) {
    if (bad_offset) return;
    bad_offset = offset;
    bad_reason = std::move(reason);
  }
};

/// Receives one JSON event per header, record, torn tail or bad record. Empty when
/// verifying (nothing but the verdict is printed).
using emit_fn = std::function<void(json)>;

void emit_if(const emit_fn& emit, json event) {
  if (emit) emit(std::move(event));
}

json file_event(const std::string& path, file_kind kind, int version, uint64_t size) {
  return json{{"event", "file"}, {"path", path}, {"kind", kind_name(kind)}, {"version", version}, {"size", size}};
}

json bad_event(uint64_t offset, const std::string& reason) {
  return json{{"event", "bad_record"}, {"offset", offset}, {"reason", reason}};
}

/// The libraries' corruption errors name the offset inside their text ("... at offset N").
std::pair<uint64_t, std::string> split_offset(const std::string& what) {
  static const std::regex at_offset{R"(^(.*) at offset (\d+)$)"};
  std::smatch m;
  if (std::regex_match(what, m, at_offset)) return {std::stoull(m[2].str()), m[1].str()};
  return {0, what};
}

std::string reason_of(const io_error& e) {
  return e.code == EBADMSG ? e.op : e.message();  // EBADMSG ops describe the damage
}

/// The file's size and its first `n` bytes (fewer if the file is shorter).
std::pair<uint64_t, std::vector<char>> size_and_head(const file& f, size_t n) {
  std::vector<char> head(n);
  auto size = f.size();
  auto got = f.pread(head, 0);
  head.resize(got ? *got : 0);
  return {size ? *size : 0, head};
}

/// Opens `path` for reading; a file that cannot be opened is reported as bad at offset 0.
std::unique_ptr<file> open_for_scan(const std::string& path, scan_result& r) {
  auto f = file_system::posix().open(path, {open_mode::read});
  if (f) return std::move(*f);
  r.mark_bad(0, f.error().message());
  return nullptr;
}

// -- WAL ------------------------------------------------------------------------------

scan_result scan_wal(const std::string& path, const emit_fn& emit) {
  scan_result r;
  auto raw = open_for_scan(path, r);
  if (!raw) return r;
  auto [size, head] = size_and_head(*raw, wal_format::file_header_size);
  r.size = size;
  emit_if(emit, file_event(path, file_kind::wal, head.size() > 4 ? static_cast<uint8_t>(head[4]) : -1, size));

  // Decodes the record header at `offset` (the reader does not expose the flags).
  auto header_at = [&](uint64_t offset) -> std::optional<wal_format::record_header> {
    char bytes[wal_format::record_header_size];
    auto got = raw->pread(bytes, offset);
    wal_format::record_header h;
    if (!got || *got < sizeof bytes || wal_format::decode_header(bytes, h) != wal_format::header_status::ok)
      return std::nullopt;
    return h;
  };

  wal_reader reader{file_system::posix(), path};
  for (;;) {
    auto step = reader.next();
    if (step == wal_reader::step::record) {
      if (!emit) continue;
      const wal_record& rec = reader.record();
      auto h = header_at(rec.offset);
      emit(json{{"event", "record"}, {"offset", rec.offset}, {"index", rec.entry.index.value},
                {"term", rec.entry.term.value}, {"length", wal_format::entry_record_size(rec.entry)},
                {"checksum", h && !h->body_checksummed ? "unchecked" : "ok"},
                {"writer", std::string{rec.writer_uid}}, {"truncate", rec.truncate}});
    } else if (step == wal_reader::step::torn_tail) {
      r.torn_offset = reader.torn_tail_offset();
      emit_if(emit, json{{"event", "torn_tail"}, {"offset", *r.torn_offset}, {"bytes", size - *r.torn_offset}});
      break;
    } else if (step == wal_reader::step::error) {
      const wal_error& e = reader.error();
      // With an intact header the bad record can still be named (its body failed).
      if (auto h = header_at(e.offset); h && e.offset >= wal_format::file_header_size)
        emit_if(emit, json{{"event", "record"}, {"offset", e.offset}, {"index", h->index}, {"term", h->term},
                           {"length", wal_format::record_header_size + h->body_length},
                           {"checksum", "BAD"}, {"truncate", h->truncate}});
      r.mark_bad(e.offset, e.reason);
      emit_if(emit, bad_event(e.offset, e.reason));
      break;
    } else {
      break;  // end_of_file
    }
  }
  return r;
}

// -- segments -------------------------------------------------------------------------

scan_result scan_segment(const std::string& path, const emit_fn& emit) {
  constexpr size_t header_size = 16;  // magic, version u16, flags u16, slots u32, crc u32
  constexpr size_t entries_per_read = 256;
  constexpr size_t segment_entry_prefix = 9;  // kind u8 + system_time i64 before the payload
  scan_result r;
  auto raw = open_for_scan(path, r);
  if (!raw) return r;
  auto [size, head] = size_and_head(*raw, header_size);
  r.size = size;
  auto le = [&](size_t at, int bytes) {
    uint64_t v = 0;
    for (int i = 0; i < bytes; ++i) v |= uint64_t{static_cast<uint8_t>(head[at + i])} << (8 * i);
    return v;
  };
  bool complete_header = head.size() == header_size;
  bool data_checksums = complete_header && (le(6, 2) & 1) != 0;
  auto header = file_event(path, file_kind::segment, complete_header ? static_cast<int>(le(4, 2)) : -1, size);
  if (complete_header) {
    header["slots"] = le(8, 4);
    header["data_checksums"] = data_checksums;
  }
  emit_if(emit, std::move(header));

  auto reader = segment_reader::open(file_system::posix(), path);
  if (!reader) {
    auto [offset, reason] = split_offset(reason_of(reader.error()));
    r.mark_bad(offset, reason);
    emit_if(emit, bad_event(offset, reason));
    return r;
  }
  auto range = reader->range();
  if (!range) return r;
  // read_range checks every data CRC and stops at the first bad entry; the listing goes
  // on past it (slots are independent), the verdict keeps the first.
  std::vector<ra::log_entry> batch;
  for (uint64_t i = range->first.value; i <= range->last.value;) {
    batch.clear();
    auto st = reader->read_range(ra::index_t{i}, range->last, entries_per_read, batch);
    for (auto& e : batch)
      emit_if(emit, json{{"event", "record"}, {"index", e.index.value}, {"term", e.term.value},
                         {"length", segment_entry_prefix + e.payload.size()},
                         {"checksum", data_checksums ? "ok" : "unchecked"}});
    i += batch.size();
    if (!st) {
      auto [offset, reason] = split_offset(reason_of(st.error()));
      emit_if(emit, json{{"event", "record"}, {"offset", offset}, {"index", i},
                         {"term", reader->term_at(ra::index_t{i}).value_or(ra::term_t{0}).value},
                         {"checksum", "BAD"}});
      emit_if(emit, bad_event(offset, reason));
      r.mark_bad(offset, reason);
      ++i;
    }
  }
  return r;
}

// -- snapshots ------------------------------------------------------------------------

std::string describe(const ra::member& m) { return m.id.to_string() + ":" + ra::to_string(m.kind); }

scan_result scan_snapshot(const std::string& path, const emit_fn& emit) {
  scan_result r;
  auto raw = open_for_scan(path, r);
  if (!raw) return r;
  auto [size, head] = size_and_head(*raw, snapshot_format::header_size);
  r.size = size;
  auto header = file_event(path, file_kind::snapshot, head.size() > 4 ? static_cast<uint8_t>(head[4]) : -1, size);
  auto layout = snapshot_format::read_layout(*raw);
  if (!layout) {
    emit_if(emit, std::move(header));
    r.mark_bad(0, reason_of(layout.error()));
    emit_if(emit, bad_event(0, r.bad_reason));
    return r;
  }
  const auto& meta = layout->meta;
  std::vector<std::string> members;
  for (auto& m : meta.cluster.members()) members.push_back(describe(m));
  header["index"] = meta.index.value;
  header["term"] = meta.term.value;
  header["members"] = members;
  header["machine_version"] = meta.machine_version;
  emit_if(emit, std::move(header));

  // The whole file is one record: the CRC in the header covers meta and state.
  auto crc = snapshot_format::verify_crc(*raw, *layout);
  emit_if(emit, json{{"event", "record"}, {"offset", layout->state_offset}, {"index", meta.index.value},
                     {"term", meta.term.value}, {"length", layout->state_size}, {"checksum", crc ? "ok" : "BAD"}});
  if (!crc) {
    r.mark_bad(0, reason_of(crc.error()));
  } else {
    // Recovery also rejects a file whose name and meta disagree (a renamed file).
    auto dir = stdfs::path(path).parent_path().string();
    auto listed = list_snapshot_files(file_system::posix(), dir.empty() ? "." : dir);
    auto name = stdfs::path(path).filename();
    for (auto& info : listed ? *listed : std::vector<snapshot_file_info>{})
      if (stdfs::path(info.path).filename() == name && (info.index != meta.index || info.term != meta.term))
        r.mark_bad(0, "file name says index " + std::to_string(info.index.value) + " term " +
                        std::to_string(info.term.value) + " but the meta says index " +
                        std::to_string(meta.index.value) + " term " + std::to_string(meta.term.value));
  }
  if (r.bad_offset) emit_if(emit, bad_event(0, r.bad_reason));
  return r;
}

// -- meta store -----------------------------------------------------------------------

/// Little-endian fields of one meta store record body, bounds-checked.
struct body_cursor {
  const char* p;
  size_t left;
  bool ok = true;
  uint64_t num(size_t n) {
    if (left < n) return ok = false, 0;
    uint64_t v = 0;
    for (size_t i = 0; i < n; ++i) v |= uint64_t{static_cast<uint8_t>(p[i])} << (8 * i);
    p += n, left -= n;
    return v;
  }
  std::string str() {
    auto n = num(4);
    if (!ok || n > left) return ok = false, std::string{};
    std::string s{p, n};
    p += n, left -= n;
    return s;
  }
};

scan_result scan_meta(const std::string& path, const emit_fn& emit) {
  // Layout (meta_store.cpp): "RAMT", version u8, 3 zero bytes; then records of
  // crc32c u32 (over the length field and the body) | body length u32 | body.
  constexpr size_t header_size = 8, prefix = 8;
  constexpr uint32_t max_body = 1 << 20;
  scan_result r;
  auto data = read_file(file_system::posix(), path);
  if (!data) {
    r.mark_bad(0, data.error().message());
    return r;
  }
  const std::vector<char>& d = *data;
  r.size = d.size();
  emit_if(emit, file_event(path, file_kind::meta, d.size() > 4 ? static_cast<uint8_t>(d[4]) : -1, d.size()));
  auto torn = [&](uint64_t at) {
    r.torn_offset = at;
    emit_if(emit, json{{"event", "torn_tail"}, {"offset", at}, {"bytes", d.size() - at}});
  };
  auto bad = [&](uint64_t at, std::string why) {
    r.mark_bad(at, std::move(why));
    emit_if(emit, bad_event(at, r.bad_reason));
  };
  if (d.size() < header_size || std::memcmp(d.data(), "RAMT", 4) != 0) {
    bad(0, "not a meta store file");
    return r;
  }
  if (d[4] != 1) {
    bad(4, "unsupported version " + std::to_string(static_cast<uint8_t>(d[4])));
    return r;
  }
  auto le32 = [&](size_t at) { return static_cast<uint32_t>(body_cursor{d.data() + at, 4}.num(4)); };
  for (size_t off = header_size; off < d.size();) {
    const size_t left = d.size() - off;
    // Zeros or a cut-short record can only be the final write a crash interrupted.
    if (left < prefix || std::all_of(d.begin() + off, d.end(), [](char c) { return c == 0; })) {
      torn(off);
      break;
    }
    const uint32_t crc = le32(off), len = le32(off + 4);
    const bool ends_file = off + prefix + len >= d.size();
    if (len > max_body && !ends_file) {
      bad(off, "record length " + std::to_string(len) + " is invalid");
      break;
    }
    if (len > max_body || left < prefix + len) {
      torn(off);
      break;
    }
    const char* body = d.data() + off + prefix;
    if (crc32c(body, len, crc32c(d.data() + off + 4, 4)) != crc) {
      emit_if(emit, json{{"event", "record"}, {"offset", off}, {"length", prefix + len}, {"checksum", "BAD"}});
      if (off + prefix + len == d.size())
        torn(off);
      else
        bad(off, "checksum mismatch");
      break;
    }
    body_cursor c{body, len};
    const bool removed = c.num(1) != 0;
    const auto uid = c.str();
    const auto term = c.num(8);
    const bool has_vote = c.num(1) != 0;
    const auto vote_name = c.str();
    const auto vote_node = c.str();
    const auto last_applied = c.num(8);
    if (!c.ok) {
      bad(off, "record body does not decode");
      break;
    }
    emit_if(emit, json{{"event", "record"}, {"offset", off}, {"uid", uid}, {"term", term},
                       {"voted_for", has_vote ? ra::server_id{vote_name, vote_node}.to_string() : ""},
                       {"last_applied", last_applied}, {"removed", removed}, {"length", prefix + len},
                       {"checksum", "ok"}});
    off += prefix + len;
  }
  return r;
}

scan_result scan(file_kind kind, const std::string& path, const emit_fn& emit) {
  switch (kind) {
    case file_kind::wal: return scan_wal(path, emit);
    case file_kind::segment: return scan_segment(path, emit);
    case file_kind::snapshot: return scan_snapshot(path, emit);
    case file_kind::meta: return scan_meta(path, emit);
    case file_kind::unknown: break;
  }
  scan_result r;
  if (open_for_scan(path, r)) r.mark_bad(0, "not a ra storage file (unknown magic)");
  return r;
}

// -- verdicts -------------------------------------------------------------------------

/// True unless a WAL file with a higher number sits in the same directory: only the
/// newest WAL can end in a write a crash cut short (recovery truncates it there).
bool is_newest_wal(const std::string& path) {
  auto p = stdfs::path(path);
  auto dir = p.parent_path().empty() ? stdfs::path(".") : p.parent_path();
  auto own = p.filename().string();
  std::error_code ec;
  for (auto& entry : stdfs::directory_iterator(dir, ec)) {
    auto name = entry.path().filename().string();
    // Names are "%016llu.wal": same width, so string order is number order.
    if (name.size() == own.size() && name.ends_with(".wal") && name > own) return false;
  }
  return true;
}

enum class verdict { ok, ok_torn_tail, bad };

/// A torn tail is fine where recovery drops it silently: the newest WAL file and the
/// meta store (whose only file is always the newest).
verdict judge(file_kind kind, const std::string& path, scan_result& r) {
  if (r.bad_offset) return verdict::bad;
  if (!r.torn_offset) return verdict::ok;
  if (kind == file_kind::meta || (kind == file_kind::wal && is_newest_wal(path))) return verdict::ok_torn_tail;
  r.mark_bad(*r.torn_offset, "torn tail in a WAL file that is not the newest (the writer never leaves one there)");
  return verdict::bad;
}

// -- output ---------------------------------------------------------------------------

std::string text_of(const json& v) {
  if (v.is_string()) return v.get<std::string>().empty() ? "-" : v.get<std::string>();
  if (v.is_boolean()) return v.get<bool>() ? "yes" : "no";
  if (v.is_array()) {
    std::string out;
    for (auto& item : v) out += (out.empty() ? "" : ",") + text_of(item);
    return out.empty() ? "-" : out;
  }
  return v.dump();
}

/// key=value pairs, so scripts can pick fields with awk as easily as with jq.
std::string fields(const json& event, std::initializer_list<const char*> skip) {
  std::string out;
  for (auto& [key, value] : event.items()) {
    if (std::find_if(skip.begin(), skip.end(), [&](const char* s) { return key == s; }) != skip.end()) continue;
    out += (out.empty() ? "" : " ") + key + "=" + text_of(value);
  }
  return out;
}

void print_event(const json& e, bool as_json) {
  if (as_json) {
    std::cout << e.dump() << '\n';
    return;
  }
  const auto type = e["event"].get<std::string>();
  if (type == "file")
    std::cout << e["path"].get<std::string>() << ": " << fields(e, {"event", "path"}) << '\n';
  else if (type == "record")
    std::cout << "  " << fields(e, {"event"}) << '\n';
  else if (type == "torn_tail")
    std::cout << "  torn tail at offset " << e["offset"] << " (" << e["bytes"] << " bytes)\n";
  else if (type == "bad_record")
    std::cout << "  bad record at offset " << e["offset"] << ": " << e["reason"].get<std::string>() << '\n';
}

/// Prints the verdict line of --verify and of each inspected file.
void print_verdict(const std::string& path, verdict v, const scan_result& r, bool as_json) {
  json e{{"event", "verdict"}, {"path", path}, {"status", "ok"}};
  std::string text = path + ": OK";
  if (v == verdict::ok_torn_tail) {
    e["status"] = "ok_torn_tail";
    e["offset"] = *r.torn_offset;
    text += " (torn tail at offset " + std::to_string(*r.torn_offset) + ", recovery drops it)";
  } else if (v == verdict::bad) {
    e.update({{"status", "bad"}, {"offset", *r.bad_offset}, {"reason", r.bad_reason}});
    text = path + ": bad record at offset " + std::to_string(*r.bad_offset) + ": " + r.bad_reason;
  }
  std::cout << (as_json ? e.dump() : text) << '\n';
}

int inspect_files(const std::vector<std::string>& paths, bool as_json) {
  int status = exit_ok;
  for (auto& path : paths) {
    auto kind = detect_kind(path);
    auto r = scan(kind, path, [&](json e) { print_event(e, as_json); });
    auto v = judge(kind, path, r);
    print_verdict(path, v, r, as_json);
    if (v == verdict::bad) status = exit_damaged;
  }
  return status;
}

int verify_directory(const std::string& dir, bool as_json) {
  std::error_code ec;
  if (!stdfs::is_directory(dir, ec)) {
    std::cerr << "ra-inspect: " << dir << " is not a directory\n";
    return exit_usage;
  }
  std::vector<std::string> paths;
  for (auto it = stdfs::recursive_directory_iterator(dir, ec); !ec && it != stdfs::recursive_directory_iterator();
       it.increment(ec))
    if (it->is_regular_file(ec)) paths.push_back(it->path().string());
  if (ec) {
    std::cerr << "ra-inspect: walking " << dir << ": " << ec.message() << '\n';
    return exit_usage;
  }
  std::sort(paths.begin(), paths.end());
  size_t ok = 0, bad = 0, skipped = 0;
  for (auto& path : paths) {
    // Only the names recovery reads: not temporaries (half-written by design, deleted
    // unread), nor ra-inspect's own .bak copies of repaired files.
    auto kind = kind_by_name(path);
    if (kind == file_kind::unknown) {
      ++skipped;
      continue;
    }
    auto r = scan(kind, path, {});
    auto v = judge(kind, path, r);
    print_verdict(path, v, r, as_json);
    ++(v == verdict::bad ? bad : ok);
  }
  if (as_json)
    std::cout << json{{"event", "summary"}, {"ok", ok}, {"bad", bad}, {"skipped", skipped}}.dump() << '\n';
  else
    std::cout << "verified " << ok + bad << " files: " << ok << " OK, " << bad << " bad (" << skipped
              << " other files skipped)\n";
  return bad == 0 ? exit_ok : exit_damaged;
}

// -- repair ---------------------------------------------------------------------------

/// Copies `from` to `to` and makes the copy durable before the original is touched.
io_status durable_copy(const std::string& from, const std::string& to) {
  std::error_code ec;
  stdfs::copy_file(from, to, stdfs::copy_options::overwrite_existing, ec);
  if (ec) return io_error{ec.value(), "copy to " + to, from};
  auto f = file_system::posix().open(to, {open_mode::read_write});
  if (!f) return f.error();
  return (*f)->sync(sync_method::sync);
}

/// The node a WAL file belongs to: its data directory (`--data-dir`, else the parent of
/// the file's `wal` directory) and every server's last_applied from `<data>/meta/meta.log`,
/// read by scan_meta (meta_store::open would compact, i.e. write, the file).
ra::inspect::node_context node_of_wal(const std::string& wal_path, const std::string& data_dir_option) {
  ra::inspect::node_context node;
  std::error_code ec;
  const auto wal_dir = stdfs::absolute(wal_path, ec).lexically_normal().parent_path();
  if (!data_dir_option.empty())
    node.data_dir = data_dir_option;
  else if (wal_dir.filename() == "wal")
    node.data_dir = wal_dir.parent_path().string();
  if (!node.data_dir) {
    node.meta_problem = "the WAL file is not in <data>/wal, so the data directory is unknown (pass --data-dir)";
    return node;
  }
  const auto meta_path = *node.data_dir + "/meta/meta.log";
  if (!stdfs::exists(meta_path, ec)) {
    node.meta_problem = meta_path + " does not exist";
    return node;
  }
  ra::inspect::last_applied_map applied;
  auto r = scan_meta(meta_path, [&](const json& e) {
    if (e["event"] != "record" || !e.contains("uid")) return;
    // Later records replace earlier ones; a removal forgets the server (meta_store::load).
    if (e["removed"].get<bool>())
      applied.erase(e["uid"].get<std::string>());
    else
      applied[e["uid"].get<std::string>()] = e["last_applied"].get<uint64_t>();
  });
  if (r.bad_offset)
    node.meta_problem = meta_path + ": bad record at offset " + std::to_string(*r.bad_offset) + ": " + r.bad_reason;
  else
    node.last_applied = std::move(applied);
  return node;
}

struct repair_options {
  bool force = false;            ///< overwrite an existing FILE.bak
  bool allow_data_loss = false;  ///< cut even when committed entries may be dropped
  std::string data_dir;          ///< where the WAL file's node keeps its meta store and servers
};

int repair_file(const std::string& path, const repair_options& options) {
  auto kind = detect_kind(path);
  if (kind != file_kind::wal && kind != file_kind::meta) {
    std::cerr << "ra-inspect: " << path << ": --repair supports WAL and meta store files only (this is "
              << kind_name(kind) << "); see docs/ra-inspect.md\n";
    return exit_usage;
  }
  auto r = scan(kind, path, {});
  auto cut = r.bad_offset ? r.bad_offset : r.torn_offset;
  if (!cut) {
    std::cout << path << ": intact, nothing to repair\n";
    return exit_ok;
  }
  // Both formats start with an 8-byte file header; cutting into it leaves no valid file.
  if (*cut < wal_format::file_header_size) {
    std::cerr << "ra-inspect: " << path << ": the file header is damaged (" << r.bad_reason
              << "); truncating cannot repair it\n";
    return exit_damaged;
  }
  // A torn tail of the newest WAL file is a batch that was never synced, hence never
  // acknowledged: dropping it is what recovery does. Any other cut may drop entries the
  // node acknowledged (a later batch was synced after them).
  std::optional<ra::inspect::cut_assessment> assessment;
  if (kind == file_kind::wal && (r.bad_offset || !is_newest_wal(path))) {
    auto assessed = ra::inspect::assess_wal_cut(path, *cut, node_of_wal(path, options.data_dir));
    if (!assessed) {
      std::cerr << "ra-inspect: " << path << ": cannot tell what the cut would drop: " << assessed.error().message()
                << '\n';
      return exit_damaged;
    }
    assessment = std::move(*assessed);
    if (!assessment->safe() && !options.allow_data_loss) {
      // Without the meta store nothing is known to be uncommitted: list every run.
      std::cerr << "ra-inspect: " << path << ": refusing to repair: truncating at offset " << *cut
                << " could lose committed entries:\n"
                << ra::inspect::describe(*assessment, /*at_risk_only=*/!assessment->meta_problem, "  ")
                << "Nothing was changed. Recover these servers from their peers (docs/ra-inspect.md, \"Recovering "
                   "from peers\"), or pass --allow-data-loss to truncate anyway.\n";
      return exit_damaged;
    }
  }
  const std::string backup = path + ".bak";
  if (stdfs::exists(backup) && !options.force) {
    std::cerr << "ra-inspect: " << backup << " exists; remove it or pass --force to overwrite it\n";
    return exit_damaged;
  }
  if (auto st = durable_copy(path, backup); !st) {
    std::cerr << "ra-inspect: " << st.error().message() << '\n';
    return exit_damaged;
  }
  auto f = file_system::posix().open(path, {open_mode::read_write});
  io_status done = f ? (*f)->truncate(*cut) : io_status{f.error()};
  if (done) done = (*f)->sync(sync_method::datasync);
  if (!done) {
    std::cerr << "ra-inspect: " << done.error().message() << " (the original is in " << backup << ")\n";
    return exit_damaged;
  }
  std::cout << path << ": copied to " << backup << "; truncated at offset " << *cut << ", dropping "
            << r.size - *cut << " bytes ("
            << (r.bad_offset ? "first bad record: " + r.bad_reason : std::string{"torn tail"}) << ")\n";
  if (assessment && !assessment->drops_nothing())
    std::cout << (assessment->safe() ? "  dropped entries, none of them committed:\n"
                                     : "  lost (--allow-data-loss), committed or possibly committed entries included:\n")
              << ra::inspect::describe(*assessment, /*at_risk_only=*/false, "    ");
  if (kind == file_kind::wal && r.bad_offset && !is_newest_wal(path))
    std::cout << "  note: the entries after the cut are lost; where a newer WAL file continues the same "
                 "writers, recovery will report the gap\n";
  return exit_ok;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{
    "ra-inspect: inspect, verify and repair ra storage files (WAL, segment, snapshot, meta store).\n"
    "  ra-inspect FILE...          list each file's header and records\n"
    "  ra-inspect --verify DIR     check every storage file under DIR\n"
    "  ra-inspect --repair FILE    back up FILE to FILE.bak, then truncate it at its first bad record\n"
    "                              (WAL and meta store files only: segments and snapshots cannot be\n"
    "                              repaired by truncation; docs/ra-inspect.md says what to do instead).\n"
    "                              A WAL file is not cut when that would drop entries that are, or may\n"
    "                              be, committed (judged from the node's meta store, server configs and\n"
    "                              logs); a torn tail of the newest WAL file is always cut.\n"
    "Exit status: 0 all good (or repaired), 1 damage found or repair refused or impossible, 2 usage error."};
  app.set_version_flag("--version", "ra-inspect " RA_VERSION_STRING);
  std::vector<std::string> files;
  std::string verify_dir;
  bool repair = false, as_json = false;
  repair_options repair_with;
  auto files_opt = app.add_option("files", files, "storage files to list (with --repair: the one to repair)")
                      ->type_name("FILE");
  auto verify_opt = app.add_option("--verify", verify_dir, "verify every storage file under DIR")->type_name("DIR");
  // A flag, not an option taking FILE, so "--repair --force FILE" parses too.
  auto repair_opt = app.add_flag("--repair", repair, "truncate FILE at its first bad record (WAL, meta store)");
  app.add_flag("--force", repair_with.force, "with --repair: overwrite an existing FILE.bak");
  app.add_flag("--allow-data-loss", repair_with.allow_data_loss,
               "with --repair: cut a WAL file even if committed entries are dropped (they are listed)")
    ->needs(repair_opt);
  app.add_option("--data-dir", repair_with.data_dir,
                 "with --repair: the node's data directory (default: the parent of the WAL file's wal/ directory)")
    ->type_name("DIR")
    ->needs(repair_opt);
  app.add_flag("--json", as_json, "print JSON lines instead of text");
  verify_opt->excludes(files_opt)->excludes(repair_opt);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    int code = app.exit(e);
    return code == 0 ? exit_ok : exit_usage;
  }
  if (!verify_dir.empty()) return verify_directory(verify_dir, as_json);
  if (files.empty() || (repair && files.size() != 1)) {
    std::cerr << (repair ? "ra-inspect: --repair takes exactly one FILE\n" : app.help());
    return exit_usage;
  }
  if (repair) return repair_file(files.front(), repair_with);
  return inspect_files(files, as_json);
}
