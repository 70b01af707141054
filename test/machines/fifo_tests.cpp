// The fifo queue machine: deliveries as send_msg effects, credit, settle/return, consumer
// failure, release_cursor, snapshots.
#include <catch2/catch.hpp>

#include <memory>
#include <string>
#include <tuple>
#include <vector>

#include "ra/machines/fifo.hpp"

using namespace ra;
using namespace ra::machines;

namespace {

const pid alice{"n1", 11};
const pid bob{"n2", 22};

/// A delivery as the consumer would see it.
struct delivery {
  pid to;
  uint64_t id;
  std::string payload;
  bool operator==(const delivery&) const = default;
};

std::vector<delivery> deliveries(const effects& effs) {
  std::vector<delivery> out;
  for (auto& e : effs) {
    auto* shell = as_shell_effect(e);
    if (!shell)
      continue;
    auto* send = std::get_if<send_msg_effect>(shell);
    if (!send)
      continue;
    REQUIRE(send->msg.match_elements<fifo_delivery_atom, uint64_t, std::string>());
    out.push_back(delivery{send->to, send->msg.get_as<uint64_t>(1), send->msg.get_as<std::string>(2)});
  }
  return out;
}

template <class Effect>
std::vector<pid> targets(const effects& effs) {
  std::vector<pid> out;
  for (auto& e : effs)
    if (auto* shell = as_shell_effect(e))
      if (auto* x = std::get_if<Effect>(shell))
        out.push_back(x->target);
  return out;
}

std::vector<uint64_t> released(const effects& effs) {
  std::vector<uint64_t> out;
  for (auto& e : effs)
    if (auto* rc = std::get_if<release_cursor_effect>(&e))
      out.push_back(rc->index.value);
  return out;
}

struct fifo_driver {
  std::unique_ptr<machine> m = make_fifo_machine();
  uint64_t index = 0;
  effects last;  ///< effects of the last command

  template <class Cmd>
  uint64_t run(const Cmd& c) {
    auto out = m->apply(command_meta{index_t{++index}, term_t{1}, 0, 0}, encode_command<fifo_protocol>(c));
    last = std::move(out.effs);
    auto reply = decode_reply<Cmd>(out.reply);
    REQUIRE(reply);
    return *reply;
  }
  void down(const pid& who) {
    auto out = m->apply_builtin(command_meta{index_t{++index}, term_t{1}, 0, 0}, down_command{who, "killed"});
    last = std::move(out.effs);
  }
  void enqueue(std::initializer_list<std::string> payloads) {
    for (auto& p : payloads)
      run(fifo_enqueue{p});
  }
  const fifo_state& state() const { return machine_state<fifo_state>(*m); }
};

}  // namespace

TEST_CASE("checkout delivers exactly the credit, in order, to the consumer", "[fifo]") {
  fifo_driver q;
  CHECK(q.run(fifo_enqueue{"m1"}) == 1);
  CHECK(q.run(fifo_enqueue{"m2"}) == 2);
  q.enqueue({"m3", "m4"});
  CHECK(deliveries(q.last).empty());  // nobody to deliver to

  CHECK(q.run(fifo_checkout{alice, 3}) == 3);
  CHECK(deliveries(q.last) == std::vector<delivery>{{alice, 1, "m1"}, {alice, 2, "m2"}, {alice, 3, "m3"}});
  CHECK(targets<monitor_effect>(q.last) == std::vector<pid>{alice});
  CHECK(q.state().ready.size() == 1);
  CHECK(q.state().consumers.at(alice).unsettled.size() == 3);
}

TEST_CASE("a message enqueued while a consumer has credit is delivered at once", "[fifo]") {
  fifo_driver q;
  q.run(fifo_checkout{alice, 1});
  CHECK(deliveries(q.last).empty());
  q.run(fifo_enqueue{"hello"});
  CHECK(deliveries(q.last) == std::vector<delivery>{{alice, 1, "hello"}});
  q.run(fifo_enqueue{"later"});
  CHECK(deliveries(q.last).empty());  // credit used up
  // Checking out again changes the credit without a second monitor.
  CHECK(q.run(fifo_checkout{alice, 2}) == 1);
  CHECK(deliveries(q.last) == std::vector<delivery>{{alice, 2, "later"}});
  CHECK(targets<monitor_effect>(q.last).empty());
}

TEST_CASE("settling frees credit and delivers more", "[fifo]") {
  fifo_driver q;
  q.enqueue({"m1", "m2", "m3", "m4"});
  q.run(fifo_checkout{alice, 2});
  CHECK(q.run(fifo_settle{alice, {1, 99}}) == 1);  // 99 is unknown
  CHECK(deliveries(q.last) == std::vector<delivery>{{alice, 3, "m3"}});
  CHECK(q.run(fifo_settle{bob, {2}}) == 0);  // not bob's
  CHECK(deliveries(q.last).empty());
  CHECK(q.run(fifo_settle{alice, {2, 3}}) == 2);
  CHECK(deliveries(q.last) == std::vector<delivery>{{alice, 4, "m4"}});
  CHECK(q.state().ready.empty());
}

TEST_CASE("a returned message is redelivered before newer ones", "[fifo]") {
  fifo_driver q;
  q.enqueue({"m1", "m2", "m3"});
  q.run(fifo_checkout{alice, 1});
  CHECK(q.run(fifo_return{alice, {1}}) == 1);
  CHECK(deliveries(q.last) == std::vector<delivery>{{alice, 1, "m1"}});
}

TEST_CASE("a consumer that goes down gives its messages back to another consumer in order", "[fifo]") {
  fifo_driver q;
  q.enqueue({"m1", "m2", "m3"});
  q.run(fifo_checkout{alice, 2});
  CHECK(deliveries(q.last) == std::vector<delivery>{{alice, 1, "m1"}, {alice, 2, "m2"}});
  q.run(fifo_checkout{bob, 3});
  CHECK(deliveries(q.last) == std::vector<delivery>{{bob, 3, "m3"}});
  q.run(fifo_settle{bob, {3}});

  q.down(alice);
  CHECK(deliveries(q.last) == std::vector<delivery>{{bob, 1, "m1"}, {bob, 2, "m2"}});
  CHECK(q.state().consumers.count(alice) == 0);
  CHECK(q.state().service_order == std::vector<pid>{bob});
  // Down of a process that is not a consumer changes no queue or consumer.
  auto before = q.state();
  q.down(pid{"n9", 9});
  CHECK(deliveries(q.last).empty());
  CHECK(q.state().ready == before.ready);
  CHECK(q.state().consumers == before.consumers);
  CHECK(q.state().service_order == before.service_order);
}

TEST_CASE("consumers are served round robin", "[fifo]") {
  fifo_driver q;
  q.run(fifo_checkout{alice, 10});
  q.run(fifo_checkout{bob, 10});
  std::vector<delivery> all;
  for (auto p : {"a", "b", "c", "d"}) {
    q.run(fifo_enqueue{p});
    auto d = deliveries(q.last);
    all.insert(all.end(), d.begin(), d.end());
  }
  CHECK(all == std::vector<delivery>{{alice, 1, "a"}, {bob, 2, "b"}, {alice, 3, "c"}, {bob, 4, "d"}});
}

TEST_CASE("cancel returns the consumer's messages and demonitors it", "[fifo]") {
  fifo_driver q;
  q.enqueue({"m1", "m2"});
  q.run(fifo_checkout{alice, 5});
  CHECK(q.run(fifo_cancel{alice}) == 2);
  CHECK(targets<demonitor_effect>(q.last) == std::vector<pid>{alice});
  CHECK(q.state().ready.size() == 2);
  CHECK(q.state().consumers.empty());
  CHECK(q.run(fifo_cancel{alice}) == 0);
  CHECK(targets<demonitor_effect>(q.last).empty());
}

TEST_CASE("the fifo releases the log when the queue drains", "[fifo]") {
  fifo_driver q;
  q.run(fifo_checkout{alice, 5});
  CHECK(released(q.last) == std::vector<uint64_t>{1});  // empty queue
  q.enqueue({"m1", "m2"});
  CHECK(released(q.last).empty());
  q.run(fifo_settle{alice, {1}});
  CHECK(released(q.last).empty());  // m2 still unsettled
  q.run(fifo_settle{alice, {2}});
  CHECK(released(q.last) == std::vector<uint64_t>{q.index});
}

TEST_CASE("the fifo can also release every N commands", "[fifo]") {
  auto m = make_fifo_machine(fifo_options{2});
  std::vector<uint64_t> at;
  for (uint64_t i = 1; i <= 5; ++i) {
    auto out = m->apply(command_meta{index_t{i}, term_t{1}, 0, 0}, encode_command<fifo_protocol>(fifo_enqueue{"x"}));
    auto r = released(out.effs);
    at.insert(at.end(), r.begin(), r.end());
  }
  CHECK(at == std::vector<uint64_t>{2, 4});
}

TEST_CASE("a new fifo leader re-monitors every consumer", "[fifo]") {
  fifo_driver q;
  q.run(fifo_checkout{bob, 1});
  q.run(fifo_checkout{alice, 1});
  CHECK(q.m->state_enter(role::follower).empty());
  CHECK(targets<monitor_effect>(q.m->state_enter(role::leader)) == std::vector<pid>{alice, bob});
}

TEST_CASE("fifo snapshot and restore round trip", "[fifo][snapshot]") {
  fifo_driver q;
  q.enqueue({"m1", "m2", "m3"});
  q.run(fifo_checkout{alice, 1});
  q.run(fifo_checkout{bob, 1});
  auto snap = q.m->snapshot();

  fifo_driver other;
  REQUIRE(other.m->restore(snap));
  CHECK(other.state() == q.state());
  CHECK(other.m->overview() == nlohmann::json{{"ready", 1}, {"unsettled", 2}, {"consumers", 2}});
  // The restored queue carries on identically: ids continue, alice is served next.
  other.index = q.index;
  other.run(fifo_settle{alice, {1}});
  CHECK(deliveries(other.last) == std::vector<delivery>{{alice, 3, "m3"}});
  CHECK(other.run(fifo_enqueue{"m4"}) == 4);
}
