// Observation: member_overview, the system overview, key_metrics.
// The async call is the implementation; the blocking one runs it (blocking_call.hpp).
// overview and key_metrics read the system and shared memory and exist in blocking form only.

#include <caf/all.hpp>
#include <nlohmann/json.hpp>

#include "ra/api.hpp"
#include "actors/api/blocking_call.hpp"
#include "actors/api/detail.hpp"
#include "ra/async_api.hpp"
#include "actors/overview_json.hpp"

namespace ra {

using namespace ra::actors;
using namespace ra::detail;

void detail::ask_overview(caf::event_based_actor* self, system& sys, const server_id& id, ms timeout,
                          callback<overview_result> then) {
  auto a = sys.lookup(id);
  if (!a) return then(not_running(id));
  self->request(a, timeout, overview_atom::value)
    .then([then](const overview_result& r) { then(r); }, [then, id](caf::error& e) { then(from_caf(e, id)); });
}

void async::member_overview(caf::event_based_actor* self, system& sys, const server_id& id, ms timeout,
                            callback<nlohmann::json> then) {
  ask_overview(self, sys, id, timeout, [then](result<overview_result> r) {
    if (!r) return then(std::move(r.error()));
    then(to_json(*r));
  });
}

result<nlohmann::json> member_overview(system& sys, const server_id& id, ms timeout) {
  return run_blocking<nlohmann::json>(async::member_overview, sys, timeout, id);
}

nlohmann::json overview(system& sys, ms timeout) { return sys.overview(timeout); }

result<key_metrics_snapshot> key_metrics(const server_id& id) {
  auto block = find_key_metrics(id.node, id.name);
  if (!block) return make_api_error(api_errc::noproc, id.to_string() + " never ran in this process");
  return block->read();
}

}  // namespace ra
