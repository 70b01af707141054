#pragma once
// The list of ra's types announced to CAF (with their wire names), and
// announce_ra_types(), which registers them. A type sent between processes must be
// announced on every node, under the same name: CAF 0.17 otherwise sends the message as
// an empty one (see docs/caf-0.17-primer.md, §3).
//
// for_each_announced_type is the one list: announce_ra_types() registers exactly these
// types, and test/wire/wire_tests.cpp round-trips each of them through CAF's binary
// serializer (a type added here without a sample value there does not compile).

#include <vector>

#include <caf/fwd.hpp>

#include "wire/inspect.hpp"
#include "wire/replies.hpp"

namespace ra::wire {

template <class T>
struct type_tag {
  using type = T;
};

/// Calls f(type_tag<T>{}, name) for every announced type T, in a fixed order.
template <class F>
void for_each_announced_type(F&& f) {
  // Vocabulary and storage types used inside messages.
  f(type_tag<server_id>{}, "ra::server_id");
  f(type_tag<index_t>{}, "ra::index_t");
  f(type_tag<term_t>{}, "ra::term_t");
  f(type_tag<member>{}, "ra::member");
  f(type_tag<std::vector<member>>{}, "std::vector<ra::member>");
  f(type_tag<cluster_config>{}, "ra::cluster_config");
  f(type_tag<shared_bytes>{}, "ra::shared_bytes");
  f(type_tag<log_entry>{}, "ra::log_entry");
  f(type_tag<std::vector<log_entry>>{}, "std::vector<ra::log_entry>");
  f(type_tag<snapshot_meta>{}, "ra::snapshot_meta");
  f(type_tag<command_error>{}, "ra::command_error");
  // Peer RPCs.
  f(type_tag<append_entries_rpc>{}, "ra::append_entries_rpc");
  f(type_tag<append_entries_reply>{}, "ra::append_entries_reply");
  f(type_tag<pre_vote_rpc>{}, "ra::pre_vote_rpc");
  f(type_tag<pre_vote_result>{}, "ra::pre_vote_result");
  f(type_tag<request_vote_rpc>{}, "ra::request_vote_rpc");
  f(type_tag<request_vote_result>{}, "ra::request_vote_result");
  f(type_tag<install_snapshot_rpc>{}, "ra::install_snapshot_rpc");
  f(type_tag<install_snapshot_result>{}, "ra::install_snapshot_result");
  f(type_tag<heartbeat_rpc>{}, "ra::heartbeat_rpc");
  f(type_tag<heartbeat_reply>{}, "ra::heartbeat_reply");
  f(type_tag<timeout_now_rpc>{}, "ra::timeout_now_rpc");
  // Client replies.
  f(type_tag<actors::command_result>{}, "ra::actors::command_result");
  f(type_tag<actors::named_query_result>{}, "ra::actors::named_query_result");
  f(type_tag<actors::members_result>{}, "ra::actors::members_result");
  f(type_tag<actors::overview_result>{}, "ra::actors::overview_result");
  f(type_tag<actors::applied_batch>{}, "ra::actors::applied_batch");
  // Node administration (actors/node_admin.hpp).
  f(type_tag<actors::node_server_request>{}, "ra::actors::node_server_request");
  f(type_tag<actors::node_server_result>{}, "ra::actors::node_server_result");
}

}  // namespace ra::wire

namespace ra::actors {

/// Registers every type of wire::for_each_announced_type with CAF. Call before
/// constructing the actor_system (on every node).
void announce_ra_types(caf::actor_system_config& cfg);

}  // namespace ra::actors
