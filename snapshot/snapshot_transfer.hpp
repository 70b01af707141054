#pragma once
// Chunked snapshot transfer to a follower (Ra's read_chunk / begin_accept,
// accept_chunk, complete_accept), streaming from and to disk so neither side holds a
// whole snapshot in memory.
//
// Chunks carry the machine state only, cut exactly as the core's install_snapshot_rpc
// does (chunk n = state bytes [(n-1)*size, n*size), at least one chunk even for an
// empty state); the meta travels in every RPC. The receiver rebuilds the same file
// format and checks it before it takes the snapshot's name.

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "ra/bytes.hpp"
#include "snapshot/snapshot_file.hpp"
#include "snapshot/snapshot_format.hpp"

namespace ra::storage {

/// Sender side: reads the state of a snapshot file in chunks.
class snapshot_chunk_reader {
 public:
  /// Opens and fully validates (CRC) the snapshot at `path`, so a corrupt snapshot is
  /// never sent, remembering each chunk's CRC on the way: read_chunk checks the bytes it
  /// reads again (bit rot after the open is reported, never sent). The open file stays
  /// readable if a newer snapshot replaces it meanwhile.
  static io_result<snapshot_chunk_reader> open(file_system& fs, const std::string& path,
                                               uint64_t chunk_size = snapshot_config{}.snapshot_chunk_size);

  const snapshot_meta& meta() const { return layout_.meta; }
  uint64_t state_size() const { return layout_.state_size; }
  uint32_t chunk_count() const;
  /// The file's CRC (header): what the receiver's assembled file must have.
  uint32_t checksum() const { return layout_.stored_crc; }
  /// Chunk `chunk_no` (1-based); the last one may be shorter. ERANGE past the end;
  /// EBADMSG naming the file and offset if its bytes changed since open() verified them.
  io_result<shared_bytes> read_chunk(uint32_t chunk_no) const;

 private:
  snapshot_chunk_reader(std::unique_ptr<file> f, snapshot_format::layout l, uint64_t chunk_size,
                        std::vector<uint32_t> chunk_crcs)
    : file_(std::move(f)), layout_(std::move(l)), chunk_size_(chunk_size), chunk_crcs_(std::move(chunk_crcs)) {}

  std::unique_ptr<file> file_;
  snapshot_format::layout layout_;
  uint64_t chunk_size_;
  std::vector<uint32_t> chunk_crcs_;  ///< CRC of each chunk's bytes, as verified at open
};

/// Receiver side: assembles a snapshot from chunks in a temporary file in
/// <server_dir>/snapshots/ and installs it atomically on complete(). Destroying a
/// receiver that did not complete removes its temporary file.
class snapshot_receiver {
 public:
  /// Starts receiving the snapshot described by `meta` (replacing any interrupted
  /// transfer's temporary file). `expected_crc`, the sender's file CRC, is checked
  /// against what was received before anything is installed.
  static io_result<snapshot_receiver> begin(file_system& fs, std::string server_dir, snapshot_meta meta,
                                            std::optional<uint32_t> expected_crc = std::nullopt);

  snapshot_receiver(snapshot_receiver&& other) noexcept;
  snapshot_receiver& operator=(snapshot_receiver&& other) noexcept;
  ~snapshot_receiver();

  const snapshot_meta& meta() const { return meta_; }
  uint64_t bytes_received() const { return state_bytes_; }

  /// Appends the next chunk of state.
  io_status accept_chunk(std::span<const char> state_chunk);
  /// After the last chunk: whether the received bytes have the sender's CRC (EBADMSG
  /// naming the temporary file if not; then nothing may be installed). Always true
  /// without an expected CRC.
  io_status check_checksum() const;
  /// After the last chunk: checks the checksum as above, writes the header, syncs, re-reads and validates the file,
  /// renames it to its snapshot name, syncs the directory and removes the snapshots it
  /// supersedes. Returns the installed snapshot's path. The receiver is then spent.
  io_result<std::string> complete();

 private:
  snapshot_receiver(file_system& fs, std::string server_dir, snapshot_meta meta, std::unique_ptr<file> f,
                    std::string tmp_path, uint32_t meta_crc);
  void discard();

  file_system* fs_;
  std::string server_dir_;
  snapshot_meta meta_;
  std::unique_ptr<file> file_;  ///< null once completed, discarded or moved from
  std::string tmp_path_;
  uint32_t crc_;  ///< running CRC of everything the header's CRC covers
  std::optional<uint32_t> expected_crc_;
  uint64_t state_bytes_ = 0;
};

}  // namespace ra::storage
