// The WAL actor under a real actor system (real threads): concurrent writers, batching,
// resend and error notifications, clean shutdown. Every wait is a bounded receive.

#include <catch2/catch.hpp>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <thread>

#include <caf/all.hpp>

#include "test/storage/storage_test_util.hpp"
#include "wal/wal_actor.hpp"

using namespace ra;
using namespace ra::storage;
using namespace std::chrono_literals;
using ra::storage::test::make_entries;
using ra::storage::test::temp_dir;

namespace {

constexpr auto wait_limit = std::chrono::seconds(10);

struct actor_fixture {
  temp_dir dir;
  caf::actor_system_config cfg;
  std::unique_ptr<caf::actor_system> sys;

  actor_fixture() {
    cfg.set("scheduler.max-threads", 2);
    sys = std::make_unique<caf::actor_system>(cfg);
  }

  wal_config config(file_system* fs = nullptr) {
    wal_config c;
    c.wal_data_dir = dir / "wal";
    c.fs = fs;
    return c;
  }
};

wal_writer_stats stats_of(caf::scoped_actor& self, const caf::actor& wal) {
  wal_writer_stats stats;
  self->request(wal, wait_limit, wal_stats_atom::value)
    .receive([&](const wal_writer_stats& s) { stats = s; },
             [&](caf::error& e) { FAIL("stats request failed: " << to_string(e)); });
  return stats;
}

/// Waits until `wal` is down; false on timeout.
bool wait_down(caf::scoped_actor& self, const caf::actor& wal) {
  bool down = false;
  self->receive([&](const caf::down_msg& msg) { down = msg.source == wal.address(); },
                caf::after(wait_limit) >> [] {});
  return down;
}

}  // namespace

TEST_CASE_METHOD(actor_fixture, "wal actor: concurrent writers are all acknowledged, in batches",
                 "[wal][actor]") {
  constexpr int writers = 4;
  constexpr uint64_t appends_per_writer = 300;
  constexpr uint64_t in_flight = 8;
  auto wal = spawn_wal(*sys, config(), nullptr);
  std::atomic<int> acknowledged{0};
  std::vector<std::thread> threads;
  for (int w = 0; w < writers; ++w) {
    threads.emplace_back([&, w] {
      caf::scoped_actor self{*sys};
      const std::string uid = "server-" + std::to_string(w);
      auto me = caf::actor_cast<caf::actor>(self);
      // Like a Raft server's pipeline: at most `in_flight` appends not yet written.
      uint64_t sent = 0;
      index_t highest{0};
      bool timed_out = false;
      while (highest.value < appends_per_writer && !timed_out) {
        while (sent < appends_per_writer && sent - highest.value < in_flight) {
          ++sent;
          self->send(wal, wal_append_atom::value, uid, me, make_entries(sent, sent, 1, 100));
        }
        self->receive(
          [&](wal_written_atom, const std::string& who, index_t index, term_t) {
            if (who == uid && index > highest)
              highest = index;
          },
          caf::after(wait_limit) >> [&] { timed_out = true; });
      }
      if (highest.value == appends_per_writer)
        ++acknowledged;
    });
  }
  for (auto& t : threads)
    t.join();
  CHECK(acknowledged == writers);

  caf::scoped_actor self{*sys};
  auto stats = stats_of(self, wal);
  CHECK(stats.entries == writers * appends_per_writer);
  CHECK(stats.syncs < writers * appends_per_writer);
  std::printf("wal actor: %d writers x %llu appends = %llu entries in %llu batches, %llu syncs\n",
              writers, static_cast<unsigned long long>(appends_per_writer),
              static_cast<unsigned long long>(stats.entries),
              static_cast<unsigned long long>(stats.batches),
              static_cast<unsigned long long>(stats.syncs));

  self->monitor(wal);
  stop_wal(wal);
  CHECK(wait_down(self, wal));
  wal_writer check{config()};
  wal_recovery rec;
  REQUIRE(check.recover(rec));
  for (int w = 0; w < writers; ++w)
    CHECK(rec.entries["server-" + std::to_string(w)] == make_entries(1, appends_per_writer, 1, 100));
}

TEST_CASE_METHOD(actor_fixture, "wal actor: gap -> resend, I/O error -> wal_error then written",
                 "[wal][actor]") {
  faulty_file_system fs{file_system::posix()};
  std::atomic<int> fail_writes_with{0};
  fs.set_rule([&](std::string_view op, const std::string& path) {
    return op == "write" && path.ends_with(".wal") ? fail_writes_with.load() : 0;
  });
  auto wal = spawn_wal(*sys, config(&fs), nullptr);
  caf::scoped_actor self{*sys};
  auto me = caf::actor_cast<caf::actor>(self);
  bool timed_out = false;
  auto on_timeout = caf::after(wait_limit) >> [&] { timed_out = true; };

  self->send(wal, wal_append_atom::value, std::string("s"), me, make_entries(1, 3, 1));
  index_t written{0};
  self->receive([&](wal_written_atom, const std::string&, index_t i, term_t) { written = i; }, on_timeout);
  CHECK(written == index_t{3});

  self->send(wal, wal_append_atom::value, std::string("s"), me, make_entries(6, 6, 1));
  index_t resend_from{0};
  self->receive([&](wal_resend_atom, const std::string&, index_t from) { resend_from = from; }, on_timeout);
  CHECK(resend_from == index_t{4});

  fail_writes_with = ENOSPC;
  self->send(wal, wal_append_atom::value, std::string("s"), me, make_entries(4, 6, 1));
  std::string error;
  self->receive([&](wal_error_atom, const std::string&, const std::string& msg) { error = msg; }, on_timeout);
  CHECK(error.find("No space left on device") != std::string::npos);
  fail_writes_with = 0;  // the actor retries by itself
  written = index_t{0};
  while (written < index_t{6} && !timed_out) {
    self->receive([&](wal_written_atom, const std::string&, index_t i, term_t) { written = i; },
                  [&](wal_error_atom, const std::string&, const std::string&) {}, on_timeout);
  }
  CHECK(written == index_t{6});
  CHECK(!timed_out);

  self->monitor(wal);
  stop_wal(wal);
  CHECK(wait_down(self, wal));
}

TEST_CASE_METHOD(actor_fixture, "wal actor: stopping flushes what is queued", "[wal][actor]") {
  auto wal = spawn_wal(*sys, config(), nullptr);
  caf::scoped_actor self{*sys};
  auto me = caf::actor_cast<caf::actor>(self);
  self->monitor(wal);
  // The exit message may overtake the flush marker; the exit handler flushes anyway.
  self->send(wal, wal_append_atom::value, std::string("s"), me, make_entries(1, 5, 1));
  stop_wal(wal);
  CHECK(wait_down(self, wal));
  wal_writer check{config()};
  wal_recovery rec;
  REQUIRE(check.recover(rec));
  CHECK(rec.entries["s"] == make_entries(1, 5, 1));
}
