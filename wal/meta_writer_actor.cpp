// The CAF shell around meta_store's group commit (see meta_writer_actor.hpp).

#include "wal/meta_writer_actor.hpp"

#include <string>
#include <vector>

#include <caf/all.hpp>

namespace ra::storage {
namespace {

struct queued_vote {
  caf::actor sender;
  uint64_t seq;
  term_vote vote;
};

struct meta_writer_state {
  meta_store* store = nullptr;
  std::vector<queued_vote> queued;
  bool flush_scheduled = false;
};

using meta_writer = caf::stateful_actor<meta_writer_state>;

/// One write and one sync for every vote queued, then one answer per vote.
void flush(meta_writer* self) {
  auto& st = self->state;
  if (st.queued.empty()) return;
  std::vector<term_vote> batch;
  batch.reserve(st.queued.size());
  for (auto& q : st.queued) batch.push_back(q.vote);
  auto written = st.store->put_term_votes(batch);
  for (auto& q : st.queued) {
    if (!q.sender) continue;
    if (written)
      self->send(q.sender, meta_durable_atom::value, q.seq);
    else
      self->send(q.sender, meta_failed_atom::value, q.seq, written.error().message());
  }
  st.queued.clear();
}

caf::behavior meta_writer_behavior(meta_writer* self, meta_store* store) {
  self->state.store = store;
  self->set_exit_handler([self](caf::exit_msg& msg) {
    flush(self);  // the votes queued get their one chance; their senders are told
    self->quit(msg.reason);
  });
  return {
    [self](meta_vote_atom, const meta_vote_msg& m) {
      auto& st = self->state;
      st.queued.push_back(queued_vote{caf::actor_cast<caf::actor>(self->current_sender()), m.seq,
                                      term_vote{m.uid, m.term, m.has_vote ? std::optional{m.vote} : std::nullopt}});
      // The marker goes behind every vote already in the mailbox: they join this sync.
      if (!st.flush_scheduled) {
        st.flush_scheduled = true;
        self->send(self, meta_flush_atom::value);
      }
    },
    [self](meta_flush_atom) {
      self->state.flush_scheduled = false;
      flush(self);
    },
  };
}

}  // namespace

caf::actor spawn_meta_writer(caf::actor_system& sys, meta_store& store, bool detached) {
  if (!detached) return sys.spawn(meta_writer_behavior, &store);
  return sys.spawn<caf::detached>(meta_writer_behavior, &store);
}

}  // namespace ra::storage
