#include "io/endian.hpp"
#include "segments/segment_file.hpp"

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <iterator>
#include <stdexcept>

#include "io/crc32c.hpp"

namespace ra::storage {

namespace {

// Layout constants; see docs/storage-format.md "Segment files".
constexpr char segment_magic[4] = {'R', 'A', 'S', 'G'};
constexpr uint16_t segment_version = 1;
constexpr uint16_t flag_data_checksums = 1;
constexpr size_t header_size = 16;
constexpr size_t slot_size = 36;
constexpr size_t slot_crc_offset = 32;
/// kind u8 + system_time i64 before the payload.
constexpr size_t entry_prefix_size = 9;
// Buffered appends are written out once they reach either bound: few enough to keep
// memory small, many enough that a flush is two large pwrites, not thousands of tiny ones.
constexpr size_t flush_after_slots = 1024;
constexpr size_t flush_after_bytes = 1 << 20;
/// Read-ahead when reading consecutive entries (as Ra's 64 KB).
constexpr size_t read_ahead_bytes = 64 * 1024;

void put_u16(char* p, uint16_t v) { store_le(p, v); }
void put_u32(char* p, uint32_t v) { store_le(p, v); }
void put_u64(char* p, uint64_t v) { store_le(p, v); }
uint16_t get_u16(const char* p) { return load_le<uint16_t>(p); }
uint32_t get_u32(const char* p) { return load_le<uint32_t>(p); }
uint64_t get_u64(const char* p) { return load_le<uint64_t>(p); }

uint64_t data_area_start(uint32_t max_count) { return header_size + uint64_t{max_count} * slot_size; }

io_error corrupt(const std::string& path, const std::string& what) { return io_error{EBADMSG, what, path}; }

std::string at_offset(const std::string& what, uint64_t offset) {
  return what + " at offset " + std::to_string(offset);
}

void encode_slot(char* p, const segment_reader::slot& s) {
  put_u64(p, s.index.value);
  put_u64(p + 8, s.term.value);
  put_u64(p + 16, s.offset);
  put_u32(p + 24, s.length);
  put_u32(p + 28, s.data_crc);
  put_u32(p + slot_crc_offset, crc32c(p, slot_crc_offset));
}

enum class slot_state { empty, torn, valid };

/// Classifies one index slot. "torn" covers every non-zero slot that cannot be
/// trusted: bad CRC, or pointing outside the data area of a file of `file_size` bytes.
slot_state decode_slot(const char* p, uint64_t data_start, uint64_t file_size, segment_reader::slot& out) {
  if (std::all_of(p, p + slot_size, [](char c) { return c == 0; })) return slot_state::empty;
  if (get_u32(p + slot_crc_offset) != crc32c(p, slot_crc_offset)) return slot_state::torn;
  out.index = index_t{get_u64(p)};
  out.term = term_t{get_u64(p + 8)};
  out.offset = get_u64(p + 16);
  out.length = get_u32(p + 24);
  out.data_crc = get_u32(p + 28);
  // A CRC-valid slot pointing past the end is one whose data never reached the disk
  // (the page cache may write the index back before the data when nothing was synced).
  bool in_file = out.offset >= data_start && out.offset <= file_size && out.length <= file_size - out.offset;
  if (out.index.value == 0 || !in_file || out.length < entry_prefix_size) return slot_state::torn;
  return slot_state::valid;
}

}  // namespace

std::optional<term_t> term_in_runs(const std::vector<term_run>& runs, index_t i) {
  // The last run starting at or below i.
  auto it = std::upper_bound(runs.begin(), runs.end(), i, [](index_t x, const term_run& r) { return x < r.first; });
  if (it == runs.begin()) return std::nullopt;
  return std::prev(it)->term;
}

void push_term_run(std::vector<term_run>& runs, index_t i, term_t t) {
  while (!runs.empty() && runs.back().first >= i) runs.pop_back();
  if (runs.empty() || runs.back().term != t) runs.push_back(term_run{i, t});
}

std::string segment_file_name(uint64_t n) {
  char buf[40];
  std::snprintf(buf, sizeof buf, "%016llu.segment", static_cast<unsigned long long>(n));
  return buf;
}

std::optional<uint64_t> parse_segment_file_name(const std::string& name) {
  constexpr std::string_view suffix = ".segment";
  if (name.size() <= suffix.size() || !name.ends_with(suffix)) return std::nullopt;
  auto digits = std::string_view{name}.substr(0, name.size() - suffix.size());
  if (digits.size() > 19) return std::nullopt;  // would overflow u64
  uint64_t n = 0;
  for (char c : digits) {
    if (c < '0' || c > '9') return std::nullopt;
    n = n * 10 + static_cast<uint64_t>(c - '0');
  }
  return n;
}

// -- writer --------------------------------------------------------------------------

segment_writer_file::segment_writer_file(std::unique_ptr<file> f, std::string path, const segment_config& config)
  : file_(std::move(f)),
    path_(std::move(path)),
    config_(config),
    data_start_(data_area_start(config.segment_max_entries)),
    data_end_(data_start_),
    flushed_data_end_(data_start_) {}

io_result<segment_writer_file> segment_writer_file::create(file_system& fs, std::string path,
                                                           const segment_config& config) {
  if (config.segment_max_entries == 0 || config.segment_max_entries > segment_max_entries_limit)
    throw std::invalid_argument("segment_max_entries must be in [1, " + std::to_string(segment_max_entries_limit) +
                                "]");
  auto f = fs.open(path, {open_mode::create});
  if (!f) return f.error();
  char header[header_size];
  std::memcpy(header, segment_magic, 4);
  put_u16(header + 4, segment_version);
  put_u16(header + 6, config.segment_compute_checksums ? flag_data_checksums : 0);
  put_u32(header + 8, config.segment_max_entries);
  put_u32(header + 12, crc32c(header, 12));
  if (auto r = (*f)->pwrite({header, header_size}, 0); !r) return r.error();
  return segment_writer_file{std::move(*f), std::move(path), config};
}

io_result<segment_writer_file::append_result> segment_writer_file::append(const log_entry& entry) {
  if (entry.index.value == 0) throw std::invalid_argument("segment_writer_file::append: index 0 is not an entry");
  if (range_ && entry.index > range_->last + 1) return append_result::not_contiguous;
  if (slots_used_ == config_.segment_max_entries) return append_result::full;
  uint64_t length = entry_prefix_size + entry.payload.size();
  if (length > UINT32_MAX) throw std::invalid_argument("segment_writer_file::append: entry larger than 4 GiB");
  if (slots_used_ > 0 && data_bytes() + length > config_.segment_max_size_bytes) return append_result::full;

  auto at = pending_data_.size();
  pending_data_.resize(at + length);
  char* p = pending_data_.data() + at;
  p[0] = static_cast<char>(entry.kind);
  put_u64(p + 1, static_cast<uint64_t>(entry.system_time));
  if (!entry.payload.empty()) std::memcpy(p + entry_prefix_size, entry.payload.data(), entry.payload.size());

  segment_reader::slot s{entry.index, entry.term, data_end_, static_cast<uint32_t>(length),
                         config_.segment_compute_checksums ? crc32c(p, length) : 0};
  auto slot_at = pending_slots_.size();
  pending_slots_.resize(slot_at + slot_size);
  encode_slot(pending_slots_.data() + slot_at, s);

  data_end_ += length;
  ++slots_used_;
  // Same rule as the reader: an index at or below the last one discards everything from it.
  if (!range_ || entry.index < range_->first)
    range_ = index_range{entry.index, entry.index};
  else
    range_->last = entry.index;
  push_term_run(terms_, entry.index, entry.term);

  if (pending_slots_.size() >= flush_after_slots * slot_size || pending_data_.size() >= flush_after_bytes) {
    if (auto r = flush(); !r) return r.error();
  }
  return append_result::appended;
}

io_status segment_writer_file::flush() {
  if (pending_slots_.empty()) return io_ok();
  if (auto r = file_->pwrite(pending_data_, flushed_data_end_); !r) return r;
  if (auto r = file_->pwrite(pending_slots_, header_size + uint64_t{flushed_slots_} * slot_size); !r) return r;
  flushed_data_end_ = data_end_;
  flushed_slots_ = slots_used_;
  pending_data_.clear();
  pending_slots_.clear();
  return io_ok();
}

io_status segment_writer_file::sync() {
  if (auto r = flush(); !r) return r;
  return file_->sync(sync_method::datasync);
}

io_status segment_writer_file::close() {
  auto r = sync();
  file_.reset();
  return r;
}

// -- reader --------------------------------------------------------------------------

segment_reader::segment_reader(std::unique_ptr<file> f, std::string path, bool data_checksums, std::vector<slot> slots)
  : file_(std::move(f)), path_(std::move(path)), data_checksums_(data_checksums), slots_(std::move(slots)) {}

io_result<segment_reader> segment_reader::open(file_system& fs, const std::string& path) {
  auto f = fs.open(path, {open_mode::read});
  if (!f) return f.error();
  auto size = (*f)->size();
  if (!size) return size.error();
  uint64_t file_size = *size;

  char header[header_size];
  auto got = (*f)->pread({header, header_size}, 0);
  if (!got) return got.error();
  if (*got < header_size) return corrupt(path, "segment header truncated (" + std::to_string(*got) + " bytes)");
  if (std::memcmp(header, segment_magic, 4) != 0) return corrupt(path, "segment header: bad magic");
  if (get_u32(header + 12) != crc32c(header, 12)) return corrupt(path, "segment header: bad checksum");
  if (get_u16(header + 4) != segment_version)
    return corrupt(path, "segment header: unsupported version " + std::to_string(get_u16(header + 4)));
  uint32_t max_count = get_u32(header + 8);
  if (max_count == 0 || max_count > segment_max_entries_limit)
    return corrupt(path, "segment header: bad slot count " + std::to_string(max_count));
  bool data_checksums = (get_u16(header + 6) & flag_data_checksums) != 0;
  uint64_t data_start = data_area_start(max_count);

  // Only the part of the index area that exists in the file; the rest reads as zeros.
  uint64_t index_bytes = std::min<uint64_t>(uint64_t{max_count} * slot_size, file_size - header_size);
  std::vector<char> area(index_bytes);
  got = (*f)->pread(area, header_size);
  if (!got) return got.error();
  size_t slots_present = *got / slot_size;

  // The index ends at the last valid slot; the empty slots after it were never used. A
  // segment file gets its name only once it is complete and synced (write_segments), so
  // no crash can leave a slot half written: a damaged slot anywhere, also after the
  // last valid one, is corruption. (Taking it for the end of the index would silently
  // drop the entries it holds, and the ones after it in the log would move down.)
  std::vector<slot_state> states(slots_present);
  std::vector<slot> decoded(slots_present);
  std::optional<size_t> last_valid;
  for (size_t k = 0; k < slots_present; ++k) {
    states[k] = decode_slot(area.data() + k * slot_size, data_start, file_size, decoded[k]);
    if (states[k] == slot_state::valid) last_valid = k;
  }
  for (size_t k = last_valid ? *last_valid + 1 : 0; k < slots_present; ++k)
    if (states[k] == slot_state::torn)
      return corrupt(path, at_offset("segment index: bad slot after the last valid one", header_size + k * slot_size));
  std::vector<slot> live;
  for (size_t k = 0; last_valid && k <= *last_valid; ++k) {
    uint64_t slot_offset = header_size + k * slot_size;
    if (states[k] != slot_state::valid)
      return corrupt(path, at_offset(states[k] == slot_state::empty ? "segment index: empty slot before valid ones"
                                                                    : "segment index: bad slot",
                                     slot_offset));
    const slot& s = decoded[k];
    if (!live.empty() && s.index > live.back().index + 1)
      return corrupt(path, at_offset("segment index: gap before index " + std::to_string(s.index.value) + " in slot",
                                     slot_offset));
    // An index at or below the last is an overwrite: it replaces that entry and all above.
    while (!live.empty() && live.back().index >= s.index) live.pop_back();
    live.push_back(s);
  }
  return segment_reader{std::move(*f), path, data_checksums, std::move(live)};
}

std::optional<index_range> segment_reader::range() const {
  if (slots_.empty()) return std::nullopt;
  return index_range{slots_.front().index, slots_.back().index};
}

std::vector<term_run> segment_reader::terms() const {
  std::vector<term_run> runs;
  for (auto& s : slots_)
    if (runs.empty() || runs.back().term != s.term) runs.push_back(term_run{s.index, s.term});
  return runs;
}

const segment_reader::slot* segment_reader::find(index_t i) const {
  if (slots_.empty() || i < slots_.front().index || i > slots_.back().index) return nullptr;
  return &slots_[i - slots_.front().index];
}

std::optional<term_t> segment_reader::term_at(index_t i) const {
  auto s = find(i);
  if (!s) return std::nullopt;
  return s->term;
}

io_result<log_entry> segment_reader::decode(const slot& s, std::span<const char> bytes) const {
  if (data_checksums_ && crc32c(bytes) != s.data_crc)
    return corrupt(path_, at_offset(("segment entry " + std::to_string(s.index.value) + ": data checksum mismatch"),
                                    s.offset));
  auto kind = static_cast<uint8_t>(bytes[0]);
  if (kind > max_entry_kind)
    return corrupt(path_, at_offset(("segment entry " + std::to_string(s.index.value) + ": unknown kind " +
                                     std::to_string(kind)),
                                    s.offset));
  log_entry e;
  e.index = s.index;
  e.term = s.term;
  e.kind = static_cast<entry_kind>(kind);
  e.system_time = static_cast<int64_t>(get_u64(bytes.data() + 1));
  e.payload = shared_bytes{std::vector<char>(bytes.begin() + entry_prefix_size, bytes.end())};
  return e;
}

io_result<log_entry> segment_reader::read(index_t i) const {
  std::vector<log_entry> out;
  if (!find(i)) return io_error{ERANGE, "segment has no entry " + std::to_string(i.value), path_};
  if (auto r = read_range(i, i, 1, out); !r) return r.error();
  return std::move(out.front());
}

io_status segment_reader::read_range(index_t from, index_t to, size_t max_count, std::vector<log_entry>& out) const {
  if (slots_.empty() || max_count == 0) return io_ok();
  from = std::max(from, slots_.front().index);
  to = std::min(to, slots_.back().index);
  // A window of file bytes [window_start, window_start + window.size()), refilled with
  // read-ahead whenever the next entry is not inside it.
  std::vector<char> window;
  uint64_t window_start = 0;
  size_t added = 0;
  for (index_t i = from; i <= to && added < max_count; ++i, ++added) {
    const slot& s = *find(i);
    bool inside = s.offset >= window_start && s.offset + s.length <= window_start + window.size();
    if (!inside) {
      window.resize(std::max<size_t>(s.length, read_ahead_bytes));
      window_start = s.offset;
      auto got = file_->pread(window, window_start);
      if (!got) return got.error();
      window.resize(*got);
      if (*got < s.length)
        return corrupt(path_, at_offset(("segment entry " + std::to_string(i.value) + ": data truncated"),
                                        s.offset));
    }
    auto e = decode(s, std::span<const char>{window}.subspan(s.offset - window_start, s.length));
    if (!e) return e.error();
    out.push_back(std::move(*e));
  }
  return io_ok();
}

}  // namespace ra::storage
