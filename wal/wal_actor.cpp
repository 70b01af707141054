// The CAF shell around wal_writer (see wal_actor.hpp for the protocol).

#include "wal/wal_actor.hpp"

#include <algorithm>
#include <chrono>
#include <exception>
#include <string>
#include <unordered_map>

#include <caf/all.hpp>

namespace ra::storage {
namespace {

using namespace std::chrono_literals;

constexpr std::chrono::milliseconds first_retry_delay = 10ms;
constexpr std::chrono::milliseconds max_retry_delay = 1000ms;

struct wal_actor_state {
  std::unique_ptr<wal_writer> writer;
  /// Whom to tell about each writer with entries in the pending batch.
  std::unordered_map<std::string, caf::actor> notify;
  bool flush_scheduled = false;
  /// Group commit: a window is open (a timer runs) for the current batch. The timer
  /// carries the generation it was armed for, so one that fires after its batch was
  /// flushed for another reason is ignored.
  std::chrono::microseconds window{0};  ///< wal_group_commit_window, or 0 (see spawn_wal)
  bool window_open = false;
  uint64_t window_generation = 0;
  std::chrono::milliseconds retry_delay = first_retry_delay;
};

using wal_actor = caf::stateful_actor<wal_actor_state>;

void schedule_flush(wal_actor* self) {
  if (self->state.flush_scheduled)
    return;
  self->state.flush_scheduled = true;
  self->send(self, wal_flush_atom::value);
}

void flush_now(wal_actor* self) {
  auto& st = self->state;
  if (st.window_open) {  // this flush ends the batch the window was waiting for
    st.window_open = false;
    ++st.window_generation;
  }
  flush_result result = st.writer->flush();
  if (result.ok()) {
    st.retry_delay = first_retry_delay;
    for (auto& w : result.written) {
      if (auto it = st.notify.find(w.writer); it != st.notify.end())
        self->send(it->second, wal_written_atom::value, w.writer, w.index, w.term);
    }
    st.notify.clear();
    return;
  }
  const std::string message = result.error->message();
  for (const auto& writer : result.failed_writers) {
    if (auto it = st.notify.find(writer); it != st.notify.end())
      self->send(it->second, wal_error_atom::value, writer, message);
  }
  // The writer keeps the batch; retry later even if no append arrives to trigger it.
  if (!st.flush_scheduled) {
    st.flush_scheduled = true;
    self->delayed_send(self, st.retry_delay, wal_flush_atom::value);
    st.retry_delay = std::min(st.retry_delay * 2, max_retry_delay);
  }
}

void append(wal_actor* self, const std::string& uid, const caf::actor& notify,
            const std::vector<log_entry>& entries, bool starts_new_log) {
  auto& st = self->state;
  queue_result queued;
  try {
    queued = st.writer->queue(uid, entries, starts_new_log);
  } catch (const std::exception& e) {  // a caller bug (non-contiguous entries, bad uid)
    self->send(notify, wal_error_atom::value, uid, std::string(e.what()));
    return;
  }
  switch (queued.status) {
    case queue_status::queued:
      if (!entries.empty())
        st.notify[uid] = notify;
      if (st.writer->batch_full())
        flush_now(self);
      else if (st.window_open && st.writer->pending_writers() > 1)
        schedule_flush(self);  // the window got what it waited for: sync after the queued appends
      else if (st.writer->pending_entries() > 0 && !st.window_open)
        schedule_flush(self);
      break;
    case queue_status::resend:
      self->send(notify, wal_resend_atom::value, uid, queued.resend_from);
      break;
    case queue_status::dropped:
      break;
  }
}

/// Hands a move-only writer through spawn, whose arguments must be copyable: the
/// actor takes the writer out of the box, leaving it empty.
using writer_box = std::shared_ptr<std::unique_ptr<wal_writer>>;

caf::behavior wal_behavior(wal_actor* self, writer_box box, bool detached) {
  self->state.writer = std::move(*box);
  // Under CAF's deterministic test scheduler (not detached) simulated time moves only
  // when a test advances it: a window would stall every ack until then, so it is off.
  if (detached)
    self->state.window = self->state.writer->config().wal_group_commit_window;
  self->set_exit_handler([self](caf::exit_msg& msg) {
    auto& st = self->state;
    if (st.writer) {
      flush_now(self);  // best effort: what is queued gets its one chance
      st.writer.reset();  // closes the file now, not when the actor object goes
    }
    st.notify.clear();
    self->quit(msg.reason);
  });
  return {
    [self](wal_append_atom, const std::string& uid, const caf::actor& notify,
           const std::vector<log_entry>& entries) {
      append(self, uid, notify, entries, false);
    },
    [self](wal_append_atom, const std::string& uid, const caf::actor& notify,
           const std::vector<log_entry>& entries, bool starts_new_log) {
      append(self, uid, notify, entries, starts_new_log);
    },
    [self](wal_flush_atom) {
      auto& st = self->state;
      st.flush_scheduled = false;
      if (st.writer->pending_entries() == 0)
        return;
      // Every append sent before this marker is in the batch now. If they all come from
      // one writer, give the other members of its cluster (sharing this WAL) a moment to
      // join the same sync. Nothing is acknowledged meanwhile: acks follow flush_now only.
      if (st.window.count() > 0 && !st.window_open && st.writer->pending_writers() == 1) {
        st.window_open = true;
        self->delayed_send(self, st.window, wal_window_atom::value, st.window_generation);
        return;
      }
      flush_now(self);
    },
    [self](wal_window_atom, uint64_t generation) {
      auto& st = self->state;
      if (!st.window_open || generation != st.window_generation)
        return;  // its batch was flushed already
      flush_now(self);
    },
    [self](wal_stats_atom) { return self->state.writer->stats(); },
  };
}

}  // namespace

caf::actor spawn_wal(caf::actor_system& sys, std::unique_ptr<wal_writer> writer, bool detached) {
  auto box = std::make_shared<std::unique_ptr<wal_writer>>(std::move(writer));
  if (!detached)
    return sys.spawn(wal_behavior, std::move(box), false);
  return sys.spawn<caf::detached>(wal_behavior, std::move(box), true);
}

caf::actor spawn_wal(caf::actor_system& sys, wal_config config,
                     std::function<void(rollover_info)> on_rollover, bool detached) {
  return spawn_wal(sys, std::make_unique<wal_writer>(std::move(config), std::move(on_rollover)), detached);
}

void stop_wal(const caf::actor& wal) {
  caf::anon_send_exit(wal, caf::exit_reason::user_shutdown);
}

}  // namespace ra::storage
