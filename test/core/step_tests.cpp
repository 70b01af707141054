// One message at a time into one server (Ra's ra_server_SUITE style): the prologue every
// peer message goes through (lower / equal / higher term x each role) and the per-role
// steps behind it.
#include <catch2/catch.hpp>

#include "test/core/cluster_harness.hpp"

using namespace ra;
using namespace ra::test;

namespace {

/// A memory log whose reads from `unreadable_from` on (and snapshot chunk reads, with
/// `snapshot_unreadable`) fail as a disk would (I/O error).
struct failing_log final : log_store {
  memory_log inner;
  std::optional<index_t> unreadable_from;
  bool snapshot_unreadable = false;

  index_t last_index() const override { return inner.last_index(); }
  index_term last_written() const override { return inner.last_written(); }
  std::optional<term_t> term_at(index_t i) const override { return inner.term_at(i); }
  log_status read(index_t from, index_t to, size_t max_count, std::vector<log_entry>& out) const override {
    if (unreadable_from && to >= *unreadable_from && from <= inner.last_index())
      return unexpected{log_error{log_error::kind::unreadable, "segment 00000001.segment: bad checksum at offset 4096"}};
    return inner.read(from, to, max_count, out);
  }
  index_t first_index() const override { return inner.first_index(); }
  void append(std::vector<log_entry> entries) override { inner.append(std::move(entries)); }
  std::optional<snapshot_ref> snapshot() const override { return inner.snapshot(); }
  snapshot_bytes load_snapshot_state() const override { return inner.load_snapshot_state(); }
  snapshot_bytes read_snapshot_chunk(const snapshot_meta& meta, uint32_t no, uint64_t size) const override {
    if (snapshot_unreadable)
      return unexpected{log_error{log_error::kind::unreadable, "snapshot 0000.snapshot: bad checksum"}};
    return inner.read_snapshot_chunk(meta, no, size);
  }
  void write_snapshot(stored_snapshot snap) override { inner.write_snapshot(std::move(snap)); }
  log_status begin_snapshot_receipt(const snapshot_meta& meta, std::optional<uint32_t> checksum = std::nullopt) override {
    return inner.begin_snapshot_receipt(meta, checksum);
  }
  log_status accept_snapshot_chunk(std::span<const char> chunk) override { return inner.accept_snapshot_chunk(chunk); }
  log_status complete_snapshot_receipt() override { return inner.complete_snapshot_receipt(); }
  void abort_snapshot_receipt() override { inner.abort_snapshot_receipt(); }
  bool sync_all() { return inner.sync_all(); }
};

/// One server "a" of the members a, b, c, driven by hand; nothing is delivered anywhere.
struct single {
  failing_log log;
  std::unique_ptr<server> srv;
  std::vector<action> out;  ///< actions of the last step

  explicit single(uint64_t snapshot_chunk_size = server_config{}.snapshot_chunk_size) {
    server_config cfg;
    cfg.id = sid("a");
    cfg.snapshot_chunk_size = snapshot_chunk_size;
    cfg.cluster_name = "test";
    for (auto n : {"a", "b", "c"}) cfg.initial_members.push_back(member{sid(n), membership::voter, index_t{0}});
    cfg.rng_seed = 7;
    srv = std::make_unique<server>(cfg, log, make_machine<list_machine>(), durable_meta{term_t{0}, std::nullopt});
  }
  server& operator*() { return *srv; }
  server* operator->() { return srv.get(); }

  void step(const char* from, peer_message m) {
    srv->handle(sid(from), m);
    take();
  }
  void take() {
    out = srv->take_actions();
    log.sync_all();
    srv->handle_log_written();
    auto more = srv->take_actions();
    out.insert(out.end(), more.begin(), more.end());
  }
  template <class M>
  std::vector<M> sent() const {
    std::vector<M> r;
    for (auto& a : out)
      if (auto* s = std::get_if<send_action>(&a))
        if (auto* m = std::get_if<M>(&s->msg)) r.push_back(*m);
    return r;
  }
  bool stopped() const {
    for (auto& a : out)
      if (std::holds_alternative<stopped_action>(a)) return true;
    return false;
  }

  // -- roles: every one reached by messages only, in term 5 ----------------------------
  void make_follower() {
    step("b", append_entries_rpc{term_t{5}, sid("b"), index_t{0}, index_t{0}, term_t{0}, {}});
    REQUIRE(srv->current_role() == role::follower);
  }
  void make_pre_vote() {
    make_follower();
    srv->handle_leader_down();
    srv->handle_timeout(timer_kind::election);
    take();
    REQUIRE(srv->current_role() == role::pre_vote);
  }
  void make_candidate() {
    make_pre_vote();
    auto token = sent<pre_vote_rpc>().at(0).token;
    step("b", pre_vote_result{term_t{5}, token, true});
    REQUIRE(srv->current_role() == role::candidate);
    REQUIRE(srv->current_term() == term_t{6});
  }
  void make_leader() {
    make_candidate();
    step("b", request_vote_result{term_t{6}, true});
    REQUIRE(srv->current_role() == role::leader);
  }
  /// A leader whose log holds its noop (index 1) and `n` commands after it.
  void make_leader_with_entries(int n) {
    make_leader();
    for (int i = 0; i < n; ++i)
      srv->handle_command(command_request{client_ref{uint64_t(i + 1)}, encode(int64_t{i}), reply_mode::await_consensus,
                                          0, command_priority::normal});
    take();
    REQUIRE(srv->log().last_index() == index_t{uint64_t(n) + 1});
  }
};

enum class start { follower, pre_vote, candidate, leader };

void reach(single& s, start r) {
  switch (r) {
    case start::follower: return s.make_follower();
    case start::pre_vote: return s.make_pre_vote();
    case start::candidate: return s.make_candidate();
    case start::leader: return s.make_leader();
  }
}

const char* name(start r) {
  switch (r) {
    case start::follower: return "follower";
    case start::pre_vote: return "pre_vote";
    case start::candidate: return "candidate";
    case start::leader: return "leader";
  }
  return "?";
}

/// The leader-to-follower messages, from "c", in term t.
std::vector<std::pair<const char*, peer_message>> leader_messages(term_t t) {
  snapshot_meta meta{index_t{100}, term_t{1}, {}, 0};
  return {
    {"append_entries", append_entries_rpc{t, sid("c"), index_t{0}, index_t{0}, term_t{0}, {}}},
    {"heartbeat", heartbeat_rpc{t, sid("c"), 1}},
    {"install_snapshot", install_snapshot_rpc{t, sid("c"), meta, 1, false, shared_bytes{std::vector<char>{'x'}}}},
  };
}

}  // namespace

TEST_CASE("prologue: a leader message from an older term is refused with our term, in every role", "[step][prologue]") {
  for (auto r : {start::follower, start::pre_vote, start::candidate, start::leader}) {
    for (size_t k = 0; k < 3; ++k) {
      single s;
      reach(s, r);
      auto role_before = s->current_role();
      auto term = s->current_term();
      auto [what, msg] = leader_messages(term_t{term.value - 1})[k];
      INFO(name(r) << " gets an old-term " << what);
      s.step("c", msg);
      CHECK(s->current_role() == role_before);
      CHECK(s->current_term() == term);
      CHECK_FALSE(s.stopped());
      // The sender learns our term, whatever the message.
      size_t answers = s.sent<append_entries_reply>().size() + s.sent<heartbeat_reply>().size() +
                       s.sent<install_snapshot_result>().size();
      CHECK(answers == 1);
      for (auto& a : s.out)
        if (auto* snd = std::get_if<send_action>(&a)) {
          CHECK(snd->to == sid("c"));
          CHECK(std::visit([](auto& m) { return m.term; }, snd->msg) == term);
        }
    }
  }
}

TEST_CASE("prologue: a leader message from a newer term makes every role follow its sender", "[step][prologue]") {
  for (auto r : {start::follower, start::pre_vote, start::candidate, start::leader}) {
    for (size_t k = 0; k < 3; ++k) {
      single s;
      reach(s, r);
      auto newer = term_t{s->current_term().value + 3};
      auto [what, msg] = leader_messages(newer)[k];
      INFO(name(r) << " gets a newer-term " << what);
      s.step("c", msg);
      CHECK(s->current_term() == newer);
      CHECK((s->current_role() == role::follower || s->current_role() == role::receive_snapshot));
      CHECK(s->leader() == sid("c"));
      CHECK_FALSE(s->voted_for());
      CHECK_FALSE(s.stopped());
    }
  }
}

TEST_CASE("prologue: a leader message in our own term", "[step][prologue]") {
  for (size_t k = 0; k < 3; ++k) {
    auto what = leader_messages(term_t{0})[k].first;
    SECTION(std::string{"a leader stops, whichever message it is: "} + what) {
      single s;
      s.make_leader();
      s.step("c", leader_messages(s->current_term())[k].second);
      CHECK(s.stopped());
      CHECK(s->current_role() == role::stopped);
      CHECK(s->stop_reason().find("two leaders") != std::string::npos);
    }
    SECTION(std::string{"a candidate and a pre-vote candidate follow the winner: "} + what) {
      for (auto r : {start::pre_vote, start::candidate}) {
        single s;
        reach(s, r);
        auto term = s->current_term();
        s.step("c", leader_messages(term)[k].second);
        CHECK(s->current_term() == term);
        CHECK((s->current_role() == role::follower || s->current_role() == role::receive_snapshot));
        CHECK(s->leader() == sid("c"));
      }
    }
  }
}

TEST_CASE("prologue: a reply from a newer term steps any role down, and from an older term it is ignored", "[step][prologue]") {
  for (auto r : {start::follower, start::pre_vote, start::candidate, start::leader}) {
    std::vector<std::pair<const char*, std::function<peer_message(term_t)>>> replies{
      {"append_entries_reply", [](term_t t) { return append_entries_reply{t, true, index_t{1}, index_t{0}, term_t{0}, 0}; }},
      {"install_snapshot_result", [](term_t t) { return install_snapshot_result{t, index_t{0}, 1, index_t{0}, term_t{0}}; }},
      {"heartbeat_reply", [](term_t t) { return heartbeat_reply{t, 1}; }},
      {"request_vote_result", [](term_t t) { return request_vote_result{t, true}; }},
    };
    for (auto& [what, make] : replies) {
      INFO(name(r) << " gets " << what);
      {
        single s;
        reach(s, r);
        auto role_before = s->current_role();
        auto term = s->current_term();
        s.step("b", make(term_t{term.value - 1}));
        CHECK(s->current_role() == role_before);
        CHECK(s->current_term() == term);
        CHECK(s.sent<append_entries_rpc>().empty());
      }
      {
        single s;
        reach(s, r);
        auto newer = term_t{s->current_term().value + 1};
        s.step("b", make(newer));
        CHECK(s->current_role() == role::follower);
        CHECK(s->current_term() == newer);
        CHECK_FALSE(s->leader());
      }
    }
  }
}

TEST_CASE("prologue: a pre-vote request never changes our term, a vote request of a newer term does", "[step][prologue][pre_vote]") {
  single s;
  s.make_follower();
  s->handle_leader_down();
  s.take();
  s.step("b", pre_vote_rpc{term_t{9}, sid("b"), index_t{0}, term_t{0}, 42, 0});
  CHECK(s->current_term() == term_t{5});
  REQUIRE(s.sent<pre_vote_result>().size() == 1);
  CHECK(s.sent<pre_vote_result>()[0].vote_granted);
  CHECK(s.sent<pre_vote_result>()[0].token == 42);

  s.step("b", request_vote_rpc{term_t{9}, sid("b"), index_t{0}, term_t{0}, false});
  CHECK(s->current_term() == term_t{9});
  CHECK(s->voted_for() == sid("b"));
  REQUIRE(s.sent<request_vote_result>().size() == 1);
  CHECK(s.sent<request_vote_result>()[0].vote_granted);
}

TEST_CASE("a pre-vote grant from a member still in an older term counts", "[step][pre_vote]") {
  single s;
  s.make_pre_vote();
  auto token = s.sent<pre_vote_rpc>().at(0).token;
  s.step("b", pre_vote_result{term_t{2}, token, true});  // b missed terms 3..5
  CHECK(s->current_role() == role::candidate);
}

TEST_CASE("a leader transfer sent to a follower makes it stand at once, without a pre-vote", "[step][transfer]") {
  single s;
  s.make_follower();
  s.step("b", timeout_now_rpc{term_t{5}, sid("b")});
  CHECK(s->current_role() == role::candidate);
  CHECK(s->current_term() == term_t{6});
  REQUIRE(s.sent<request_vote_rpc>().size() == 2);
  CHECK(s.sent<request_vote_rpc>()[0].leadership_transfer);
  // A leader ignores one.
  single l;
  l.make_leader();
  l.step("b", timeout_now_rpc{l->current_term(), sid("b")});
  CHECK(l->current_role() == role::leader);
}

TEST_CASE("every leader-only request gets the same refusal and hint from a non-leader", "[step][not_leader]") {
  single s;
  s.make_follower();  // leader: b
  auto c1 = client_ref{1}, c2 = client_ref{2}, c3 = client_ref{3}, c4 = client_ref{4}, c5 = client_ref{5};
  s->handle_command(command_request{c1, encode(int64_t{1}), reply_mode::await_consensus, 0, command_priority::normal});
  s->handle_membership(membership_request{c2, membership_op::add, member{sid("d"), membership::voter, index_t{0}}});
  s->handle_transfer_leadership(c3, sid("c"));
  s->handle_delete_cluster(c4);
  s->handle_query(query_request{c5, query_kind::consistent, [](const machine&) { return std::any{}; }});
  s.take();
  std::vector<command_error> errors;
  for (auto& a : s.out) {
    if (auto* r = std::get_if<reply_action>(&a); r && r->error) errors.push_back(*r->error);
    if (auto* q = std::get_if<query_reply_action>(&a); q && q->error) errors.push_back(*q->error);
  }
  REQUIRE(errors.size() == 5);
  for (auto& e : errors) {
    CHECK(e.code == error_code::not_leader);
    CHECK(e.leader == sid("b"));
  }
}

TEST_CASE("F4: query heartbeats do not abort a snapshot being received", "[snapshot][f4]") {
  cluster c{{"a", "b", "c"}, [](server_config& cfg) {
              cfg.snapshot_chunk_size = 16;
              cfg.min_snapshot_interval = 1;
            },
            /*release_every=*/5};
  c.elect("a");
  c.isolate("c");
  for (int i = 1; i <= 30; ++i) c.command("a", 1000 + i);  // big entries: a snapshot of many chunks
  c.run();
  REQUIRE(c["a"].log().first_index() > index_t{2});
  c.heal();
  c.command("a", 7);
  // Deliver one message at a time; whenever the follower is receiving, ask a consistent
  // query on the leader (its heartbeat round reaches the follower between chunks).
  uint64_t queries = 0;
  for (int step = 0; step < 5000 && !c.network().empty(); ++step) {
    c.sync_all();
    c.deliver_one();
    if (c["c"].current_role() == role::receive_snapshot && queries < 50) {
      c["a"].handle_query(query_request{c.next_client(), query_kind::consistent, [](const machine&) { return std::any{}; }});
      c.collect();
      ++queries;
    }
  }
  c.run();
  CHECK(queries > 0);
  CHECK(c["c"].metrics().snapshots_installed == 1);
  CHECK(c.applied("c") == c.applied("a"));
}

TEST_CASE("a leader that cannot read its log stops with the store's error instead of sending a snapshot", "[step][storage]") {
  single s;
  s.make_leader_with_entries(5);
  // A snapshot exists, so "compacted" would have had an answer; the entries are simply
  // unreadable.
  s.log.inner.write_snapshot(stored_snapshot{snapshot_meta{index_t{1}, term_t{6}, {}, 0}, shared_bytes::copy_of("s")});
  s.log.unreadable_from = index_t{2};
  // b says it holds nothing after 1: the leader must read from 2.
  s.step("b", append_entries_reply{s->current_term(), false, index_t{2}, index_t{1}, term_t{6}, 0});
  CHECK(s.stopped());
  CHECK(s->current_role() == role::stopped);
  CHECK(s->stop_reason().find("bad checksum at offset 4096") != std::string::npos);
  CHECK(s.sent<install_snapshot_rpc>().empty());
}

TEST_CASE("a leader whose follower needs released entries sends its snapshot", "[step][snapshot]") {
  single s;
  s.make_leader_with_entries(5);
  s.log.inner.write_snapshot(stored_snapshot{snapshot_meta{index_t{4}, term_t{6}, {}, 0}, shared_bytes::copy_of("s")});
  s.step("b", append_entries_reply{s->current_term(), false, index_t{2}, index_t{1}, term_t{6}, 0});
  CHECK_FALSE(s.stopped());
  REQUIRE(s.sent<install_snapshot_rpc>().size() == 1);
  CHECK(s.sent<install_snapshot_rpc>()[0].meta.index == index_t{4});
}

TEST_CASE("a leader that cannot read a snapshot chunk stops with the store's error, never retrying", "[step][snapshot][storage]") {
  single s;
  s.make_leader_with_entries(5);
  s.log.inner.write_snapshot(stored_snapshot{snapshot_meta{index_t{4}, term_t{6}, {}, 0}, shared_bytes::copy_of("s")});
  s.log.snapshot_unreadable = true;
  s.step("b", append_entries_reply{s->current_term(), false, index_t{2}, index_t{1}, term_t{6}, 0});
  CHECK(s.stopped());
  CHECK(s->stop_reason().find("snapshot 0000.snapshot: bad checksum") != std::string::npos);
  CHECK(s.sent<install_snapshot_rpc>().empty());
}

TEST_CASE("a leader sends its snapshot in chunks read from the store, cut by snapshot_chunk_size", "[step][snapshot]") {
  single s{1000};
  s.make_leader_with_entries(5);
  std::string state(2500, 'x');
  for (size_t i = 0; i < state.size(); ++i) state[i] = static_cast<char>('a' + i % 26);
  snapshot_meta meta{index_t{4}, term_t{6}, {}, 0};
  s.log.inner.write_snapshot(stored_snapshot{meta, shared_bytes::copy_of(state)});
  s->handle(sid("b"), append_entries_reply{s->current_term(), false, index_t{2}, index_t{1}, term_t{6}, 0});
  std::string received;
  uint32_t chunks = 0;
  for (uint32_t no = 1;; ++no) {
    ++chunks;
    s.take();
    auto rpcs = s.sent<install_snapshot_rpc>();
    REQUIRE(rpcs.size() == 1);
    CHECK(rpcs[0].chunk_no == no);
    CHECK(rpcs[0].meta == meta);
    CHECK(rpcs[0].data.size() == (no < 3 ? 1000u : 500u));
    received += std::string{rpcs[0].data.view()};
    if (rpcs[0].last) break;
    REQUIRE(no < 10);
    s->handle(sid("b"), install_snapshot_result{s->current_term(), index_t{4}, no, index_t{}, term_t{}});
  }
  CHECK(chunks == 3);
  CHECK(received == state);
}

TEST_CASE("a transfer whose snapshot the store no longer holds restarts with the newer one", "[step][snapshot]") {
  single s{4};
  s.make_leader_with_entries(5);
  snapshot_meta older{index_t{4}, term_t{6}, {}, 0}, newer{index_t{5}, term_t{6}, {}, 0};
  s.log.inner.write_snapshot(stored_snapshot{older, shared_bytes::copy_of("older state")});
  s.step("b", append_entries_reply{s->current_term(), false, index_t{2}, index_t{1}, term_t{6}, 0});
  REQUIRE(s.sent<install_snapshot_rpc>().size() == 1);
  CHECK(s.sent<install_snapshot_rpc>()[0].meta == older);
  // A newer snapshot replaces it, and c's transfer of that one moves the store on.
  s.log.inner.write_snapshot(stored_snapshot{newer, shared_bytes::copy_of("newer state")});
  s.step("c", append_entries_reply{s->current_term(), false, index_t{2}, index_t{1}, term_t{6}, 0});
  REQUIRE(s.sent<install_snapshot_rpc>().size() == 1);
  CHECK(s.sent<install_snapshot_rpc>()[0].meta == newer);
  // b's next chunk of the older snapshot cannot be read any more: b gets the newer one
  // from its first chunk, and the leader keeps leading.
  s.step("b", install_snapshot_result{s->current_term(), index_t{4}, 1, index_t{}, term_t{}});
  CHECK_FALSE(s.stopped());
  auto rpcs = s.sent<install_snapshot_rpc>();
  REQUIRE(rpcs.size() == 1);
  CHECK(rpcs[0].meta == newer);
  CHECK(rpcs[0].chunk_no == 1);
  CHECK(rpcs[0].data.view() == "newe");
}
