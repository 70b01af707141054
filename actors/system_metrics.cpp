// ra::system::metrics() (ra/system_metrics.hpp): the published counters of the WAL, the
// segment writer and every running server, read without messaging any actor.

#include "actors/system_core.hpp"
#include "ra/system.hpp"
#include "wal/wal_writer.hpp"

namespace ra {

system_metrics system::metrics() const {
  system_metrics out;
  out.system = core_->name;
  if (core_->wal_metrics) out.wal = core_->wal_metrics->read();
  constexpr auto o = std::memory_order_relaxed;
  out.segments.flushes = core_->segment_metrics.flushes.load(o);
  out.segments.failed_flushes = core_->segment_metrics.failed_flushes.load(o);
  out.segments.segments_written = core_->segment_metrics.segments_written.load(o);
  {
    std::lock_guard lk{core_->mx};
    out.servers.reserve(core_->directory.size());
    for (const auto& [name, entry] : core_->directory)
      if (entry.actor) out.servers.push_back(server_metrics_row{entry.cluster, name, {}});
  }
  // Both are ordered by name: one merge pass. A server whose block is missing (started
  // a moment ago) or says it is not running (stopping) is left out.
  auto row = out.servers.begin();
  size_t kept = 0;
  detail::visit_key_metrics(core_->name, [&](const std::string& name, const detail::key_metrics_block& block) {
    while (row != out.servers.end() && row->server < name) ++row;
    if (row == out.servers.end() || row->server != name) return;
    row->values = block.read();
    if (row->values.running) {
      auto& slot = out.servers[kept++];
      if (&slot != &*row) slot = std::move(*row);
    }
    ++row;
  });
  out.servers.resize(kept);
  return out;
}

}  // namespace ra
