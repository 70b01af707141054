// make-sample-data [--leader-ahead] DIR: writes a small, deterministic ra data directory
// with every kind of storage file, through the real writers, laid out as a node's
// (actors/system.cpp), for inspect_tests.sh:
//
//   DIR/wal/<n>.wal                         3 writers (s1, s2, s3), several WAL files
//   DIR/s1/segments/<n>.segment             entries 1..200 of s1, 64 per segment
//   DIR/s1/snapshots/<term>_<index>.snapshot  a snapshot at index 150, term 2
//   DIR/<s1|s2|s3>/config                   one cluster "sample" of s1, s2, s3, all on node1
//   DIR/meta/meta.log                       term, vote and last_applied of s1..s3
//
// The writers write the same indexes batch after batch, as the members of a one-process
// cluster do. With --leader-ahead, s1 then appends two more batches alone (a leader whose
// followers have not appended them yet): entries no majority holds, so not committed.
//
// Exit status 0 on success; any failure prints the error and exits 1.

#include <iostream>
#include <stdexcept>
#include <string>
#include <vector>

#include "segments/segment_set.hpp"
#include "snapshot/snapshot_file.hpp"
#include "wal/config_store.hpp"
#include "wal/meta_store.hpp"
#include "wal/wal_writer.hpp"

namespace {

using namespace ra;
using namespace ra::storage;

constexpr uint64_t entries_per_writer = 300;
constexpr uint64_t entries_per_batch = 10;
constexpr size_t payload_size = 200;
const std::vector<std::string> writers = {"s1", "s2", "s3"};
const std::string node_name = "node1";
constexpr uint64_t leader_ahead_batches = 2;

/// The one cluster of the sample: every writer, a voter, on this node.
std::vector<member> sample_members() {
  std::vector<member> members;
  for (auto& w : writers) members.push_back(member{server_id{w, node_name}, membership::voter, index_t{0}});
  return members;
}

/// Entry `index` of `writer`: fixed contents, so every run writes identical bytes.
log_entry sample_entry(const std::string& writer, uint64_t index, uint64_t term) {
  std::string payload = writer + ":" + std::to_string(index) + ":";
  payload.resize(payload_size, static_cast<char>('a' + index % 26));
  log_entry e;
  e.index = index_t{index};
  e.term = term_t{term};
  e.kind = entry_kind::command;
  e.system_time = static_cast<int64_t>(1'700'000'000'000 + index);
  e.payload = shared_bytes::copy_of(payload);
  return e;
}

void check(const io_status& st, const char* what) {
  if (!st) throw std::runtime_error(std::string(what) + ": " + st.error().message());
}

/// Fills DIR/wal through wal_writer, rolling over at the minimum file size, and makes
/// sure the newest file holds entries (the tests corrupt its middle).
void write_wal(const std::string& dir, bool leader_ahead) {
  wal_config config;
  config.wal_data_dir = dir + "/wal";
  config.wal_max_size_bytes = wal_min_size_bytes;
  uint64_t entries_in_current_file = 0;
  wal_writer wal{config, [&](rollover_info) { entries_in_current_file = 0; }};
  if (auto st = wal.start(); !st) throw std::runtime_error("wal start: " + st.error().message());
  uint64_t next = 1;
  while (next <= entries_per_writer || entries_in_current_file < 3 * entries_per_batch) {
    for (auto& w : writers) {
      std::vector<log_entry> batch;
      for (uint64_t i = next; i < next + entries_per_batch; ++i) batch.push_back(sample_entry(w, i, 1));
      wal.queue(w, batch);
    }
    entries_in_current_file += writers.size() * entries_per_batch;
    if (auto result = wal.flush(); !result.ok()) throw std::runtime_error("wal flush: " + result.error->message());
    next += entries_per_batch;
  }
  if (!leader_ahead) return;
  // Separate batches, so damage in the first has a synced batch after it (not a torn tail).
  const uint64_t entries_before = entries_in_current_file;
  for (uint64_t b = 0; b < leader_ahead_batches; ++b, next += entries_per_batch) {
    std::vector<log_entry> batch;
    for (uint64_t i = next; i < next + entries_per_batch; ++i) batch.push_back(sample_entry(writers[0], i, 1));
    wal.queue(writers[0], batch);
    entries_in_current_file += entries_per_batch;
    if (auto result = wal.flush(); !result.ok()) throw std::runtime_error("wal flush: " + result.error->message());
  }
  // The tests expect both batches at the end of the newest file.
  if (entries_in_current_file != entries_before + leader_ahead_batches * entries_per_batch)
    throw std::runtime_error("the leader's batches were split by a WAL roll-over");
}

void write_server_files(const std::string& dir) {
  const std::string server_dir = dir + "/s1";
  std::vector<log_entry> entries;
  for (uint64_t i = 1; i <= 200; ++i) entries.push_back(sample_entry("s1", i, i <= 100 ? 1 : 2));
  segment_config seg;
  seg.segment_max_entries = 64;
  // write_segments writes into an existing directory (it does not recreate a deleted
  // server's directory); a server's start makes it, here we do.
  if (auto made = file_system::posix().create_directories(server_dir + "/segments"); !made)
    throw std::runtime_error("create_directories: " + made.error().message());
  auto written = write_segments(file_system::posix(), server_dir + "/segments", entries, seg);
  if (!written) throw std::runtime_error("write_segments: " + written.error().message());

  stored_snapshot snap;
  snap.meta.index = index_t{150};
  snap.meta.term = term_t{2};
  snap.meta.machine_version = 1;
  snap.meta.cluster = cluster_config{sample_members()};
  snap.data = shared_bytes::copy_of(std::string(1000, 'S'));
  check(write_snapshot(file_system::posix(), server_dir, snap), "write_snapshot");
}

/// DIR/<uid>/config of every writer: what tells ra-inspect which servers form a cluster.
void write_configs(const std::string& dir) {
  for (auto& w : writers) {
    persisted_server_config pc;
    pc.uid = w;
    pc.server.id = server_id{w, node_name};
    pc.server.cluster_name = "sample";
    pc.server.initial_members = sample_members();
    pc.machine = "counter";
    check(save_server_config(file_system::posix(), dir + "/" + w, pc), "save_server_config");
  }
}

void write_meta(const std::string& dir) {
  auto store = meta_store::open(file_system::posix(), dir + "/meta");
  if (!store) throw std::runtime_error("meta_store::open: " + store.error().message());
  uint64_t term = 1;
  for (auto& w : writers) {
    check((*store)->put_term_vote(w, term_t{term}, server_id{writers[0], node_name}), "put_term_vote");
    check((*store)->put_last_applied(w, index_t{100 + term}), "put_last_applied");
    ++term;
  }
}

}  // namespace

int main(int argc, char** argv) {
  const bool leader_ahead = argc == 3 && std::string{argv[1]} == "--leader-ahead";
  if (argc != 2 && !leader_ahead) {
    std::cerr << "usage: make-sample-data [--leader-ahead] DIR\n";
    return 2;
  }
  const std::string dir = argv[argc - 1];
  try {
    write_wal(dir, leader_ahead);
    write_server_files(dir);
    write_configs(dir);
    write_meta(dir);
  } catch (const std::exception& e) {
    std::cerr << "make-sample-data: " << e.what() << '\n';
    return 1;
  }
  std::cout << "sample data written to " << dir << '\n';
  return 0;
}
