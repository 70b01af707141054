#include "snapshot/snapshot_transfer.hpp"

#include <algorithm>
#include <cerrno>
#include <stdexcept>

#include "io/crc32c.hpp"

namespace ra::storage {

namespace format = snapshot_format;

namespace {

/// Suffix of a transfer's temporary file: distinct from ".tmp", which a concurrent
/// write_snapshot clean-up removes.
constexpr std::string_view receiving_suffix = ".receiving";

}  // namespace

// -- sender --------------------------------------------------------------------------

io_result<snapshot_chunk_reader> snapshot_chunk_reader::open(file_system& fs, const std::string& path,
                                                             uint64_t chunk_size) {
  if (chunk_size == 0) throw std::invalid_argument("snapshot_chunk_reader: chunk_size must be > 0");
  auto f = fs.open(path, {open_mode::read});
  if (!f) return f.error();
  auto l = format::read_layout(**f);
  if (!l) return l.error();
  // verify_crc's pass, chunk by chunk, keeping each chunk's own CRC.
  std::vector<uint32_t> chunk_crcs;
  chunk_crcs.reserve(snapshot_chunk_count(l->state_size, chunk_size));
  std::vector<char> buffer(static_cast<size_t>(std::min<uint64_t>(chunk_size, std::max<uint64_t>(l->state_size, 1))));
  uint32_t crc = l->meta_crc;
  for (uint64_t done = 0; done < l->state_size;) {
    auto want = static_cast<size_t>(std::min<uint64_t>(chunk_size, l->state_size - done));
    auto got = (*f)->pread({buffer.data(), want}, l->state_offset + done);
    if (!got) return got.error();
    if (*got != want) return format::corrupt(path, "snapshot state truncated");
    crc = crc32c(buffer.data(), want, crc);
    chunk_crcs.push_back(crc32c(buffer.data(), want));
    done += want;
  }
  if (crc != l->stored_crc) return format::corrupt(path, "snapshot checksum mismatch");
  if (chunk_crcs.empty()) chunk_crcs.push_back(crc32c(buffer.data(), 0));  // the one empty chunk
  return snapshot_chunk_reader{std::move(*f), std::move(*l), chunk_size, std::move(chunk_crcs)};
}

uint32_t snapshot_chunk_reader::chunk_count() const {
  return snapshot_chunk_count(layout_.state_size, chunk_size_);
}

io_result<shared_bytes> snapshot_chunk_reader::read_chunk(uint32_t chunk_no) const {
  if (chunk_no == 0 || chunk_no > chunk_count())
    return io_error{ERANGE, "snapshot has no chunk " + std::to_string(chunk_no), file_->path()};
  uint64_t offset = uint64_t{chunk_no - 1} * chunk_size_;
  auto length = static_cast<size_t>(std::min(chunk_size_, layout_.state_size - offset));
  std::vector<char> bytes(length);
  auto got = file_->pread(bytes, layout_.state_offset + offset);
  if (!got) return got.error();
  if (*got != length) return format::corrupt(file_->path(), "snapshot state truncated");
  if (crc32c(bytes.data(), bytes.size()) != chunk_crcs_[chunk_no - 1])
    return format::corrupt(file_->path() + " at offset " + std::to_string(layout_.state_offset + offset),
                           "snapshot chunk " + std::to_string(chunk_no) +
                             " does not match the checksum verified when the file was opened");
  return shared_bytes{std::move(bytes)};
}

// -- receiver ------------------------------------------------------------------------

snapshot_receiver::snapshot_receiver(file_system& fs, std::string server_dir, snapshot_meta meta,
                                     std::unique_ptr<file> f, std::string tmp_path, uint32_t meta_crc)
  : fs_(&fs),
    server_dir_(std::move(server_dir)),
    meta_(std::move(meta)),
    file_(std::move(f)),
    tmp_path_(std::move(tmp_path)),
    crc_(meta_crc) {}

snapshot_receiver::snapshot_receiver(snapshot_receiver&& other) noexcept
  : fs_(other.fs_),
    server_dir_(std::move(other.server_dir_)),
    meta_(std::move(other.meta_)),
    file_(std::move(other.file_)),
    tmp_path_(std::move(other.tmp_path_)),
    crc_(other.crc_),
    expected_crc_(other.expected_crc_),
    state_bytes_(other.state_bytes_) {}

snapshot_receiver& snapshot_receiver::operator=(snapshot_receiver&& other) noexcept {
  if (this != &other) {
    discard();
    fs_ = other.fs_;
    server_dir_ = std::move(other.server_dir_);
    meta_ = std::move(other.meta_);
    file_ = std::move(other.file_);
    tmp_path_ = std::move(other.tmp_path_);
    crc_ = other.crc_;
    expected_crc_ = other.expected_crc_;
    state_bytes_ = other.state_bytes_;
  }
  return *this;
}

snapshot_receiver::~snapshot_receiver() { discard(); }

void snapshot_receiver::discard() {
  if (!file_) return;
  file_.reset();
  (void)fs_->remove(tmp_path_);  // best effort; the next begin() replaces it anyway
}

io_result<snapshot_receiver> snapshot_receiver::begin(file_system& fs, std::string server_dir, snapshot_meta meta,
                                                      std::optional<uint32_t> expected_crc) {
  auto dir = server_dir + "/" + snapshots_dir_name;
  if (auto r = fs.create_directories(dir); !r) return r.error();
  auto tmp_path = dir + "/" + snapshot_file_name(meta.index, meta.term) + std::string{receiving_suffix};
  // Only one transfer runs per server: any other ".receiving" file is an abandoned one.
  auto names = fs.list(dir);
  if (!names) return names.error();
  for (auto& name : *names) {
    if (name.ends_with(receiving_suffix)) {
      if (auto r = fs.remove(dir + "/" + name); !r) return r.error();
    }
  }
  auto f = fs.open(tmp_path, {open_mode::create});
  if (!f) return f.error();
  auto meta_bytes = format::encode_meta(meta);
  // The header's CRC is not known until the last chunk; complete() rewrites it.
  auto header = format::encode_header(0, static_cast<uint32_t>(meta_bytes.size()));
  if (auto r = (*f)->write(header); !r) return r.error();
  if (auto r = (*f)->write(meta_bytes); !r) return r.error();
  snapshot_receiver r{fs, std::move(server_dir), std::move(meta), std::move(*f), std::move(tmp_path),
                      format::crc_of_meta_part(meta_bytes)};
  r.expected_crc_ = expected_crc;
  return r;
}

io_status snapshot_receiver::accept_chunk(std::span<const char> state_chunk) {
  if (!file_) throw std::logic_error("snapshot_receiver: accept_chunk after complete");
  if (auto r = file_->write(state_chunk); !r) return r;
  crc_ = crc32c(state_chunk, crc_);
  state_bytes_ += state_chunk.size();
  return io_ok();
}

io_status snapshot_receiver::check_checksum() const {
  if (!expected_crc_ || *expected_crc_ == crc_) return io_ok();
  return format::corrupt(tmp_path_, "received snapshot " + std::to_string(meta_.index.value) + " has CRC " +
                                      std::to_string(crc_) + ", the sender's file has " +
                                      std::to_string(*expected_crc_));
}

io_result<std::string> snapshot_receiver::complete() {
  if (!file_) throw std::logic_error("snapshot_receiver: complete called twice");
  if (auto r = check_checksum(); !r) {
    discard();
    return r.error();
  }
  auto meta_length = static_cast<uint32_t>(format::encode_meta(meta_).size());
  auto header = format::encode_header(crc_, meta_length);
  auto installed = [&]() -> io_result<std::string> {
    if (auto r = file_->pwrite(header, 0); !r) return r.error();
    if (auto r = file_->sync(sync_method::datasync); !r) return r.error();
    // Read back what is now on disk: a short or lost write shows up here, not when
    // the machine restores from it after a restart.
    auto l = format::read_layout(*file_);
    if (!l) return l.error();
    if (l->meta != meta_ || l->state_size != state_bytes_)
      return format::corrupt(tmp_path_, "received snapshot does not read back as written");
    if (auto r = format::verify_crc(*file_, *l); !r) return r.error();
    auto dir = server_dir_ + "/" + snapshots_dir_name;
    auto final_path = dir + "/" + snapshot_file_name(meta_.index, meta_.term);
    if (auto r = fs_->rename(tmp_path_, final_path); !r) return r.error();
    file_.reset();  // renamed: nothing left to discard
    if (auto r = fs_->sync_directory(dir); !r) return r.error();
    return final_path;
  }();
  if (!installed) {
    discard();
    return installed;
  }
  if (auto r = remove_superseded_snapshots(*fs_, server_dir_, *installed, meta_.index); !r) return r.error();
  return installed;
}

}  // namespace ra::storage
