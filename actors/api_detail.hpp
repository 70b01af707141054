#pragma once
// Internal: what the blocking API (api.cpp) and the non-blocking one (async_api.cpp)
// share, so that both turn failures into the same api_errors and follow leaders by the
// same rule. Not part of the public API.

#include <chrono>
#include <functional>
#include <optional>
#include <cstdint>

#include <caf/error.hpp>
#include <caf/sec.hpp>
#include <nlohmann/json.hpp>

#include "actors/api.hpp"
#include "actors/result.hpp"
#include "libra/types.hpp"

namespace caf {
class scoped_actor;
class actor;
}  // namespace caf

namespace ra::detail {

/// How long a redirecting call waits before it asks again while no leader is known.
inline constexpr std::chrono::milliseconds redirect_retry_pause{20};

/// A failed CAF request to server `id`: a request timeout becomes api_errc::timeout,
/// anything else (the actor is gone, or went while the request waited) noproc.
inline api_error from_caf(const caf::error& e, const server_id& id) {
  if (e == caf::sec::request_timeout) return make_api_error(api_errc::timeout, "no answer from " + id.to_string());
  return make_api_error(api_errc::noproc, id.to_string() + " is not running");
}

/// Raft refused the request (not_leader with a hint, stopped, ...).
inline api_error from_command(const command_error& e) { return api_error{api_errc::command, e, {}}; }

/// What a call that follows leaders does after an attempt on `target` failed.
struct redirect_step {
  enum class kind : uint8_t {
    give_up,      ///< return the error to the caller
    retry_now,    ///< ask `next` at once (a not_leader hint naming another server)
    retry_later,  ///< ask `next` after redirect_retry_pause (no leader known yet)
  };
  kind what = kind::give_up;
  server_id next;
};

/// The redirect rule of every call that needs the leader: follow a not_leader hint that
/// names another server; with no usable hint wait and ask the same server again; if a
/// hinted server is not running, go back to the member the caller named (`original`);
/// retry the errors `retry_also_this` says are transient; give up on anything else.
inline redirect_step next_redirect_step(const api_error& err, const server_id& target, const server_id& original,
                                        bool retry_also_this) {
  using k = redirect_step::kind;
  if (err.is(error_code::not_leader)) {
    const auto& hint = err.command->leader;
    if (!hint.empty() && hint != target) return {k::retry_now, hint};
    return {k::retry_later, target};
  }
  if (err.code == api_errc::noproc && target != original) return {k::retry_later, original};
  if (retry_also_this) return {k::retry_later, target};
  return {k::give_up, target};
}

/// members_info's answer from the member list (`m`, from members()) and the leader's
/// member overview (`leader_view`: null if it could not be read; the indexes then stay 0).
/// The leader's peers entry gives each follower's replication state; for the leader itself
/// match_index is its last written index and next_index its last index + 1. Shared so that
/// the blocking and the async members_info read the overview the same way.
inline members_detail to_members_detail(const cluster_members& m, const nlohmann::json& leader_view) {
  members_detail out;
  out.leader = m.leader;
  const bool have_view = leader_view.is_object();
  const nlohmann::json* peers = nullptr;
  if (have_view) {
    auto it = leader_view.find("peers");
    if (it != leader_view.end() && it->is_object()) peers = &*it;
  }
  for (auto& mem : m.members) {
    member_info info{mem.id, mem.kind, mem.id == m.leader, index_t{0}, index_t{0}};
    if (info.is_leader && have_view) {
      info.match_index = index_t{leader_view.value("last_written_index", uint64_t{0})};
      info.next_index = index_t{leader_view.value("last_index", uint64_t{0}) + 1};
    } else if (peers) {
      auto it = peers->find(mem.id.to_string());
      if (it != peers->end() && it->is_object()) {
        info.match_index = index_t{it->value("match_index", uint64_t{0})};
        info.next_index = index_t{it->value("next_index", uint64_t{0})};
      }
    }
    out.members.push_back(std::move(info));
  }
  return out;
}

// -- the blocking API's leader-following loop (api.cpp) ----------------------------------------

/// One request to a server: nullopt on success, else the error.
using attempt_fn =
  std::function<std::optional<api_error>(caf::scoped_actor&, const caf::actor&, std::chrono::milliseconds left)>;

/// Runs `attempt` against `target`, following leaders by next_redirect_step (pausing
/// while no leader is known, or while `retry_also` says an error is transient) until
/// `timeout`. Blocks the calling thread.
status redirecting(system& sys, server_id target, std::chrono::milliseconds timeout, const attempt_fn& attempt,
                   const std::function<bool(const api_error&)>& retry_also = {});

}  // namespace ra::detail
