// The WAL reader: chunked buffering plus the torn-tail rule (see wal_reader.hpp).

#include "wal/wal_reader.hpp"

#include <algorithm>
#include <cstring>

#include "wal/wal_format.hpp"

namespace ra::storage {

namespace fmt = wal_format;

std::string wal_error::message() const {
  return path + ": " + reason + " at offset " + std::to_string(offset);
}

wal_reader::wal_reader(file_system& fs, std::string path, size_t chunk_size)
  : fs_(&fs), path_(std::move(path)), chunk_size_(std::max<size_t>(chunk_size, 1)) {}

wal_reader::wal_reader(std::unique_ptr<file> f, std::string path, size_t chunk_size)
  : file_(std::move(f)), path_(std::move(path)), chunk_size_(std::max<size_t>(chunk_size, 1)) {}

wal_reader::step wal_reader::fail(uint64_t offset, std::string reason) {
  error_ = wal_error{path_, offset, std::move(reason)};
  finished_ = step::error;
  return step::error;
}

wal_reader::step wal_reader::torn(uint64_t offset) {
  torn_offset_ = offset;
  finished_ = step::torn_tail;
  return step::torn_tail;
}

bool wal_reader::ensure_buffered(uint64_t offset, size_t n) {
  const uint64_t buffer_end = buffer_offset_ + buffer_.size();
  if (offset >= buffer_offset_ && offset + n <= buffer_end)
    return true;
  // Keep the already buffered bytes from `offset` on, then read the rest: at least n
  // bytes, normally a whole chunk, never past the end of the file.
  size_t kept = 0;
  if (offset >= buffer_offset_ && offset < buffer_end) {
    kept = static_cast<size_t>(buffer_end - offset);
    std::memmove(buffer_.data(), at(offset), kept);
  }
  const size_t wanted = std::max(
    kept, static_cast<size_t>(std::min<uint64_t>(std::max(n, chunk_size_), file_size_ - offset)));
  buffer_.resize(wanted);
  buffer_offset_ = offset;
  auto got = file_->pread(std::span<char>(buffer_.data() + kept, wanted - kept), offset + kept);
  if (!got) {
    buffer_.clear();
    io_failed_ = true;
    fail(offset, got.error().message());
    return false;
  }
  buffer_.resize(kept + *got);
  if (buffer_.size() < n) {
    io_failed_ = true;
    fail(offset, "file shrank while being read");
    return false;
  }
  return true;
}

bool wal_reader::only_zeros_from(uint64_t offset) {
  while (offset < file_size_) {
    size_t n = static_cast<size_t>(std::min<uint64_t>(chunk_size_, file_size_ - offset));
    if (!ensure_buffered(offset, n))
      return false;
    const char* p = at(offset);
    if (std::any_of(p, p + n, [](char c) { return c != 0; }))
      return false;
    offset += n;
  }
  return true;
}

bool wal_reader::batch_record_from(uint64_t offset) {
  // Windows overlap by a header's size minus one byte, so no candidate offset is missed.
  const size_t window = std::max(chunk_size_, 4 * fmt::record_header_size);
  while (offset + fmt::record_header_size <= file_size_) {
    const size_t n = static_cast<size_t>(std::min<uint64_t>(window, file_size_ - offset));
    if (!ensure_buffered(offset, n))
      return true;
    const char* p = at(offset);
    for (size_t i = 0; i + fmt::record_header_size <= n; ++i)
      if (fmt::is_batch_record(p + i))
        return true;
    offset += n - fmt::record_header_size + 1;
  }
  return false;
}

bool wal_reader::damage_is_torn_tail(uint64_t bad, uint64_t after) {
  if (only_zeros_from(after))
    return true;
  if (io_failed_ || version_ < 2)
    return false;
  if (bad == batch_end_) {
    // The batch record of the next batch is the damaged one.
  } else if (in_batch_ && bad > batch_start_ && bad < batch_end_) {
    // Inside a batch whose record is intact: anything non-zero after its end was written
    // after it was synced.
    if (batch_end_ < file_size_ && !only_zeros_from(batch_end_))
      return false;
  } else {
    return false;
  }
  return !batch_record_from(bad + 1) && !io_failed_;
}

bool wal_reader::open_and_check_header() {
  opened_ = true;
  if (!file_) {
    auto f = fs_->open(path_, {open_mode::read});
    if (!f) {
      fail(0, f.error().message());
      return false;
    }
    file_ = std::move(*f);
  }
  auto size = file_->size();
  if (!size) {
    fail(0, size.error().message());
    return false;
  }
  file_size_ = *size;
  if (file_size_ < fmt::file_header_size) {
    fail(0, "not a WAL file (shorter than its header)");
    return false;
  }
  if (!ensure_buffered(0, fmt::file_header_size))
    return false;
  switch (fmt::check_file_header({at(0), fmt::file_header_size})) {
    case fmt::file_header_status::ok:
      break;
    case fmt::file_header_status::too_short:
      fail(0, "not a WAL file (shorter than its header)");
      return false;
    case fmt::file_header_status::bad_magic:
      fail(0, "not a WAL file (bad magic)");
      return false;
    case fmt::file_header_status::bad_version:
      fail(0, "unsupported WAL version " + std::to_string(static_cast<uint8_t>(*(at(0) + 4))));
      return false;
  }
  version_ = fmt::file_version({at(0), fmt::file_header_size});
  position_ = fmt::file_header_size;
  batch_start_ = batch_end_ = fmt::file_header_size;
  return true;
}

wal_reader::step wal_reader::next() {
  if (finished_)
    return *finished_;
  if (!opened_ && !open_and_check_header())
    return step::error;
  for (;;) {
    const uint64_t start = position_;
    if (start == file_size_) {
      finished_ = step::end_of_file;
      return step::end_of_file;
    }
    const uint64_t left = file_size_ - start;
    if (left < fmt::record_header_size)
      return torn(start);
    if (!ensure_buffered(start, fmt::record_header_size))
      return step::error;
    fmt::record_header h;
    switch (fmt::decode_header(at(start), h)) {
      case fmt::header_status::ok:
        break;
      case fmt::header_status::bad_checksum:
        if (damage_is_torn_tail(start, start + fmt::record_header_size))
          return torn(start);
        return io_failed_ ? step::error : fail(start, "record header checksum mismatch");
      case fmt::header_status::invalid:
        return fail(start, "invalid record header");
    }
    const uint64_t total = fmt::record_header_size + uint64_t{h.body_length};
    if (total > left)
      return torn(start);  // an intact header whose body the crash cut off
    if (!ensure_buffered(start, static_cast<size_t>(total)))
      return step::error;
    std::span<const char> body{at(start + fmt::record_header_size), h.body_length};
    if (!fmt::body_intact(h, body)) {
      if (damage_is_torn_tail(start, start + total))
        return torn(start);
      return io_failed_ ? step::error : fail(start, "record checksum mismatch");
    }
    position_ = start + total;
    if (h.type == fmt::record_type::batch) {
      if (in_batch_ && start < batch_end_)
        return fail(start, "batch record inside a batch");
      in_batch_ = true;
      batch_start_ = start;
      batch_end_ = start + total + h.index;
      continue;
    }
    if (in_batch_ && start >= batch_end_)
      return fail(start, "record outside any batch");
    if (h.type == fmt::record_type::writer_declaration) {
      auto [it, inserted] = writers_.try_emplace(h.writer_ref, body.data(), body.size());
      if (!inserted)
        return fail(start, "writer ref " + std::to_string(h.writer_ref) + " declared twice");
      continue;
    }
    auto writer = writers_.find(h.writer_ref);
    if (writer == writers_.end())
      return fail(start, "entry of undeclared writer ref " + std::to_string(h.writer_ref));
    if (!fmt::decode_entry(h, body, record_.entry))
      return fail(start, "entry body too short");
    record_.writer_uid = writer->second;
    record_.truncate = h.truncate;
    record_.offset = start;
    return step::record;
  }
}

}  // namespace ra::storage
