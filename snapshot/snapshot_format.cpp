#include "snapshot/snapshot_format.hpp"

#include <cerrno>
#include <cstring>

#include "io/crc32c.hpp"
#include "io/endian.hpp"

namespace ra::storage::snapshot_format {

namespace {

constexpr char magic[4] = {'R', 'A', 'S', 'N'};
constexpr uint8_t version = 1;
/// Bytes a member takes besides its strings: two lengths, kind, promote_at.
constexpr size_t member_fixed_size = 4 + 4 + 1 + 8;
/// Streaming CRC buffer for verify_crc.
constexpr size_t verify_buffer_size = 1 << 20;

void put_u32(std::vector<char>& out, uint32_t v) { append_le(out, v); }
void put_u64(std::vector<char>& out, uint64_t v) { append_le(out, v); }
void put_u32_at(char* p, uint32_t v) { store_le(p, v); }
uint64_t get_le(const char* p, int bytes) { return load_le_bytes(p, bytes); }

/// Bounds-checked little-endian reader over the meta bytes.
struct meta_reader {
  std::span<const char> in;
  bool ok = true;
  uint64_t take(int bytes) {
    if (!ok || in.size() < static_cast<size_t>(bytes)) {
      ok = false;
      return 0;
    }
    auto v = get_le(in.data(), bytes);
    in = in.subspan(static_cast<size_t>(bytes));
    return v;
  }
  std::string str() {
    auto n = take(4);
    if (!ok || n > in.size()) {
      ok = false;
      return {};
    }
    std::string s{in.data(), n};
    in = in.subspan(n);
    return s;
  }
};

void put_str(std::vector<char>& out, const std::string& s) {
  put_u32(out, static_cast<uint32_t>(s.size()));
  out.insert(out.end(), s.begin(), s.end());
}

}  // namespace

std::vector<char> encode_meta(const snapshot_meta& meta) {
  std::vector<char> out;
  put_u64(out, meta.index.value);
  put_u64(out, meta.term.value);
  put_u32(out, meta.machine_version);
  put_u32(out, static_cast<uint32_t>(meta.cluster.members().size()));
  for (auto& m : meta.cluster.members()) {
    put_str(out, m.id.name);
    put_str(out, m.id.node);
    out.push_back(static_cast<char>(m.kind));
    put_u64(out, m.promote_at.value);
  }
  return out;
}

std::optional<snapshot_meta> decode_meta(std::span<const char> bytes) {
  meta_reader r{bytes};
  snapshot_meta meta;
  meta.index = index_t{r.take(8)};
  meta.term = term_t{r.take(8)};
  meta.machine_version = static_cast<uint32_t>(r.take(4));
  auto count = r.take(4);
  if (!r.ok || count > r.in.size() / member_fixed_size) return std::nullopt;
  std::vector<member> members;
  members.reserve(count);
  for (uint64_t i = 0; i < count && r.ok; ++i) {
    member m;
    m.id.name = r.str();
    m.id.node = r.str();
    auto kind = r.take(1);
    if (kind > static_cast<uint64_t>(membership::non_voter)) return std::nullopt;
    m.kind = static_cast<membership>(kind);
    m.promote_at = index_t{r.take(8)};
    members.push_back(std::move(m));
  }
  if (!r.ok || !r.in.empty()) return std::nullopt;
  meta.cluster = cluster_config{std::move(members)};
  return meta;
}

std::array<char, header_size> encode_header(uint32_t crc, uint32_t meta_length) {
  std::array<char, header_size> h{};
  std::memcpy(h.data(), magic, 4);
  h[4] = static_cast<char>(version);
  put_u32_at(h.data() + 5, crc);
  put_u32_at(h.data() + 9, meta_length);
  return h;
}

uint32_t crc_of_meta_part(std::span<const char> meta_bytes) {
  char length[4];
  put_u32_at(length, static_cast<uint32_t>(meta_bytes.size()));
  return crc32c(meta_bytes, crc32c(length, 4));
}

io_error corrupt(const std::string& path, const std::string& what) { return io_error{EBADMSG, what, path}; }

io_result<layout> read_layout(const file& f) {
  auto& path = f.path();
  auto size = f.size();
  if (!size) return size.error();
  char header[header_size];
  auto got = f.pread({header, header_size}, 0);
  if (!got) return got.error();
  if (*got < header_size) return corrupt(path, "snapshot header truncated (" + std::to_string(*got) + " bytes)");
  if (std::memcmp(header, magic, 4) != 0) return corrupt(path, "snapshot header: bad magic");
  if (static_cast<uint8_t>(header[4]) != version)
    return corrupt(path, "snapshot header: unsupported version " + std::to_string(static_cast<uint8_t>(header[4])));
  auto meta_length = static_cast<uint32_t>(get_le(header + 9, 4));
  if (meta_length > max_meta_length || meta_length > *size - header_size)
    return corrupt(path, "snapshot header: meta length " + std::to_string(meta_length) + " exceeds the file");
  std::vector<char> meta_bytes(meta_length);
  got = f.pread(meta_bytes, header_size);
  if (!got) return got.error();
  if (*got < meta_length) return corrupt(path, "snapshot meta truncated");
  auto meta = decode_meta(meta_bytes);
  if (!meta) return corrupt(path, "snapshot meta does not decode");
  layout l;
  l.meta = std::move(*meta);
  l.stored_crc = static_cast<uint32_t>(get_le(header + 5, 4));
  l.meta_crc = crc_of_meta_part(meta_bytes);
  l.state_offset = header_size + meta_length;
  l.state_size = *size - l.state_offset;
  return l;
}

io_status verify_crc(const file& f, const layout& l) {
  std::vector<char> buffer(static_cast<size_t>(std::min<uint64_t>(verify_buffer_size, l.state_size)));
  uint32_t crc = l.meta_crc;
  for (uint64_t done = 0; done < l.state_size;) {
    auto want = static_cast<size_t>(std::min<uint64_t>(buffer.size(), l.state_size - done));
    auto got = f.pread({buffer.data(), want}, l.state_offset + done);
    if (!got) return got.error();
    if (*got == 0) return corrupt(f.path(), "snapshot state truncated");  // shrank under us
    crc = crc32c(buffer.data(), *got, crc);
    done += *got;
  }
  if (crc != l.stored_crc) return corrupt(f.path(), "snapshot checksum mismatch");
  return io_ok();
}

io_status write_contents(file& f, const snapshot_meta& meta, std::span<const char> state) {
  auto meta_bytes = encode_meta(meta);
  auto crc = crc32c(state, crc_of_meta_part(meta_bytes));
  auto header = encode_header(crc, static_cast<uint32_t>(meta_bytes.size()));
  // One writev: the state is not copied into a contiguous buffer with the header.
  iovec parts[3] = {{header.data(), header.size()},
                    {meta_bytes.data(), meta_bytes.size()},
                    {const_cast<char*>(state.data()), state.size()}};  // iovec is not const-correct
  return f.writev(parts);
}

}  // namespace ra::storage::snapshot_format
