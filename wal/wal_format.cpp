// Little-endian encoding and decoding of WAL records (layout in wal_format.hpp and
// docs/storage-format.md).

#include "wal/wal_format.hpp"

#include <cstring>
#include <limits>
#include <stdexcept>
#include <type_traits>

#include "io/crc32c.hpp"
#include "io/endian.hpp"

namespace ra::storage::wal_format {
namespace {

// Offsets inside the record header.
constexpr size_t header_crc_at = 0;
constexpr size_t type_flags_at = 4;
constexpr size_t writer_ref_at = 5;
constexpr size_t index_at = 9;
constexpr size_t term_at = 17;
constexpr size_t length_at = 25;
constexpr size_t body_crc_at = 29;
static_assert(body_crc_at + 4 == record_header_size);

/// Grows `out` by `n` bytes and returns a pointer to them.
char* grow(std::vector<char>& out, size_t n) {
  size_t old = out.size();
  out.resize(old + n);
  return out.data() + old;
}

/// Writes the header fields, then both CRCs: body CRC seeded with the fields' CRC,
/// header CRC over the fields and the body CRC.
void finish_header(char* h, uint8_t type_flags, uint32_t writer_ref, uint64_t index,
                   uint64_t term, uint32_t length, const char* body, bool checksum_body) {
  store_le<uint8_t>(h + type_flags_at, type_flags);
  store_le<uint32_t>(h + writer_ref_at, writer_ref);
  store_le<uint64_t>(h + index_at, index);
  store_le<uint64_t>(h + term_at, term);
  store_le<uint32_t>(h + length_at, length);
  uint32_t fields_crc = crc32c(h + type_flags_at, body_crc_at - type_flags_at);
  uint32_t body_crc = checksum_body ? crc32c(body, length, fields_crc) : 0;
  store_le<uint32_t>(h + body_crc_at, body_crc);
  store_le<uint32_t>(h + header_crc_at, crc32c(h + body_crc_at, 4, fields_crc));
}

}  // namespace

void append_file_header(std::vector<char>& out) {
  char* p = grow(out, file_header_size);
  std::memcpy(p, magic, sizeof magic);
  p[4] = static_cast<char>(version);
  // bytes 5..7 stay zero (padding)
}

file_header_status check_file_header(std::span<const char> bytes) {
  if (bytes.size() < file_header_size)
    return file_header_status::too_short;
  if (std::memcmp(bytes.data(), magic, sizeof magic) != 0)
    return file_header_status::bad_magic;
  if (const auto v = static_cast<uint8_t>(bytes[4]); v < oldest_readable_version || v > version)
    return file_header_status::bad_version;
  return file_header_status::ok;
}

void append_writer_declaration(std::vector<char>& out, uint32_t writer_ref, std::string_view uid) {
  if (uid.empty() || uid.size() > max_writer_uid_size)
    throw std::invalid_argument("wal: writer uid must be 1 to 1024 bytes");
  char* h = grow(out, record_header_size + uid.size());
  char* body = h + record_header_size;
  std::memcpy(body, uid.data(), uid.size());
  finish_header(h, static_cast<uint8_t>(record_type::writer_declaration), writer_ref, 0, 0,
                static_cast<uint32_t>(uid.size()), body, true);
}

size_t begin_batch(std::vector<char>& out) {
  const size_t at = out.size();
  grow(out, record_header_size);
  finish_batch(out, at);
  return at;
}

void finish_batch(std::vector<char>& out, size_t at) {
  const uint64_t length = out.size() - at - record_header_size;
  finish_header(out.data() + at, static_cast<uint8_t>(record_type::batch), batch_marker_ref,
                length, 0, 0, nullptr, true);
}

bool is_batch_record(const char* bytes) {
  if (static_cast<uint8_t>(bytes[type_flags_at]) != static_cast<uint8_t>(record_type::batch) ||
      load_le<uint32_t>(bytes + writer_ref_at) != batch_marker_ref)
    return false;
  record_header h;
  return decode_header(bytes, h) == header_status::ok && h.type == record_type::batch;
}

size_t entry_record_size(const log_entry& entry) {
  return record_header_size + entry_body_fixed_size + entry.payload.size();
}

void append_entry(std::vector<char>& out, uint32_t writer_ref, const log_entry& entry,
                  bool truncate, bool compute_checksum) {
  const size_t body_size = entry_body_fixed_size + entry.payload.size();
  if (body_size > std::numeric_limits<uint32_t>::max())
    throw std::length_error("wal: entry payload larger than 4 GiB");
  char* h = grow(out, record_header_size + body_size);
  char* body = h + record_header_size;
  store_le<uint8_t>(body, static_cast<uint8_t>(entry.kind));
  store_le<int64_t>(body + 1, entry.system_time);
  if (!entry.payload.empty())
    std::memcpy(body + entry_body_fixed_size, entry.payload.data(), entry.payload.size());
  uint8_t type_flags = static_cast<uint8_t>(record_type::entry);
  if (truncate)
    type_flags |= flag_truncate;
  if (!compute_checksum)
    type_flags |= flag_no_body_checksum;
  finish_header(h, type_flags, writer_ref, entry.index.value, entry.term.value,
                static_cast<uint32_t>(body_size), body, compute_checksum);
}

header_status decode_header(const char* h, record_header& out) {
  uint32_t fields_crc = crc32c(h + type_flags_at, body_crc_at - type_flags_at);
  if (crc32c(h + body_crc_at, 4, fields_crc) != load_le<uint32_t>(h + header_crc_at))
    return header_status::bad_checksum;
  const auto type_flags = load_le<uint8_t>(h + type_flags_at);
  out.fields_crc = fields_crc;
  out.truncate = (type_flags & flag_truncate) != 0;
  out.body_checksummed = (type_flags & flag_no_body_checksum) == 0;
  out.writer_ref = load_le<uint32_t>(h + writer_ref_at);
  out.index = load_le<uint64_t>(h + index_at);
  out.term = load_le<uint64_t>(h + term_at);
  out.body_length = load_le<uint32_t>(h + length_at);
  out.body_crc = load_le<uint32_t>(h + body_crc_at);
  if ((type_flags & ~known_bits) != 0)
    return header_status::invalid;
  switch (type_flags & type_mask) {
    case static_cast<uint8_t>(record_type::writer_declaration):
      out.type = record_type::writer_declaration;
      if (out.truncate || !out.body_checksummed || out.index != 0 || out.term != 0 ||
          out.body_length == 0 || out.body_length > max_writer_uid_size)
        return header_status::invalid;
      return header_status::ok;
    case static_cast<uint8_t>(record_type::entry):
      out.type = record_type::entry;
      if (out.body_length < entry_body_fixed_size)
        return header_status::invalid;
      return header_status::ok;
    case static_cast<uint8_t>(record_type::batch):
      out.type = record_type::batch;
      if (out.truncate || !out.body_checksummed || out.writer_ref != batch_marker_ref ||
          out.term != 0 || out.body_length != 0)
        return header_status::invalid;
      return header_status::ok;
    default:
      return header_status::invalid;
  }
}

bool body_intact(const record_header& header, std::span<const char> body) {
  if (!header.body_checksummed)
    return true;
  return crc32c(body, header.fields_crc) == header.body_crc;
}

bool decode_entry(const record_header& header, std::span<const char> body, log_entry& out) {
  if (header.type != record_type::entry || body.size() < entry_body_fixed_size)
    return false;
  out.index = index_t{header.index};
  out.term = term_t{header.term};
  out.kind = static_cast<entry_kind>(load_le<uint8_t>(body.data()));
  out.system_time = load_le<int64_t>(body.data() + 1);
  auto payload = body.subspan(entry_body_fixed_size);
  out.payload = payload.empty() ? shared_bytes{}
                                : shared_bytes{std::vector<char>(payload.begin(), payload.end())};
  return true;
}

}  // namespace ra::storage::wal_format
