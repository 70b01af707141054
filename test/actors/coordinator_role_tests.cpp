// The server actor's per-role behaviours and its stop paths under CAF's deterministic test
// coordinator (coordinator_fixture.hpp): one thread, simulated time, real files.

#include "test/actors/coordinator_fixture.hpp"

#include "actors/server_actor.hpp"
#include "ra/codec.hpp"

using namespace ra;
using namespace ra::test;
using namespace std::chrono_literals;

// -- the server's per-role behaviours (actors/server_actor.hpp) ---------------------------------
//
// These requests go straight to one server actor through its typed interface (no
// redirects, no retries), to see what each role does with a leader call: a leader takes
// it, a follower redirects it, a candidate or pre_vote server postpones it until a leader
// is known, for at most postpone_bound.

namespace {

server_id other_than(const std::vector<server_id>& ids, const server_id& not_this) {
  return ids[0] == not_this ? ids[1] : ids[0];
}

struct role_fixture : coordinator_fixture {
  template <class Reply>
  using answer = std::shared_ptr<std::optional<caf::expected<Reply>>>;

  /// Sends a request to server `to` from a fresh client actor; the answer (or the
  /// request's error) lands in the returned slot when it comes.
  template <class Reply, class... Ts>
  answer<Reply> ask(const server_id& to, caf::timespan timeout, Ts... xs) {
    auto out = std::make_shared<std::optional<caf::expected<Reply>>>();
    auto server = caf::actor_cast<detail::server_actor_handle>(sys().lookup(to));
    REQUIRE(server);
    sys().actor_system().spawn(
      [=](caf::event_based_actor* self, int) -> caf::behavior {
        self->request(server, timeout, xs...)
          .then(
            [=](const Reply& r) {
              *out = r;
              self->quit();
            },
            [=](caf::error& e) {
              *out = caf::expected<Reply>{std::move(e)};
              self->quit();
            });
        return {[](caf::ok_atom) {}};
      },
      0);
    return out;
  }

  /// A counter increment as a raw command (reply once applied).
  answer<actors::command_result> command(const server_id& to, int64_t n, caf::timespan timeout = 10s) {
    return ask<actors::command_result>(to, timeout, actors::command_atom::value, encode(n),
                                       static_cast<uint8_t>(reply_mode::await_consensus));
  }

  /// Starts `ids` as members of a new cluster without electing anyone.
  void start_servers(const std::vector<server_id>& ids) {
    for (auto& id : ids) start_server("c1", id, voters(ids));
  }

  /// Asks `id` to start an election (it enters pre_vote) and waits for the acknowledgement.
  void trigger(const server_id& id) {
    auto st = call<done>([&](caf::event_based_actor* self, async::callback<done> then) {
      async::trigger_election(self, sys(), id, call_timeout, std::move(then));
    });
    REQUIRE(st);
  }

  /// Three new members s1, s2, s3, with s1 cut off and running for election: it stays in
  /// pre_vote (its pre-votes are lost) until heal().
  std::vector<server_id> isolated_candidate() {
    auto servers = ids({"s1", "s2", "s3"});
    start_servers(servers);
    isolate(servers[0]);
    trigger(servers[0]);
    return servers;
  }

  /// `reply` is Raft's "ask the leader": not_leader, with `hint` as the leader.
  static void check_redirected(const answer<actors::command_result>& reply, const server_id& hint) {
    REQUIRE(reply->has_value());
    REQUIRE(**reply);
    CHECK((***reply).failed);
    CHECK((***reply).error.code == error_code::not_leader);
    CHECK((***reply).error.leader == hint);
  }

  role role_of(const server_id& id) {
    auto p = probe(id);
    REQUIRE(p);
    return p->server_role;
  }

  caf::timespan bound() { return detail::postpone_bound(make_config().server_defaults); }
};

}  // namespace

TEST_CASE_METHOD(role_fixture,
                 "coordinator: a command sent while the server runs for election is answered by it as leader",
                 "[coordinator][roles]") {
  auto servers = isolated_candidate();
  auto reply = command(servers[0], 5);
  run_jobs();
  CHECK(role_of(servers[0]) == role::pre_vote);
  CHECK(!reply->has_value());  // postponed, not refused with not_leader
  // Its next pre-vote round (a long timeout, shorter than the bound) reaches the others.
  heal();
  REQUIRE(run_until([&] { return reply->has_value(); }, bound()));
  REQUIRE(**reply);
  auto& r = ***reply;
  CHECK(!r.failed);
  CHECK(r.leader == servers[0]);
  CHECK(decode<int64_t>(r.reply) == 5);
  // As leader it takes the next command at once (no postponing): answered long before
  // a postponed one could be.
  auto next = command(servers[0], 1);
  REQUIRE(run_until([&] { return next->has_value(); }, 50ms));
  REQUIRE(**next);
  CHECK(!(***next).failed);
  CHECK(decode<int64_t>((***next).reply) == 6);
}

TEST_CASE_METHOD(role_fixture,
                 "coordinator: a command sent to a follower is redirected at once with the leader as hint",
                 "[coordinator][roles]") {
  auto servers = ids({"s1", "s2", "s3"});
  auto leader = start_cluster("c1", servers);
  auto follower = other_than(servers, leader);
  const auto asked = now();
  auto reply = command(follower, 1);
  run_jobs();  // no timer fires: the answer needs none
  check_redirected(reply, leader);
  CHECK(now() == asked);
}

TEST_CASE_METHOD(role_fixture, "coordinator: a follower that knows no leader postpones a command, then redirects it",
                 "[coordinator][roles]") {
  auto servers = ids({"s1", "s2", "s3"});
  start_servers(servers);  // brand-new members: no leader until an election is triggered
  auto reply = command(servers[1], 1);
  run_jobs();
  CHECK(role_of(servers[1]) == role::follower);
  CHECK(!reply->has_value());
  trigger(servers[0]);
  REQUIRE(run_until([&] { return reply->has_value(); }, bound()));
  check_redirected(reply, servers[0]);
}

TEST_CASE_METHOD(role_fixture,
                 "coordinator: a command postponed by a server that loses the election is redirected to the winner",
                 "[coordinator][roles]") {
  auto servers = isolated_candidate();
  auto reply = command(servers[0], 1);
  run_jobs();
  CHECK(!reply->has_value());
  trigger(servers[1]);  // s2 and s3 elect s2 meanwhile
  CHECK(await_leader({servers[1], servers[2]}) == servers[1]);
  CHECK(!reply->has_value());
  // s1's next pre-vote round reaches the leader, which tells s1 about itself.
  heal();
  REQUIRE(run_until([&] { return reply->has_value(); }, bound()));
  check_redirected(reply, servers[1]);
}

TEST_CASE_METHOD(role_fixture,
                 "coordinator: with no leader in sight a postponed command fails with not_leader after the bound",
                 "[coordinator][roles]") {
  auto servers = isolated_candidate();  // cut off for good: pre-vote rounds forever
  const auto asked = now();
  auto reply = command(servers[0], 1);
  REQUIRE(run_until([&] { return reply->has_value(); }, 10 * bound()));
  CHECK(now() - asked >= bound());
  CHECK(now() - asked < bound() + 50ms);
  check_redirected(reply, server_id{});  // no leader to name
  CHECK(role_of(servers[0]) != role::leader);
}

TEST_CASE_METHOD(role_fixture,
                 "coordinator: a caller's timeout ends its wait on a postponed command, and the server runs on",
                 "[coordinator][roles]") {
  auto servers = isolated_candidate();
  const auto asked = now();
  auto reply = command(servers[0], 7, 100ms);
  REQUIRE(run_until([&] { return reply->has_value(); }, bound()));
  REQUIRE(!**reply);
  CHECK((*reply)->error() == caf::sec::request_timeout);
  CHECK(now() - asked == caf::timespan{100ms});
  // The server answers the abandoned request once its bound is over (to nobody), and
  // goes on: healed, the cluster elects a leader and takes commands; the abandoned
  // command was refused, so it did not count.
  advance(bound());
  heal();
  auto leader = await_leader(servers);
  REQUIRE(!leader.empty());
  auto r = add(leader, 2);
  REQUIRE(r);
  CHECK(r->reply == 2);
}

TEST_CASE_METHOD(role_fixture,
                 "coordinator: a pre_vote server answers a local query at once and a consistent one once it leads",
                 "[coordinator][roles]") {
  auto servers = isolated_candidate();
  auto value = make_query<int64_t>([](const int64_t& s) { return s; });
  auto local = ask<actors::query_result>(servers[0], 10s, actors::query_atom::value,
                                         actors::query_msg{query_kind::local, value});
  auto consistent = ask<actors::query_result>(servers[0], 10s, actors::query_atom::value,
                                              actors::query_msg{query_kind::consistent, value});
  run_jobs();
  REQUIRE(local->has_value());
  REQUIRE(**local);
  CHECK(!(***local).failed);
  CHECK(!consistent->has_value());  // postponed until a leader is known
  heal();
  REQUIRE(run_until([&] { return consistent->has_value(); }, bound()));
  REQUIRE(**consistent);
  CHECK(!(***consistent).failed);
  CHECK((***consistent).leader == servers[0]);
  CHECK(std::any_cast<int64_t>((***consistent).value) == 0);
}

TEST_CASE_METHOD(role_fixture, "coordinator: a command pipelined to a pre_vote server is applied once it leads",
                 "[coordinator][roles]") {
  auto servers = isolated_candidate();
  auto events = std::make_shared<std::vector<std::string>>();
  auto server = caf::actor_cast<detail::server_actor_handle>(sys().lookup(servers[0]));
  sys().actor_system().spawn(
    [=](caf::event_based_actor* self, int) -> caf::behavior {
      self->send(server, actors::pipeline_atom::value, encode(int64_t{3}), uint64_t{42},
                 static_cast<uint8_t>(command_priority::normal), caf::actor_cast<caf::actor>(self));
      return {
        [=](actors::applied_atom, const actors::applied_batch& b) {
          for (auto& [correlation, reply] : b.applied) events->push_back("applied " + std::to_string(correlation));
          self->quit();
        },
        [=](actors::rejected_atom, uint64_t correlation, const command_error&) {
          events->push_back("rejected " + std::to_string(correlation));
          self->quit();
        },
      };
    },
    0);
  run_jobs();
  CHECK(events->empty());  // postponed, not rejected
  heal();
  REQUIRE(run_until([&] { return !events->empty(); }, bound()));
  CHECK(*events == std::vector<std::string>{"applied 42"});
}

TEST_CASE_METHOD(role_fixture, "coordinator: the requests a candidate postponed fail when it stops",
                 "[coordinator][roles]") {
  auto servers = isolated_candidate();
  auto reply = command(servers[0], 1);
  auto query = ask<actors::query_result>(servers[0], 10s, actors::query_atom::value,
                                         actors::query_msg{query_kind::consistent, {}});
  run_jobs();
  CHECK(!reply->has_value());
  CHECK(!query->has_value());
  // (Healed first: the fixture's partition filter must not touch the mailbox of a server
  // that is shutting down inside blocking().)
  heal();
  REQUIRE(blocking([&] { return sys().stop_server(servers[0]); }));
  REQUIRE(run_until([&] { return reply->has_value() && query->has_value(); }, 1s));
  REQUIRE(!**reply);
  CHECK((*reply)->error() == caf::sec::request_receiver_down);
  REQUIRE(!**query);
  CHECK((*query)->error() == caf::sec::request_receiver_down);
}

TEST_CASE_METHOD(role_fixture, "coordinator: a leader stopped from outside answers the commands it was holding",
                 "[coordinator][stop]") {
  std::vector<server_id> ids{{"s1", sys().name()}, {"s2", sys().name()}, {"s3", sys().name()}};
  auto leader = start_cluster("c1", ids);
  // Cut the followers off: the command is appended but cannot commit, so the leader
  // holds its reply promise.
  for (auto& id : ids)
    if (id != leader) isolate(id);
  auto reply = command(leader, 1, 30s);
  run_jobs();
  REQUIRE_FALSE(reply->has_value());
  heal();
  for (auto& id : ids)
    if (id != leader) REQUIRE(blocking([&] { return sys().stop_server(id); }));
  REQUIRE(blocking([&] { return sys().stop_server(leader); }));
  // Answered when the leader stops, long before the caller's 30 s timeout, as "may or may
  // not be applied" (it is in the log): an error a caller would retry could apply it twice.
  REQUIRE(run_until([&] { return reply->has_value(); }, 1s));
  REQUIRE(**reply);
  CHECK((**reply)->failed);
  CHECK((**reply)->error.code == error_code::leadership_lost);
}
