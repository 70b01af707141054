// Streaming snapshot transfer through the durable log's log_store interface: the leader's
// chunks are read from its snapshot file, the follower's are written to a temporary file
// and installed on completion; neither log holds a snapshot's bytes.
#include <catch2/catch.hpp>

#include "test/storage/storage_test_util.hpp"

#include <filesystem>
#include <fstream>

#include "test/storage/durable_node.hpp"

using namespace ra;
using namespace ra::storage;
using ra::storage::test::durable_node;
using ra::storage::test::temp_dir;

namespace {

constexpr uint64_t chunk_size = 1000;

/// A state of `size` bytes whose every chunk differs, so a chunk cut in the wrong place
/// or sent twice shows.
std::string patterned_state(size_t size) {
  std::string s(size, '\0');
  for (size_t i = 0; i < size; ++i) s[i] = static_cast<char>('a' + (i * 7 + i / chunk_size) % 26);
  return s;
}

std::vector<log_entry> entries(uint64_t first, uint64_t last, uint64_t term) {
  return ra::storage::test::make_entries(first, last, term);
}

/// Names of the files in a server's snapshots/ directory.
std::vector<std::string> snapshot_dir_files(durable_node& node, const std::string& uid) {
  std::vector<std::string> out;
  std::error_code ec;
  for (auto& e : std::filesystem::directory_iterator(node.server_dir(uid) + "/snapshots", ec))
    out.push_back(e.path().filename().string());
  return out;
}

bool has_receiving_file(durable_node& node, const std::string& uid) {
  for (auto& name : snapshot_dir_files(node, uid))
    if (name.ends_with(".receiving")) return true;
  return false;
}

/// A node with a leader log "l" holding a snapshot at 10 of `state`, and a follower "f".
struct two_servers {
  temp_dir d;
  durable_node node{file_system::posix(), d.path()};
  std::string state = patterned_state(10 * chunk_size + 500);  // 11 chunks, the last short
  snapshot_meta meta{index_t{10}, term_t{2}, cluster_config{}, 0};

  two_servers() {
    REQUIRE(node.open({"l", "f"}));
    leader().append(entries(1, 12, 2));
    node.flush();
    leader().write_snapshot(stored_snapshot{meta, shared_bytes::copy_of(state)});
    REQUIRE(leader().snapshot());
  }
  durable_log& leader() { return node.log("l"); }
  durable_log& follower() { return node.log("f"); }
};

}  // namespace

TEST_CASE("stream: a snapshot of many chunks goes from the leader's file to the follower's, chunk by chunk", "[storage][snapshot][stream]") {
  two_servers s;
  auto ref = s.leader().snapshot();
  CHECK(ref->meta == s.meta);
  CHECK(ref->state_size == s.state.size());  // all the log keeps: meta and size
  auto count = snapshot_chunk_count(ref->state_size, chunk_size);
  REQUIRE(count == 11);

  REQUIRE(s.follower().begin_snapshot_receipt(ref->meta));
  for (uint32_t no = 1; no <= count; ++no) {
    auto chunk = s.leader().read_snapshot_chunk(ref->meta, no, chunk_size);
    REQUIRE(chunk);
    auto offset = (no - 1) * chunk_size;
    CHECK(chunk->view() == std::string_view{s.state}.substr(offset, chunk_size));
    REQUIRE(s.follower().accept_snapshot_chunk(chunk->span()));
    // Streamed to a temporary file; nothing is installed before the last chunk.
    CHECK(has_receiving_file(s.node, "f"));
    CHECK_FALSE(s.follower().snapshot());
  }
  auto past_end = s.leader().read_snapshot_chunk(ref->meta, count + 1, chunk_size);
  REQUIRE_FALSE(past_end);
  CHECK(past_end.error().what == log_error::kind::unreadable);

  REQUIRE(s.follower().complete_snapshot_receipt());
  auto installed = s.follower().snapshot();
  REQUIRE(installed);
  CHECK(*installed == *ref);
  CHECK_FALSE(has_receiving_file(s.node, "f"));
  CHECK(s.follower().last_index() == index_t{10});
  auto restored = s.follower().load_snapshot_state();
  REQUIRE(restored);
  CHECK(restored->view() == s.state);

  // The installed file is what a restart restores from.
  durable_node again{file_system::posix(), s.d.path()};
  REQUIRE(again.open({"l", "f"}));
  REQUIRE(again.log("f").snapshot());
  CHECK(again.log("f").load_snapshot_state()->view() == s.state);
}

TEST_CASE("stream: a transfer in progress finishes from its open file after a newer snapshot replaced it", "[storage][snapshot][stream]") {
  two_servers s;
  auto first = s.leader().read_snapshot_chunk(s.meta, 1, chunk_size);
  REQUIRE(first);
  auto old_path = s.leader().snapshot_path();
  snapshot_meta newer{index_t{12}, term_t{2}, cluster_config{}, 0};
  s.leader().write_snapshot(stored_snapshot{newer, shared_bytes::copy_of("newer state")});
  REQUIRE(s.leader().snapshot()->meta == newer);
  CHECK_FALSE(std::filesystem::exists(old_path));  // replaced on disk ...
  auto second = s.leader().read_snapshot_chunk(s.meta, 2, chunk_size);
  REQUIRE(second);  // ... and still read through the open file
  CHECK(second->view() == std::string_view{s.state}.substr(chunk_size, chunk_size));

  // Once the newer snapshot is being sent, the old one is gone: "compacted" tells the
  // leader to send the newer one.
  REQUIRE(s.leader().read_snapshot_chunk(newer, 1, chunk_size));
  auto gone = s.leader().read_snapshot_chunk(s.meta, 3, chunk_size);
  REQUIRE_FALSE(gone);
  CHECK(gone.error().what == log_error::kind::compacted);
}

TEST_CASE("stream: a receipt aborted midway leaves no temporary file and the old snapshot intact", "[storage][snapshot][stream]") {
  two_servers s;
  // The follower has a snapshot of its own at 3.
  s.follower().append(entries(1, 5, 1));
  s.node.flush();
  snapshot_meta own{index_t{3}, term_t{1}, cluster_config{}, 0};
  s.follower().write_snapshot(stored_snapshot{own, shared_bytes::copy_of("own state")});
  REQUIRE(s.follower().snapshot());

  REQUIRE(s.follower().begin_snapshot_receipt(s.meta));
  for (uint32_t no = 1; no <= 3; ++no)
    REQUIRE(s.follower().accept_snapshot_chunk(s.leader().read_snapshot_chunk(s.meta, no, chunk_size)->span()));
  REQUIRE(has_receiving_file(s.node, "f"));
  s.follower().abort_snapshot_receipt();

  CHECK_FALSE(has_receiving_file(s.node, "f"));
  CHECK(snapshot_dir_files(s.node, "f").size() == 1);
  REQUIRE(s.follower().snapshot());
  CHECK(s.follower().snapshot()->meta == own);
  CHECK(s.follower().load_snapshot_state()->view() == "own state");
  CHECK(s.follower().last_index() == index_t{5});
}

TEST_CASE("stream: a corrupt snapshot file is unreadable, never sent", "[storage][snapshot][stream]") {
  two_servers s;
  // Corrupt a byte of the state (the file's last byte) before any chunk was read.
  auto path = s.leader().snapshot_path();
  ra::storage::test::flip_byte(path, std::filesystem::file_size(path) - 1);
  auto chunk = s.leader().read_snapshot_chunk(s.meta, 1, chunk_size);
  REQUIRE_FALSE(chunk);
  CHECK(chunk.error().what == log_error::kind::unreadable);
  CHECK(chunk.error().message.find(path) != std::string::npos);
  auto whole = s.leader().load_snapshot_state();
  REQUIRE_FALSE(whole);
  CHECK(whole.error().what == log_error::kind::unreadable);
}

namespace {
std::string leader_snapshot_path(durable_node& node) {
  for (auto& e : std::filesystem::directory_iterator(node.server_dir("l") + "/snapshots"))
    if (e.path().extension() == ".snapshot") return e.path().string();
  FAIL("the leader has no snapshot file");
  return {};
}
}  // namespace

TEST_CASE("stream: bit rot in the leader's snapshot after its CRC was verified is reported with file and offset, never sent", "[storage][snapshot][stream][faults]") {
  two_servers s;
  auto ref = s.leader().snapshot();
  REQUIRE(s.leader().read_snapshot_chunk(ref->meta, 1, chunk_size));  // opens and verifies the file
  auto path = leader_snapshot_path(s.node);
  auto state_offset = std::filesystem::file_size(path) - s.state.size();
  auto rotten = state_offset + 4 * chunk_size + 17;  // in chunk 5
  {
    std::fstream f(path, std::ios::in | std::ios::out | std::ios::binary);
    f.seekg(static_cast<std::streamoff>(rotten));
    char c = 0;
    f.get(c);
    f.seekp(static_cast<std::streamoff>(rotten));
    f.put(static_cast<char>(c ^ 0x10));
  }
  for (uint32_t no = 2; no <= 4; ++no) CHECK(s.leader().read_snapshot_chunk(ref->meta, no, chunk_size));
  auto bad = s.leader().read_snapshot_chunk(ref->meta, 5, chunk_size);
  REQUIRE_FALSE(bad);
  CHECK(bad.error().what == log_error::kind::unreadable);
  CHECK(bad.error().message.find(path + " at offset " + std::to_string(state_offset + 4 * chunk_size)) !=
        std::string::npos);
}

TEST_CASE("stream: the follower refuses a snapshot whose bytes do not match the leader's checksum, then takes a good retry", "[storage][snapshot][stream][faults]") {
  two_servers s;
  auto ref = s.leader().snapshot();
  auto count = snapshot_chunk_count(ref->state_size, chunk_size);
  REQUIRE(s.leader().read_snapshot_chunk(ref->meta, 1, chunk_size));
  auto checksum = s.leader().snapshot_checksum(ref->meta);
  REQUIRE(checksum);
  for (bool damage : {true, false}) {
    REQUIRE(s.follower().begin_snapshot_receipt(ref->meta, checksum));
    for (uint32_t no = 1; no <= count; ++no) {
      auto chunk = s.leader().read_snapshot_chunk(ref->meta, no, chunk_size);
      REQUIRE(chunk);
      std::vector<char> bytes(chunk->span().begin(), chunk->span().end());
      if (damage && no == 3) bytes[100] ^= 1;  // damaged on the way
      REQUIRE(s.follower().accept_snapshot_chunk(bytes));
    }
    auto done = s.follower().complete_snapshot_receipt();
    if (damage) {
      REQUIRE_FALSE(done);
      CHECK(done.error().what == log_error::kind::rejected);
      CHECK_FALSE(s.follower().snapshot());  // nothing installed
      CHECK_FALSE(has_receiving_file(s.node, "f"));
    } else {
      REQUIRE(done);
      REQUIRE(s.follower().snapshot());
      CHECK(s.follower().snapshot()->meta == ref->meta);
      auto state = s.follower().load_snapshot_state();
      REQUIRE(state);
      CHECK(std::string(state->span().begin(), state->span().end()) == s.state);
    }
  }
}
