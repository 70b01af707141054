#include "segments/segment_flush.hpp"

namespace ra::storage {

segment_flush_result flush_wal_file(file_system& fs, const rollover_info& info,
                                    const std::function<std::string(const std::string&)>& server_dir,
                                    const segment_config& config,
                                    const std::set<std::string>& already_moved) {
  segment_flush_result result;
  auto sync_wal_directory = [&] {
    auto slash = info.path.find_last_of('/');
    if (slash != std::string::npos)
      if (auto st = fs.sync_directory(info.path.substr(0, slash)); !st) result.error = st.error().message();
    result.wal_deleted = true;
  };
  if (!fs.exists(info.path)) {
    sync_wal_directory();
    return result;
  }
  // Collect each writer's entries in file order; an overwrite (an index at or below one
  // already seen) replaces the tail, as it did in the server's memory.
  std::map<std::string, std::vector<log_entry>> per_writer;
  wal_reader reader{fs, info.path};
  for (bool more = true; more;) {
    switch (reader.next()) {
      case wal_reader::step::record: {
        auto& rec = reader.record();
        auto& entries = per_writer[std::string{rec.writer_uid}];
        while (!entries.empty() && entries.back().index >= rec.entry.index) entries.pop_back();
        entries.push_back(rec.entry);
        break;
      }
      case wal_reader::step::end_of_file:
        more = false;
        break;
      case wal_reader::step::torn_tail:
        // Recovery truncated the last file's torn tail and the writer never leaves one in
        // a file it closed: this is damage to acknowledged entries. Keep the file.
        result.error = wal_error{info.path, reader.torn_tail_offset(),
                                 "damaged record in a closed WAL file (acknowledged entries)"}
                         .message();
        return result;
      case wal_reader::step::error:
        result.error = reader.error().message();
        return result;
    }
  }
  for (auto& [uid, entries] : per_writer) {
    if (already_moved.contains(uid))
      continue;
    auto dir = server_dir(uid);
    if (dir.empty() || !fs.exists(dir)) {
      result.skipped_servers.push_back(uid);
      continue;
    }
    auto refs = write_segments(fs, dir, entries, config);
    if (!refs && !fs.exists(dir)) {
      // Deleted while we wrote (the directory became a tombstone): nothing to keep.
      result.skipped_servers.push_back(uid);
      continue;
    }
    if (!refs) {
      result.error = refs.error().message();
      return result;  // keep the WAL file: its entries are not safely elsewhere yet
    }
    result.segments[uid] = std::move(*refs);
  }
  // Every entry is now synced in a segment file: the WAL file can go.
  if (auto st = fs.remove(info.path); !st) {
    result.error = st.error().message();
    return result;
  }
  sync_wal_directory();
  return result;
}

}  // namespace ra::storage
