// Commands: process_command (with reply options), pipeline_command, aux_command.
// The async calls are the implementation; the blocking ones run them (blocking_call.hpp).

#include <memory>
#include <optional>

#include <caf/all.hpp>

#include "ra/api.hpp"
#include "actors/api/blocking_call.hpp"
#include "actors/api/detail.hpp"
#include "ra/async_api.hpp"

namespace ra {

namespace {

using namespace ra::actors;
using namespace ra::detail;

/// Asks server `id` (no redirect) for (wait_applied_atom, index): answered once it
/// applied the log up to `index`.
void wait_applied(caf::event_based_actor* self, system& sys, const server_id& id, index_t index, ms timeout,
                  callback<done> then) {
  auto a = sys.lookup(id);
  if (!a) return then(not_running(id));
  self->request(a, std::max(timeout, ms{1}), wait_applied_atom::value, index)
    .then([then](caf::ok_atom, index_t) { then(done{}); }, [then, id](caf::error& e) { then(from_caf(e, id)); });
}

/// An error if `command` is over the system's limit: refused here, before anything is
/// sent, so an oversized command costs no message and no log entry.
std::optional<api_error> oversized(const system& sys, const shared_bytes& command) {
  if (command.size() <= sys.max_command_bytes()) return std::nullopt;
  return make_api_error(api_errc::command_too_large, std::to_string(command.size()) + " bytes, the limit is " +
                                                         std::to_string(sys.max_command_bytes()));
}

/// The one-way pipelined command to server `id`, sent from `from` (or anonymously if null).
status send_pipelined(system& sys, const server_id& id, shared_bytes command, uint64_t correlation,
                      command_priority priority, const caf::actor& notify, caf::event_based_actor* from) {
  if (auto too_large = oversized(sys, command)) return std::move(*too_large);
  auto a = sys.lookup(id);
  if (!a) return not_running(id);
  // The arguments go to send as they are, not wrapped in a caf::message first: the
  // mailbox element then holds them in place (one allocation, matched without the
  // message's type-erased accessors), which is ~5 % of B's CPU per command.
  const auto prio = static_cast<uint8_t>(priority);
  if (from)
    from->send(a, pipeline_atom::value, std::move(command), correlation, prio, notify);
  else
    caf::anon_send(a, pipeline_atom::value, std::move(command), correlation, prio, notify);
  return done{};
}

}  // namespace

// -- async -----------------------------------------------------------------------------------

void async::process_command_raw(caf::event_based_actor* self, system& sys, const server_id& id, shared_bytes command,
                                ms timeout, callback<raw_reply> then) {
  process_command_raw(self, sys, id, std::move(command), command_options{}, timeout, std::move(then));
}

void async::process_command_raw(caf::event_based_actor* self, system& sys, const server_id& id, shared_bytes command,
                                const command_options& opts, ms timeout, callback<raw_reply> then) {
  if (opts.mode == reply_mode::notify)
    return then(make_api_error(api_errc::invalid_argument, "reply mode notify: use pipeline_command"));
  if (opts.from == reply_from::local && id.node != sys.name())
    return then(make_api_error(api_errc::invalid_argument, "reply_from local: " + id.to_string() + " is not on this node"));
  if (opts.from == reply_from::member && opts.reply_member.empty())
    return then(make_api_error(api_errc::invalid_argument, "reply_from member needs reply_member"));
  if (auto too_large = oversized(sys, command)) return then(std::move(*too_large));
  if (opts.mode == reply_mode::noreply) {
    auto a = sys.lookup(id);
    if (!a) return then(not_running(id));
    // anon_send, not self->send: the server keeps a response promise even for noreply
    // commands and fulfils it with an error when it stops, which must not land in the
    // caller's behaviour as an unexpected message.
    caf::anon_send(a, command_atom::value, std::move(command), static_cast<uint8_t>(reply_mode::noreply));
    return then(raw_reply{});
  }
  const auto deadline = self->clock().now() + timeout;
  auto out = std::make_shared<raw_reply>();
  const auto mode = static_cast<uint8_t>(opts.mode);
  auto attempt = [self, out, command, mode](const caf::actor& a, const server_id& to, ms left, attempt_done done) {
    auto keep = [out](const command_result& r) { *out = raw_reply{r.reply, r.leader, r.index, r.term}; };
    request_command(self, a, to, left, keep, done, command_atom::value, command, mode);
  };
  // The member whose application the caller waits for, if not (only) the leader's.
  std::optional<server_id> wait_for;
  if (opts.mode == reply_mode::await_consensus && opts.from != reply_from::leader)
    wait_for = opts.from == reply_from::local ? id : opts.reply_member;
  redirecting(self, sys, id, timeout, attempt, [self, sysp = &sys, out, wait_for, deadline, then](status st) {
    if (!st) return then(std::move(st.error()));
    if (!wait_for) return then(std::move(*out));
    wait_applied(self, *sysp, *wait_for, out->index, left_until(self, deadline), [out, then](status applied) {
      if (!applied) return then(std::move(applied.error()));
      then(std::move(*out));
    });
  });
}

status async::pipeline_command_raw(caf::event_based_actor* self, system& sys, const server_id& id,
                                   shared_bytes command, uint64_t correlation, command_priority priority) {
  return send_pipelined(sys, id, std::move(command), correlation, priority, caf::actor_cast<caf::actor>(self), self);
}

void async::aux_command_raw(caf::event_based_actor* self, system& sys, const server_id& id, shared_bytes command,
                            ms timeout, callback<shared_bytes> then) {
  auto a = sys.lookup(id);
  if (!a) return then(not_running(id));
  auto out = std::make_shared<shared_bytes>();
  request_command(
    self, a, id, timeout, [out](const command_result& r) { *out = r.reply; },
    [out, then](std::optional<api_error> err) {
      if (err) return then(std::move(*err));
      then(std::move(*out));
    },
    aux_atom::value, std::move(command));
}

// -- blocking --------------------------------------------------------------------------------

result<raw_reply> process_command_raw(system& sys, const server_id& id, shared_bytes command, ms timeout) {
  return process_command_raw(sys, id, std::move(command), command_options{}, timeout);
}

result<raw_reply> process_command_raw(system& sys, const server_id& id, shared_bytes command,
                                      const command_options& opts, ms timeout) {
  void (*with_options)(caf::event_based_actor*, system&, const server_id&, shared_bytes, const command_options&, ms,
                       callback<raw_reply>) = async::process_command_raw;
  return run_blocking<raw_reply>(with_options, sys, timeout, id, command, opts);
}

status pipeline_command_raw(system& sys, const server_id& id, shared_bytes command, uint64_t correlation,
                            const caf::actor& notify, command_priority priority) {
  return send_pipelined(sys, id, std::move(command), correlation, priority, notify, nullptr);
}

result<shared_bytes> aux_command_raw(system& sys, const server_id& id, shared_bytes command, ms timeout) {
  return run_blocking<shared_bytes>(async::aux_command_raw, sys, timeout, id, command);
}

}  // namespace ra
