#include "segments/segment_writer_actor.hpp"

#include <chrono>
#include <deque>
#include <set>

#include <caf/all.hpp>

namespace ra::storage {

namespace {

/// A WAL file waiting to be moved, and the servers whose entries an earlier attempt
/// already moved (a retry must not write their segments again).
struct queued_wal_file {
  rollover_info info;
  std::set<std::string> moved;
};

struct segment_writer_state {
  segment_writer_config config;
  std::deque<queued_wal_file> queue;  ///< files waiting, oldest first (order matters)
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
    auto& head = st.queue.front();
    auto res = flush_wal_file(fs, head.info, st.config.server_dir, st.config.segments, head.moved);
    if (st.config.on_flushed) st.config.on_flushed(res);
    for (auto& [uid, refs] : res.segments) {
      head.moved.insert(uid);
      if (st.config.notify && !refs.empty()) st.config.notify(uid, refs);
    }
    if (res.error) {
      // The file stays at the head: when it was already deleted (a failed directory
      // sync), the retry finds it gone and only syncs the directory again.
      if (st.config.on_error) st.config.on_error(head.info.path + ": " + *res.error);
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
      self->state.queue.push_back(queued_wal_file{std::move(info), {}});
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
