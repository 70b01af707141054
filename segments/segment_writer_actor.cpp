#include "segments/segment_writer_actor.hpp"

#include <chrono>
#include <deque>

#include <caf/all.hpp>

namespace ra::storage {

namespace {

struct segment_writer_state {
  segment_writer_config config;
  std::deque<rollover_info> queue;  ///< files waiting, oldest first (order matters)
  bool retry_scheduled = false;
  std::chrono::milliseconds backoff{50};
};

using segment_writer_actor = caf::stateful_actor<segment_writer_state>;

/// Moves queued files in order; stops at the first failure (later files may hold
/// overwrites of its entries, so they must not overtake it).
void drain(segment_writer_actor* self) {
  auto& st = self->state;
  auto& fs = st.config.fs ? *st.config.fs : file_system::posix();
  while (!st.queue.empty()) {
    auto res = flush_wal_file(fs, st.queue.front(), st.config.server_dir, st.config.segments);
    for (auto& [uid, refs] : res.segments)
      if (st.config.notify && !refs.empty()) st.config.notify(uid, refs);
    if (res.error) {
      if (st.config.on_error) st.config.on_error(st.queue.front().path + ": " + *res.error);
      if (!st.retry_scheduled) {
        st.retry_scheduled = true;
        self->delayed_send(self, st.backoff, seg_retry_atom::value);
        st.backoff = std::min(st.backoff * 2, std::chrono::milliseconds{5000});
      }
      return;
    }
    st.backoff = std::chrono::milliseconds{50};
    st.queue.pop_front();
  }
}

caf::behavior segment_writer(segment_writer_actor* self, segment_writer_config config) {
  self->state.config = std::move(config);
  return {
    [=](seg_flush_atom, rollover_info& info) {
      self->state.queue.push_back(std::move(info));
      if (!self->state.retry_scheduled) drain(self);
    },
    // How many WAL files still wait (a request answers after everything sent before it).
    [=](caf::get_atom) -> uint64_t { return self->state.queue.size(); },
    [=](seg_retry_atom) {
      self->state.retry_scheduled = false;
      drain(self);
    },
  };
}

}  // namespace

caf::actor spawn_segment_writer(caf::actor_system& sys, segment_writer_config config, bool detached) {
  if (!detached)
    return sys.spawn(segment_writer, std::move(config));
  return sys.spawn<caf::detached>(segment_writer, std::move(config));
}

void submit_rollover(const caf::actor& segment_writer, rollover_info info) {
  caf::anon_send(segment_writer, seg_flush_atom::value, std::move(info));
}

}  // namespace ra::storage
