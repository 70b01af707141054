#pragma once
// A small quorum queue (Ra's ra_fifo, much simplified), written as a behaviour machine.
// Producers enqueue messages; consumers check out with a prefetch credit (how many
// unsettled messages they may hold) and receive deliveries as CAF messages
//
//   (fifo_delivery_atom, uint64_t message_id, std::string payload)
//
// sent by the leader to the consumer's pid (send_msg effects). A consumer settles
// (acknowledges) or returns messages by id. When a consumer process goes down (the
// machine monitors it on checkout), its unsettled messages go back to the front of the
// queue and are delivered to the other consumers.
//
//   auto m = ra::machines::make_fifo_machine();
//   using ra::machines::fifo_protocol;
//   auto enq = ra::encode_command<fifo_protocol>(ra::machines::fifo_enqueue{"hello"});
//   auto co  = ra::encode_command<fifo_protocol>(ra::machines::fifo_checkout{my_pid, 10});
//   // in the consumer actor:
//   [=](ra::machines::fifo_delivery_atom, uint64_t id, const std::string& payload) {
//     ... submit fifo_settle{my_pid, {id}} ...
//   }
//
// Commands (all replies are uint64_t):
//   fifo_enqueue{payload}             -> the message id
//   fifo_checkout{consumer, credit}   -> messages delivered to it by this command;
//                                        checking out again changes the credit
//   fifo_settle{consumer, ids}        -> ids settled (unknown ids are ignored)
//   fifo_return{consumer, ids}        -> ids returned to the queue (redelivered)
//   fifo_cancel{consumer}             -> messages returned; the consumer is removed
//   down_command{consumer, reason}    (built-in) same as cancel
//
// Delivery is deterministic: messages in id order (returned ones keep their id, so they
// go back to the front), consumers served round robin in the order they checked out.
// Every message lives in the state, so a snapshot at any index is complete; the machine
// emits release_cursor whenever the queue drains (nothing ready, nothing unsettled) and,
// if configured, every `release_every` commands.

#include <algorithm>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include <caf/atom.hpp>
#include <caf/make_message.hpp>

#include "ra/behaviour_machine.hpp"
#include "ra/effects.hpp"

namespace ra::machines {

/// First element of every delivery message.
using fifo_delivery_atom = caf::atom_constant<caf::atom("fifo_msg")>;

// -- commands ---------------------------------------------------------------------------

/// Appends a message to the queue.
struct fifo_enqueue {
  using reply_type = uint64_t;  ///< the message id
  std::string payload;          ///< the message
};
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, fifo_enqueue& x) {
  return f(x.payload);
}

/// Registers `consumer` (or changes its credit); it is monitored and sent deliveries.
struct fifo_checkout {
  using reply_type = uint64_t;  ///< messages delivered to it by this command
  ra::pid consumer;             ///< the consumer process
  uint32_t credit = 0;  ///< unsettled messages the consumer may hold
};
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, fifo_checkout& x) {
  return f(x.consumer, x.credit);
}

/// Acknowledges delivered messages: they leave the queue.
struct fifo_settle {
  using reply_type = uint64_t;  ///< ids settled (unknown ids are ignored)
  ra::pid consumer;             ///< the consumer they were delivered to
  std::vector<uint64_t> ids;    ///< their ids
};
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, fifo_settle& x) {
  return f(x.consumer, x.ids);
}

/// Gives delivered messages back: they are delivered again (to any consumer).
struct fifo_return {
  using reply_type = uint64_t;  ///< ids returned to the queue
  ra::pid consumer;             ///< the consumer they were delivered to
  std::vector<uint64_t> ids;    ///< their ids
};
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, fifo_return& x) {
  return f(x.consumer, x.ids);
}

/// Removes `consumer`; its unsettled messages go back to the queue.
struct fifo_cancel {
  using reply_type = uint64_t;  ///< messages returned
  ra::pid consumer;             ///< the consumer
};
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, fifo_cancel& x) {
  return f(x.consumer);
}

/// Wire contract: append new commands at the end only (the tag is the position).
using fifo_protocol = ra::protocol<fifo_enqueue, fifo_checkout, fifo_settle, fifo_return, fifo_cancel>;

// -- state ------------------------------------------------------------------------------

/// A checked-out consumer in the fifo state.
struct fifo_consumer {
  uint32_t credit = 0;  ///< unsettled messages it may hold
  std::map<uint64_t, std::string> unsettled;  ///< delivered, not yet settled, by id
  /// Field by field.
  friend bool operator==(const fifo_consumer&, const fifo_consumer&) = default;
};
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, fifo_consumer& x) {
  return f(x.credit, x.unsettled);
}

/// The fifo machine's state: every message, ready or delivered, and the consumers.
struct fifo_state {
  uint64_t next_id = 1;  ///< the id of the next enqueued message
  std::map<uint64_t, std::string> ready;  ///< waiting for delivery, oldest id first
  std::map<ra::pid, fifo_consumer> consumers;  ///< the checked-out consumers
  std::vector<ra::pid> service_order;     ///< round robin: the front is served next
  uint64_t applied_since_release = 0;     ///< commands since the last release_cursor
  /// Field by field.
  friend bool operator==(const fifo_state&, const fifo_state&) = default;

  /// True if no message is ready or unsettled.
  bool drained() const {
    return ready.empty() &&
           std::all_of(consumers.begin(), consumers.end(), [](auto& c) { return c.second.unsettled.empty(); });
  }
};
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, fifo_state& x) {
  return f(x.next_id, x.ready, x.consumers, x.service_order, x.applied_since_release);
}

/// Settings of a fifo machine.
struct fifo_options {
  /// Also emit release_cursor every this many commands while the queue is not empty
  /// (0: only when it drains). The snapshot then holds every queued payload.
  uint64_t release_every = 0;
};

namespace fifo_detail {

/// Hands ready messages to consumers with credit, round robin, oldest message first.
inline void deliver(fifo_state& s, ra::effects& out) {
  while (!s.ready.empty()) {
    auto next = std::find_if(s.service_order.begin(), s.service_order.end(), [&](const ra::pid& p) {
      auto& c = s.consumers.at(p);
      return c.unsettled.size() < c.credit;
    });
    if (next == s.service_order.end())
      return;
    ra::pid who = *next;
    s.service_order.erase(next);
    s.service_order.push_back(who);
    auto message = s.ready.extract(s.ready.begin());
    out.push_back(ra::effect::send_msg(who, caf::make_message(fifo_delivery_atom::value, message.key(), message.mapped())));
    s.consumers.at(who).unsettled.insert(std::move(message));
  }
}

/// Removes a consumer; its unsettled messages go back to the queue. Returns how many.
inline uint64_t remove_consumer(fifo_state& s, const ra::pid& who) {
  auto it = s.consumers.find(who);
  if (it == s.consumers.end())
    return 0;
  uint64_t returned = it->second.unsettled.size();
  s.ready.merge(it->second.unsettled);
  s.consumers.erase(it);
  std::erase(s.service_order, who);
  return returned;
}

/// Delivers what can be delivered, then counts the command and adds release_cursor when
/// everything before this index is no longer needed.
inline ra::effects finish(const fifo_options& opts, const ra::command_meta& meta, fifo_state& s,
                          ra::effects effs = {}) {
  deliver(s, effs);
  ++s.applied_since_release;
  if (s.drained() || (opts.release_every != 0 && s.applied_since_release >= opts.release_every)) {
    s.applied_since_release = 0;
    effs.push_back(ra::effect::release_cursor(meta.index));
  }
  return effs;
}

/// Moves the consumer's messages `ids` from unsettled to `to` (or drops them when `to`
/// is null). Returns how many were found.
inline uint64_t take_unsettled(fifo_state& s, const ra::pid& who, const std::vector<uint64_t>& ids,
                               std::map<uint64_t, std::string>* to) {
  auto it = s.consumers.find(who);
  if (it == s.consumers.end())
    return 0;
  uint64_t found = 0;
  for (auto id : ids) {
    auto node = it->second.unsettled.extract(id);
    if (node.empty())
      continue;
    ++found;
    if (to)
      to->insert(std::move(node));
  }
  return found;
}

}  // namespace fifo_detail

/// The fifo handlers (version 0). Exposed so a later version can start from them.
inline ra::behaviour<fifo_protocol, fifo_state> fifo_behaviour(fifo_options opts = {}) {
  using namespace fifo_detail;
  using ra::command_meta;
  return ra::behaviour<fifo_protocol, fifo_state>{
    [=](const command_meta& meta, const fifo_enqueue& c, fifo_state& s) -> ra::handled<uint64_t> {
      uint64_t id = s.next_id++;
      s.ready.emplace(id, c.payload);
      return {id, finish(opts, meta, s)};
    },
    [=](const command_meta& meta, const fifo_checkout& c, fifo_state& s) -> ra::handled<uint64_t> {
      ra::effects effs;
      auto [it, is_new] = s.consumers.try_emplace(c.consumer);
      it->second.credit = c.credit;
      if (is_new) {
        s.service_order.push_back(c.consumer);
        effs.push_back(ra::effect::monitor(c.consumer));  // its down_command returns its messages
      }
      auto before = it->second.unsettled.size();
      effs = finish(opts, meta, s, std::move(effs));
      return {s.consumers.at(c.consumer).unsettled.size() - before, std::move(effs)};
    },
    [=](const command_meta& meta, const fifo_settle& c, fifo_state& s) -> ra::handled<uint64_t> {
      auto settled = take_unsettled(s, c.consumer, c.ids, nullptr);
      return {settled, finish(opts, meta, s)};
    },
    [=](const command_meta& meta, const fifo_return& c, fifo_state& s) -> ra::handled<uint64_t> {
      auto returned = take_unsettled(s, c.consumer, c.ids, &s.ready);
      return {returned, finish(opts, meta, s)};
    },
    [=](const command_meta& meta, const fifo_cancel& c, fifo_state& s) -> ra::handled<uint64_t> {
      bool known = s.consumers.count(c.consumer) != 0;
      auto returned = remove_consumer(s, c.consumer);
      ra::effects effs;
      if (known)
        effs.push_back(ra::effect::demonitor(c.consumer));
      return {returned, finish(opts, meta, s, std::move(effs))};
    },
    [=](const command_meta& meta, const ra::down_command& c, fifo_state& s) -> ra::effects {
      remove_consumer(s, c.who);
      return finish(opts, meta, s);
    },
    // Monitors belong to the leader process and die with it: a new leader re-monitors.
    [](ra::role r, const fifo_state& s) {
      ra::effects effs;
      if (r == ra::role::leader)
        for (auto& [who, consumer] : s.consumers)
          effs.push_back(ra::effect::monitor(who));
      return effs;
    },
    [](const fifo_state& s) {
      uint64_t unsettled = 0;
      for (auto& [who, consumer] : s.consumers)
        unsettled += consumer.unsettled.size();
      return nlohmann::json{{"ready", s.ready.size()}, {"unsettled", unsettled}, {"consumers", s.consumers.size()}};
    },
  };
}

/// Named queries (callable from any node, ra/named_query.hpp):
///   "ready"     () -> uint64_t   messages waiting for a consumer
///   "consumers" () -> uint64_t   consumers checked out
inline ra::query_table<fifo_state> fifo_queries() {
  ra::query_table<fifo_state> t;
  t.add("ready", [](const fifo_state& s) { return static_cast<uint64_t>(s.ready.size()); });
  t.add("consumers", [](const fifo_state& s) { return static_cast<uint64_t>(s.consumers.size()); });
  return t;
}

/// A fifo machine (empty queue) with its handlers and named queries.
inline std::unique_ptr<ra::machine> make_fifo_machine(fifo_options opts = {}) {
  return ra::make_behaviour_machine<fifo_protocol>(fifo_state{}, {fifo_behaviour(opts)}, fifo_queries());
}

}  // namespace ra::machines
