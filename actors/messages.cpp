#include "actors/messages.hpp"

#include <caf/actor_system_config.hpp>

namespace ra::actors {

void announce_ra_types(caf::actor_system_config& cfg) {
  // Vocabulary and storage types used inside messages.
  cfg.add_message_type<server_id>("ra::server_id");
  cfg.add_message_type<index_t>("ra::index_t");
  cfg.add_message_type<term_t>("ra::term_t");
  cfg.add_message_type<member>("ra::member");
  cfg.add_message_type<std::vector<member>>("std::vector<ra::member>");
  cfg.add_message_type<cluster_config>("ra::cluster_config");
  cfg.add_message_type<shared_bytes>("ra::shared_bytes");
  cfg.add_message_type<log_entry>("ra::log_entry");
  cfg.add_message_type<std::vector<log_entry>>("std::vector<ra::log_entry>");
  cfg.add_message_type<snapshot_meta>("ra::snapshot_meta");
  cfg.add_message_type<command_error>("ra::command_error");
  // Peer RPCs.
  cfg.add_message_type<append_entries_rpc>("ra::append_entries_rpc");
  cfg.add_message_type<append_entries_reply>("ra::append_entries_reply");
  cfg.add_message_type<pre_vote_rpc>("ra::pre_vote_rpc");
  cfg.add_message_type<pre_vote_result>("ra::pre_vote_result");
  cfg.add_message_type<request_vote_rpc>("ra::request_vote_rpc");
  cfg.add_message_type<request_vote_result>("ra::request_vote_result");
  cfg.add_message_type<install_snapshot_rpc>("ra::install_snapshot_rpc");
  cfg.add_message_type<install_snapshot_result>("ra::install_snapshot_result");
  cfg.add_message_type<heartbeat_rpc>("ra::heartbeat_rpc");
  cfg.add_message_type<heartbeat_reply>("ra::heartbeat_reply");
  cfg.add_message_type<timeout_now_rpc>("ra::timeout_now_rpc");
  // Client replies.
  cfg.add_message_type<command_result>("ra::actors::command_result");
  cfg.add_message_type<members_result>("ra::actors::members_result");
  cfg.add_message_type<applied_batch>("ra::actors::applied_batch");
}

}  // namespace ra::actors
