// Queries: local, leader and consistent (the typed forms are templates in the headers).
// The async call is the implementation; the blocking one runs it (blocking_call.hpp).

#include <memory>

#include <caf/all.hpp>

#include "ra/api.hpp"
#include "actors/api/blocking_call.hpp"
#include "actors/api/detail.hpp"
#include "ra/async_api.hpp"

namespace ra {

using namespace ra::actors;
using namespace ra::detail;

namespace {
/// The end of a query call: its error, or the reply the successful attempt left in `out`.
template <class Reply>
auto deliver(std::shared_ptr<Reply> out, callback<Reply> then) {
  return [out = std::move(out), then = std::move(then)](status st) {
    if (!st) return then(std::move(st.error()));
    then(std::move(*out));
  };
}
}  // namespace

void async::query_raw(caf::event_based_actor* self, system& sys, const server_id& id, query_kind kind, query_fn fn,
                      ms timeout, callback<query_reply<std::any>> then) {
  auto out = std::make_shared<query_reply<std::any>>();
  auto attempt = [self, out, kind, fn](const caf::actor& a, const server_id& to, ms left, attempt_done done) {
    // A query carries a function: it cannot be serialised to another process.
    if (a.node() != self->node())
      return done(make_api_error(api_errc::invalid_argument,
                                 "queries run in the caller's process: the server (or its leader) is on another node"));
    self->request(a, left, query_atom::value, query_msg{kind, fn})
      .then(
        [out, done](const query_result& r) {
          if (r.failed) return done(from_command(r.error));
          *out = query_reply<std::any>{r.value, r.leader};
          done(std::nullopt);
        },
        [done, to](caf::error& e) { done(from_caf(e, to)); });
  };
  auto finished = deliver(out, then);
  if (kind != query_kind::local) return redirecting(self, sys, id, timeout, attempt, finished, {}, on_server_loss::retry);
  // A local query reads this very server: no redirect, no retry.
  auto a = sys.lookup(id);
  if (!a) return then(not_running(id));
  attempt(a, id, timeout, [finished](std::optional<api_error> err) {
    if (err) return finished(std::move(*err));
    finished(done{});
  });
}

void async::named_query_raw(caf::event_based_actor* self, system& sys, const server_id& id, query_kind kind,
                            const std::string& name, shared_bytes arg, ms timeout,
                            callback<query_reply<shared_bytes>> then) {
  auto out = std::make_shared<query_reply<shared_bytes>>();
  // Name and argument are plain data: unlike a query function they go to any node.
  auto attempt = [self, out, kind, name, arg](const caf::actor& a, const server_id& to, ms left, attempt_done done) {
    self->request(a, left, named_query_atom::value, static_cast<uint8_t>(kind), name, arg)
      .then(
        [out, done, name](const named_query_result& r) {
          // The query itself failed (no such name, an argument that does not decode, a
          // throwing query): the caller's mistake, not Raft's refusal.
          if (r.failed && r.error.code == error_code::invalid_argument)
            return done(make_api_error(api_errc::invalid_argument,
                                       "query " + name + ": no such query, or its argument does not decode"));
          if (r.failed) return done(from_command(r.error));
          *out = query_reply<shared_bytes>{r.value, r.leader};
          done(std::nullopt);
        },
        [done, to](caf::error& e) { done(from_caf(e, to)); });
  };
  auto finished = deliver(out, then);
  // Local queries too: no server answers one with not_leader, and the redirecting call
  // waits for the proxy of a server on another node that was not looked up yet.
  redirecting(self, sys, id, timeout, attempt, finished, {}, on_server_loss::retry);
}

result<query_reply<shared_bytes>> named_query_raw(system& sys, const server_id& id, query_kind kind,
                                                  const std::string& name, shared_bytes arg, ms timeout) {
  return run_blocking<query_reply<shared_bytes>>(async::named_query_raw, sys, timeout, id, kind, name, arg);
}

result<query_reply<std::any>> query_raw(system& sys, const server_id& id, query_kind kind, query_fn fn, ms timeout) {
  return run_blocking<query_reply<std::any>>(async::query_raw, sys, timeout, id, kind, fn);
}

}  // namespace ra
