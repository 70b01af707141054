// Behaviour added for performance (issue 5), each with a test that fails if it is wrong:
// terms served from memory (no file opened, same answers as the files), the mem table's
// chunked storage, the WAL actor's group-commit window (never an ack before the sync),
// and batched server-config saving (the syncs every config needs, in the right order).
#include <catch2/catch.hpp>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <deque>
#include <map>
#include <mutex>
#include <random>
#include <thread>

#include <caf/all.hpp>

#include "test/storage/durable_node.hpp"
#include "log/mem_table.hpp"
#include "segments/segment_set.hpp"
#include "test/storage/storage_test_util.hpp"
#include "wal/config_store.hpp"
#include "wal/wal_actor.hpp"

using namespace ra;
using namespace ra::storage;
using namespace std::chrono_literals;
using ra::storage::test::durable_node;
using ra::storage::test::make_entries;
using ra::storage::test::temp_dir;

namespace {

/// Counts the opens of segment files through a faulty_file_system that never fails.
struct open_counter {
  faulty_file_system fs{file_system::posix()};
  std::atomic<int> segment_opens{0};
  open_counter() {
    fs.set_rule([this](std::string_view op, const std::string& path) {
      if (op == "open" && path.ends_with(".segment")) ++segment_opens;
      return 0;
    });
  }
};

/// The term of every index as a model applies writes (later writes overwrite the tail).
struct term_model {
  std::map<uint64_t, uint64_t> terms;
  void write(const std::vector<log_entry>& es) {
    if (es.empty()) return;
    terms.erase(terms.lower_bound(es.front().index.value), terms.end());
    for (auto& e : es) terms[e.index.value] = e.term.value;
  }
  std::optional<term_t> at(uint64_t i) const {
    auto it = terms.find(i);
    if (it == terms.end()) return std::nullopt;
    return term_t{it->second};
  }
};

std::vector<log_entry> concat(std::vector<log_entry> a, const std::vector<log_entry>& b) {
  a.insert(a.end(), b.begin(), b.end());
  return a;
}

}  // namespace

TEST_CASE("segment_set: term_at is served from memory and matches the files", "[storage][segment][terms]") {
  temp_dir dir;
  open_counter counter;
  segment_config config;
  config.segment_max_entries = 10;
  term_model model;
  auto set = segment_set::open(counter.fs, dir.path(), 1);
  REQUIRE(set);
  // One batch with an overwrite inside a file (5.. replaced by term 2), spanning files.
  auto batch1 = concat(make_entries(1, 8, 1), make_entries(5, 14, 2));
  REQUIRE(set->write(batch1, config));
  model.write(make_entries(1, 8, 1));
  model.write(make_entries(5, 14, 2));
  // A newer file overwriting across files, with several terms in it.
  auto batch2 = concat(make_entries(12, 13, 3), make_entries(14, 25, 4));
  REQUIRE(set->write(batch2, config));
  model.write(make_entries(12, 13, 3));
  model.write(make_entries(14, 25, 4));

  auto check_all = [&](segment_set& s, uint64_t from) {
    for (uint64_t i = 1; i <= 30; ++i) {
      auto t = s.term_at(index_t{i});
      REQUIRE(t);
      INFO("index " << i);
      CHECK(*t == (i >= from ? model.at(i) : std::nullopt));
      // The file itself agrees (read through the cache: this one may open files).
      if (i >= from && model.at(i)) {
        auto e = s.read(index_t{i});
        REQUIRE(e);
        REQUIRE(*e);
        CHECK((*e)->term == *model.at(i));
      }
    }
  };
  counter.segment_opens = 0;
  for (uint64_t i = 1; i <= 30; ++i) REQUIRE(set->term_at(index_t{i}));
  CHECK(counter.segment_opens == 0);  // no file opened for a term
  check_all(*set, 1);

  // Reopened: the terms are learnt from each file's index once, at open.
  auto reopened = segment_set::open(counter.fs, dir.path(), 1);
  REQUIRE(reopened);
  counter.segment_opens = 0;
  for (uint64_t i = 1; i <= 30; ++i) REQUIRE(reopened->term_at(index_t{i}));
  CHECK(counter.segment_opens == 0);
  check_all(*reopened, 1);

  // After deleting a prefix (a snapshot at 10), the remaining files still answer.
  REQUIRE(reopened->delete_up_to(index_t{10}));
  auto first_left = reopened->range()->first.value;
  check_all(*reopened, first_left);

  // A ref registered by hand (no terms attached) learns them from the file.
  auto third = segment_set::open(counter.fs, dir.path() + "/other", 1);
  REQUIRE(third);
  auto made = write_segments(counter.fs, dir.path() + "/other", make_entries(1, 5, 7), config);
  REQUIRE(made);
  auto bare = *made;
  for (auto& r : bare) r.terms.clear();
  REQUIRE(third->add(bare));
  counter.segment_opens = 0;
  CHECK(*third->term_at(index_t{3}) == term_t{7});
  CHECK(counter.segment_opens == 0);
}

TEST_CASE("durable_log: term_at matches a reopened log after roll-overs, overwrites and snapshots",
          "[storage][durable_log][terms]") {
  temp_dir d;
  wal_config wc;
  wc.wal_max_size_bytes = wal_min_size_bytes;
  wc.wal_max_entries = 50;  // roll over often: most entries end up in segments
  segment_config sc;
  sc.segment_max_entries = 16;
  term_model model;
  std::map<uint64_t, std::optional<term_t>> seen;
  {
    durable_node node{file_system::posix(), d.path(), wc, sc};
    REQUIRE(node.open({"s1"}));
    auto& log = node.log("s1");
    auto write = [&](std::vector<log_entry> es) {
      model.write(es);
      log.append(std::move(es));
      node.flush();
    };
    write(make_entries(1, 120, 1));
    write(make_entries(90, 160, 2));   // overwrite across a roll-over
    write(make_entries(150, 230, 3));  // and again
    for (int k = 0; k < 3; ++k) write(make_entries(231 + k * 30, 260 + k * 30, 4));
    snapshot_meta meta{index_t{100}, term_t{2}, cluster_config{{member{server_id{"s1", "n"}}}}, 0};
    log.write_snapshot(stored_snapshot{meta, shared_bytes::copy_of("state@100")});
    REQUIRE(log.snapshot());
    REQUIRE_FALSE(log.error());
    REQUIRE(log.segments().refs().size() > 3);
    for (uint64_t i = 0; i <= 330; ++i) seen[i] = log.term_at(index_t{i});
    // Terms from segments never opened a file.
    CHECK(log.segments().open_readers() == 0);
    CHECK_FALSE(log.error());
  }
  for (uint64_t i = 101; i <= 330; ++i) {
    INFO("index " << i);
    CHECK(seen[i] == model.at(i));
  }
  CHECK(seen[100] == term_t{2});
  CHECK_FALSE(seen[99]);
  durable_node node{file_system::posix(), d.path(), wc, sc};
  REQUIRE(node.open({"s1"}));
  auto& log = node.log("s1");
  for (uint64_t i = 0; i <= 330; ++i) {
    INFO("index " << i);
    CHECK(log.term_at(index_t{i}) == seen[i]);
  }
  CHECK(log.segments().open_readers() == 0);
}

namespace {

/// The table holds exactly the model's entries: the same bounds, every entry found and
/// equal, nothing found just outside, and its memory at least what those entries need
/// (none at all when empty).
void require_matches(const mem_table& t, const std::deque<log_entry>& model) {
  REQUIRE(t.size() == model.size());
  REQUIRE(t.empty() == model.empty());
  if (model.empty()) {
    REQUIRE(t.first_index() == index_t{0});
    REQUIRE(t.last_index() == index_t{0});
    REQUIRE(t.memory_bytes() == 0);
    return;
  }
  REQUIRE(t.first_index() == model.front().index);
  REQUIRE(t.last_index() == model.back().index);
  REQUIRE(t.find(model.front().index - 1) == nullptr);
  REQUIRE(t.find(model.back().index + 1) == nullptr);
  uint64_t payloads = 0;
  for (auto& e : model) {
    auto found = t.find(e.index);
    REQUIRE(found);
    REQUIRE(*found == e);
    payloads += e.payload.size();
  }
  REQUIRE(t.memory_bytes() >= model.size() * sizeof(log_entry) + payloads);
}

}  // namespace

TEST_CASE("mem_table: behaves like the deque it replaced and frees memory when empty", "[storage][mem_table]") {
  mem_table t;
  std::deque<log_entry> model;
  auto model_append = [&](const std::vector<log_entry>& es) {
    auto first = es.front().index;
    if (!model.empty() && (first <= model.back().index || first > model.back().index + 1))
      while (!model.empty() && model.back().index >= first) model.pop_back();
    if (!model.empty() && first > model.back().index + 1) model.clear();
    for (auto& e : es) model.push_back(e);
  };
  auto same = [&] { require_matches(t, model); };
  uint64_t next = 1;
  for (int round = 0; round < 200; ++round) {
    auto es = make_entries(next, next + 9, 1 + round / 20);
    t.append(es);
    model_append(es);
    next += 10;
    if (round % 7 == 3) {  // overwrite a suffix
      auto over = make_entries(next - 4, next - 2, 100 + round);
      t.append(over);
      model_append(over);
      next -= 1;
    }
    if (round % 5 == 4) {  // release a prefix (as segments take it)
      auto upto = index_t{next - 8};
      t.drop_through(upto);
      while (!model.empty() && model.front().index <= upto) model.pop_front();
    }
    same();
  }
  t.drop_through(index_t{next});
  CHECK(t.empty());
  CHECK(t.find(index_t{1}) == nullptr);
  CHECK(t.memory_bytes() == 0);  // the entries' vector and every payload given back
  // A fresh log after a snapshot install.
  t.append(make_entries(5000, 5002, 9));
  CHECK(t.first_index() == index_t{5000});
  t.append(make_entries(6000, 6001, 9));  // past last + 1: cleared first
  CHECK(t.size() == 2);
  CHECK(t.first_index() == index_t{6000});
  // The whole table (not its entries) is five words: the chunks, the head and slot count,
  // and the payload byte count that make memory_bytes() O(1) for a metrics scrape; an
  // empty one owns no heap.
  CHECK(sizeof(mem_table) <= 5 * sizeof(void*));
}

TEST_CASE("mem_table: a large table across many chunks matches the model under random cuts", "[storage][mem_table]") {
  // Thousands of entries (several max_chunk chunks) appended in batches of random size,
  // with overwrites, truncations and releases that land anywhere, chunk boundaries too.
  const uint32_t seed = GENERATE(1u, 2u, 3u, 4u);
  INFO("seed " << seed);
  std::mt19937 rng{seed};
  auto pick = [&](uint64_t lo, uint64_t hi) { return std::uniform_int_distribution<uint64_t>{lo, hi}(rng); };
  mem_table t;
  std::deque<log_entry> model;
  uint64_t term = 1;
  for (int step = 0; step < 400; ++step) {
    const uint64_t last = model.empty() ? 0 : model.back().index.value;
    const uint64_t first = model.empty() ? 1 : model.front().index.value;
    switch (pick(0, 9)) {
      case 0: {  // overwrite a suffix from anywhere in the table, in a new term
        if (model.empty()) break;
        const uint64_t from = pick(first, last);
        auto es = make_entries(from, from + pick(0, 50), ++term);
        t.append(es);
        while (!model.empty() && model.back().index.value >= from) model.pop_back();
        model.insert(model.end(), es.begin(), es.end());
        break;
      }
      case 1: {  // drop a prefix (a snapshot, or segments took it)
        if (model.empty()) break;
        const uint64_t upto = pick(first, last);
        t.drop_through(index_t{upto});
        while (!model.empty() && model.front().index.value <= upto) model.pop_front();
        break;
      }
      case 2: {  // release a prefix only where the terms match (segments took it)
        if (model.empty()) break;
        const uint64_t upto = pick(first, last);
        const uint64_t stale = pick(first, last + 1);  // from here on the segments hold other terms
        t.release_through(index_t{upto}, [&](index_t i) -> std::optional<term_t> {
          if (i.value >= stale) return term_t{0};
          return model[i.value - first].term;
        });
        while (!model.empty() && model.front().index.value <= upto && model.front().index.value < stale) model.pop_front();
        break;
      }
      case 3: {  // truncate a suffix
        if (model.empty()) break;
        const uint64_t from = pick(first, last);
        t.truncate_from(index_t{from});
        while (!model.empty() && model.back().index.value >= from) model.pop_back();
        break;
      }
      default: {  // append a batch of random size (sometimes one entry, sometimes thousands)
        const uint64_t n = pick(0, 3) == 0 ? pick(500, 3000) : pick(1, 40);
        auto es = make_entries(last + 1, last + n, term);
        t.append(es);
        model.insert(model.end(), es.begin(), es.end());
      }
    }
    require_matches(t, model);
  }
  t.drop_through(index_t{model.empty() ? 0 : model.back().index.value});
  CHECK(t.empty());
  CHECK(t.memory_bytes() == 0);
}

namespace {

struct wal_actor_fixture {
  temp_dir dir;
  caf::actor_system_config cfg;
  std::unique_ptr<caf::actor_system> sys;
  faulty_file_system fs{file_system::posix()};
  std::atomic<int> wal_syncs{0};
  std::atomic<int> fail_syncs_with{0};

  wal_actor_fixture() {
    cfg.set("scheduler.max-threads", 2);
    sys = std::make_unique<caf::actor_system>(cfg);
    fs.set_rule([this](std::string_view op, const std::string& path) {
      if (op != "sync" || !path.ends_with(".wal")) return 0;
      if (int e = fail_syncs_with.load()) return e;
      ++wal_syncs;  // counted only when the sync succeeds (is let through)
      return 0;
    });
  }
  wal_config config(std::chrono::microseconds window) {
    wal_config c;
    c.wal_data_dir = dir / "wal";
    c.fs = &fs;
    c.wal_group_commit_window = window;
    return c;
  }
};

}  // namespace

TEST_CASE_METHOD(wal_actor_fixture, "wal actor: the group-commit window puts several writers in one sync",
                 "[wal][actor][window]") {
  auto wal = spawn_wal(*sys, config(300ms), nullptr);
  caf::scoped_actor self{*sys};
  auto me = caf::actor_cast<caf::actor>(self);
  self->send(wal, wal_append_atom::value, std::string("leader"), me, make_entries(1, 1, 1));
  // Nothing is acknowledged while the window is open (no sync has happened).
  bool early = false;
  self->receive([&](wal_written_atom, const std::string&, index_t, term_t) { early = true; },
                caf::after(50ms) >> [] {});
  CHECK_FALSE(early);
  CHECK(wal_syncs == 0);
  // A second writer joins: the batch goes at once, both in one sync.
  auto t0 = std::chrono::steady_clock::now();
  self->send(wal, wal_append_atom::value, std::string("follower"), me, make_entries(1, 1, 1));
  int acks = 0;
  for (int k = 0; k < 2; ++k)
    self->receive(
      [&](wal_written_atom, const std::string&, index_t i, term_t) {
        CHECK(wal_syncs >= 1);  // the ack follows the sync
        CHECK(i == index_t{1});
        ++acks;
      },
      caf::after(10s) >> [] {});
  CHECK(acks == 2);
  CHECK(std::chrono::steady_clock::now() - t0 < 250ms);  // did not sit out the window
  CHECK(wal_syncs == 1);

  // A lone writer waits at most the window, then is synced and acknowledged.
  t0 = std::chrono::steady_clock::now();
  self->send(wal, wal_append_atom::value, std::string("leader"), me, make_entries(2, 2, 1));
  bool acked = false;
  self->receive([&](wal_written_atom, const std::string&, index_t, term_t) { acked = wal_syncs == 2; },
                caf::after(10s) >> [] {});
  CHECK(acked);
  CHECK(std::chrono::steady_clock::now() - t0 >= 250ms);
  anon_send_exit(wal, caf::exit_reason::user_shutdown);
}

TEST_CASE_METHOD(wal_actor_fixture, "wal actor: a failed sync after the window acknowledges nothing",
                 "[wal][actor][window]") {
  auto wal = spawn_wal(*sys, config(20ms), nullptr);
  caf::scoped_actor self{*sys};
  auto me = caf::actor_cast<caf::actor>(self);
  fail_syncs_with = EIO;
  self->send(wal, wal_append_atom::value, std::string("w"), me, make_entries(1, 3, 1));
  bool written_while_failing = false;
  bool error_seen = false;
  for (int k = 0; k < 100 && !error_seen; ++k)  // until the first error
    self->receive([&](wal_error_atom, const std::string&, const std::string&) { error_seen = true; },
                  [&](wal_written_atom, const std::string&, index_t, term_t) { written_while_failing = true; },
                  caf::after(10s) >> [] {});
  CHECK(error_seen);
  CHECK_FALSE(written_while_failing);
  CHECK(wal_syncs == 0);
  fail_syncs_with = 0;
  bool written = false;
  while (!written) {
    bool timed_out = false;
    self->receive([&](wal_written_atom, const std::string&, index_t i, term_t) { written = i == index_t{3}; },
                  [&](wal_error_atom, const std::string&, const std::string&) {},
                  caf::after(10s) >> [&] { timed_out = true; });
    if (timed_out) break;
  }
  CHECK(written);
  CHECK(wal_syncs >= 1);
  anon_send_exit(wal, caf::exit_reason::user_shutdown);
}

TEST_CASE_METHOD(wal_actor_fixture, "wal actor: window 0 syncs a lone writer at once", "[wal][actor][window]") {
  auto wal = spawn_wal(*sys, config(0us), nullptr);
  caf::scoped_actor self{*sys};
  auto me = caf::actor_cast<caf::actor>(self);
  self->send(wal, wal_append_atom::value, std::string("w"), me, make_entries(1, 1, 1));
  bool acked = false;
  self->receive([&](wal_written_atom, const std::string&, index_t, term_t) { acked = wal_syncs == 1; },
                caf::after(10s) >> [] {});
  CHECK(acked);
  anon_send_exit(wal, caf::exit_reason::user_shutdown);
}

namespace {

persisted_server_config sample_config(const std::string& name) {
  persisted_server_config c;
  c.uid = name + "_uid";
  c.server.id = server_id{name, "node1"};
  c.server.cluster_name = "cluster-" + name;
  c.server.initial_members = {member{server_id{name, "node1"}}};
  c.machine = "counter";
  return c;
}

}  // namespace

TEST_CASE("server configs saved in a batch are synced before they count, directories included",
          "[storage][config]") {
  temp_dir d;
  faulty_file_system fs{file_system::posix()};
  std::mutex mx;
  std::vector<std::pair<std::string, std::string>> ops;  // (op, path) in order
  fs.set_rule([&](std::string_view op, const std::string& path) {
    std::lock_guard lk{mx};
    ops.emplace_back(std::string(op), path);
    return 0;
  });
  std::vector<persisted_server_config> configs;
  for (int k = 0; k < 5; ++k) configs.push_back(sample_config("s" + std::to_string(k)));
  std::vector<server_config_item> items;
  for (auto& c : configs) items.push_back({d.path() + "/servers/" + c.uid, &c});
  REQUIRE(save_server_configs(fs, items));

  auto pos = [&](const std::string& op, const std::string& path) -> std::ptrdiff_t {
    auto it = std::find(ops.begin(), ops.end(), std::pair{op, path});
    return it == ops.end() ? -1 : it - ops.begin();
  };
  for (auto& it : items) {
    INFO(it.dir);
    auto sync = pos("sync", it.dir + "/config.tmp");
    auto rename = pos("rename", it.dir + "/config.tmp");
    auto dir_sync = pos("sync_directory", it.dir);
    REQUIRE(sync >= 0);
    CHECK(rename > sync);     // the data is durable before the name points at it
    CHECK(dir_sync > rename);  // and the rename is made durable
    auto back = load_server_config(file_system::posix(), it.dir);
    REQUIRE(back);
    CHECK(*back == *it.config);
  }
  // The new directories' entries in their parent are durable too.
  CHECK(pos("sync_directory", d.path() + "/servers") > 0);

  // A failed sync saves nothing under the real name (the old config stays).
  auto changed = configs[0];
  changed.machine = "other";
  fs.set_rule([&](std::string_view op, const std::string& path) {
    return op == "sync" && path.ends_with("config.tmp") ? EIO : 0;
  });
  CHECK_FALSE(save_server_config(fs, items[0].dir, changed));
  auto back = load_server_config(file_system::posix(), items[0].dir);
  REQUIRE(back);
  CHECK(back->machine == "counter");
}
