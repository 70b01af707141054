#include "ra/types.hpp"

#include "libra/actions.hpp"

namespace ra {

const char* to_string(membership m) {
  switch (m) {
    case membership::voter: return "voter";
    case membership::promotable: return "promotable";
    case membership::non_voter: return "non_voter";
  }
  return "?";
}

const char* to_string(role r) {
  switch (r) {
    case role::follower: return "follower";
    case role::pre_vote: return "pre_vote";
    case role::candidate: return "candidate";
    case role::leader: return "leader";
    case role::await_condition: return "await_condition";
    case role::receive_snapshot: return "receive_snapshot";
    case role::stopped: return "stopped";
  }
  return "?";
}

const char* to_string(error_code e) {
  switch (e) {
    case error_code::not_leader: return "not_leader";
    case error_code::cluster_change_not_permitted: return "cluster_change_not_permitted";
    case error_code::leadership_lost: return "leadership_lost";
    case error_code::already_leader: return "already_leader";
    case error_code::already_member: return "already_member";
    case error_code::unknown_member: return "unknown_member";
    case error_code::non_voter: return "non_voter";
    case error_code::not_up_to_date: return "not_up_to_date";
    case error_code::invalid_argument: return "invalid_argument";
    case error_code::stopped: return "stopped";
    case error_code::storage_unavailable: return "storage_unavailable";
    case error_code::command_too_large: return "command_too_large";
    case error_code::bad_command: return "bad_command";
    case error_code::apply_failed: return "apply_failed";
  }
  return "?";
}

const char* to_string(timer_kind k) {
  switch (k) {
    case timer_kind::election: return "election";
    case timer_kind::tick: return "tick";
    case timer_kind::await_condition: return "await_condition";
    case timer_kind::receive_snapshot: return "receive_snapshot";
  }
  return "?";
}

const char* message_name(const peer_message& m) {
  static constexpr const char* names[] = {
    "append_entries_rpc", "append_entries_reply", "pre_vote_rpc", "pre_vote_result",
    "request_vote_rpc", "request_vote_result", "install_snapshot_rpc",
    "install_snapshot_result", "heartbeat_rpc", "heartbeat_reply", "timeout_now_rpc"};
  static_assert(std::size(names) == std::variant_size_v<peer_message>);
  return names[m.index()];
}

}  // namespace ra
