// Server requests between nodes: running them (a node actor's helper) and sending them
// (the lifecycle API). See actors/node_admin.hpp.

#include "actors/node_admin.hpp"

#include <mutex>

#include <caf/all.hpp>

#include "actors/system_core.hpp"
#include "ra/key_metrics.hpp"
#include "wire/atoms.hpp"

namespace ra::detail {

using actors::node_server_request;
using actors::node_server_result;
using actors::server_op;

actors::node_server_result failed_result(const api_error& e) {
  node_server_result r;
  r.failed = true;
  r.code = static_cast<uint8_t>(e.code);
  r.message = e.message;
  return r;
}

result<key_metrics_snapshot> to_key_metrics(const node_server_result& r) {
  if (auto st = to_status(r); !st) return st.error();
  key_metrics_snapshot m;
  size_t i = 0;
  const size_t n = r.metrics.size();
  bool complete = true;
#define RA_KEY_METRICS_PULL(type, name, source, doc) \
  if (i < n) m.name = static_cast<type>(r.metrics[i++]); else complete = false;
  RA_KEY_METRICS_FIELDS(RA_KEY_METRICS_PULL)
#undef RA_KEY_METRICS_PULL
  if (!complete || i != n)
    return make_api_error(api_errc::bad_reply, "key metrics with " + std::to_string(n) + " values");
  m.running = r.running;
  return m;
}

status to_status(const node_server_result& r) {
  if (!r.failed) return done{};
  if (r.code > static_cast<uint8_t>(api_errc::command_too_large))
    return make_api_error(api_errc::bad_reply, "unknown error code " + std::to_string(r.code) + ": " + r.message);
  return make_api_error(static_cast<api_errc>(r.code), r.message);
}

node_server_result run_server_request(system& sys, system_core& core, const node_server_request& req) {
  // Held while the request runs: system::stop closes it first, so no server starts
  // behind the back of a stopping system.
  std::lock_guard lk{core.admin_mx};
  if (core.admin_closed) return failed_result(make_api_error(api_errc::noproc, "system " + core.name + " is stopping"));
  if (req.id.node != core.name)
    return failed_result(make_api_error(api_errc::invalid_argument, req.id.to_string() + " is not on node " + core.name));
  if (req.id.name.empty()) return failed_result(make_api_error(api_errc::invalid_argument, "a server needs a name"));
  status st = done{};
  switch (static_cast<server_op>(req.op)) {
    case server_op::start:
      st = sys.start_server(req.cluster_name, req.id, req.machine, req.members, req.machine_args);
      break;
    case server_op::restart:
      if (!sys.is_running(req.id.name)) st = sys.restart_server(req.id);
      break;
    case server_op::stop:
      st = sys.stop_server(req.id);
      break;
    case server_op::remove:
      st = sys.delete_server(req.id);
      break;
    case server_op::status:
      break;
    case server_op::metrics:
      if (auto block = find_key_metrics(core.name, req.id.name)) {
        auto m = block->read();
        node_server_result r;
#define RA_KEY_METRICS_PUSH(type, name, source, doc) r.metrics.push_back(static_cast<uint64_t>(m.name));
        RA_KEY_METRICS_FIELDS(RA_KEY_METRICS_PUSH)
#undef RA_KEY_METRICS_PUSH
        r.known = !sys.uid_of(req.id.name).empty();
        r.running = sys.is_running(req.id.name);
        return r;
      }
      st = make_api_error(api_errc::noproc, req.id.to_string() + " never ran on node " + core.name + " since it started");
      break;
    default:
      st = make_api_error(api_errc::invalid_argument, "unknown server operation " + std::to_string(req.op));
  }
  node_server_result r = st ? node_server_result{} : failed_result(st.error());
  r.known = !sys.uid_of(req.id.name).empty();
  r.running = sys.is_running(req.id.name);
  return r;
}

node_server_result server_request(system& sys, const node_server_request& req, std::chrono::milliseconds timeout) {
  auto core = find_system(sys.name());
  if (!core) return failed_result(make_api_error(api_errc::noproc, "system " + sys.name() + " is not running"));
  if (req.id.node == sys.name()) return run_server_request(sys, *core, req);
  caf::actor node;
  {
    std::lock_guard lk{core->remote_mx};
    node = core->remote.node_actor;
  }
  if (!node)
    return failed_result(make_api_error(api_errc::invalid_argument,
                                        req.id.to_string() + " is on another node and " + sys.name() +
                                          " is not distributed"));
  node_server_result out;
  caf::scoped_actor self{sys.actor_system()};
  self->request(node, timeout, actors::node_server_atom::value, req)
    .receive([&](node_server_result& r) { out = std::move(r); },
             [&](caf::error& e) {
               auto code = e == caf::sec::request_timeout ? api_errc::timeout : api_errc::noproc;
               out = failed_result(make_api_error(code, "node " + req.id.node + ": " + sys.actor_system().render(e)));
             });
  return out;
}

}  // namespace ra::detail
