#pragma once
// Messages between the actors of the runtime (server actors, the WAL, the segment writer,
// the public API's blocking callers).
//
// The serializable ones live in wire/ and are included from here: the inspect overloads
// (wire/inspect.hpp), the client replies (wire/replies.hpp), the atoms (wire/atoms.hpp)
// and announce_ra_types() (wire/announce.hpp), which registers every serializable one with
// CAF so that a multi-process runtime can send them.
//
// Peer RPCs travel as (ra_peer_atom, server_id from, <rpc>), one message type per RPC
// (CAF 0.17 cannot serialize std::variant). Client requests use request/response; their
// replies are plain structs carrying an error code instead of a caf::error, so that the
// caller can tell "the request failed" (caf::error: timeout, actor down) from "Raft said
// no" (command_result::error, e.g. not_leader with a leader hint).
//
// This header keeps the local-only payloads (query functions and their std::any results,
// segment refs, snapshot-worker results): they are marked CAF_ALLOW_UNSAFE_MESSAGE_TYPE
// and never leave the process.

#include <any>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <caf/actor_system_config.hpp>
#include <caf/allowed_unsafe_message_type.hpp>
#include <caf/atom.hpp>
#include <caf/error.hpp>
#include <caf/none.hpp>

#include "ra/result.hpp"
#include "io/file.hpp"
#include "libra/actions.hpp"
#include "ra/expected.hpp"
#include "libra/log_store.hpp"
#include "log/storage_job.hpp"
#include "segments/segment_set.hpp"
#include "wire/announce.hpp"
#include "wire/atoms.hpp"
#include "wire/inspect.hpp"
#include "wire/replies.hpp"

namespace ra::actors {

// -- local-only payloads -----------------------------------------------------------------

/// A query function (runs inside the server; cannot cross processes).
struct query_msg {
  query_kind kind = query_kind::local;
  query_fn fn;
};
struct query_result {
  server_id leader;
  std::any value;
  bool failed = false;
  command_error error{error_code::not_leader, {}};
};
/// Segment writer -> server: these segment files now hold the server's entries.
struct segments_msg {
  std::vector<storage::segment_ref> refs;
};
/// Server -> its starter (answer to ready_atom): running, or why it could not start
/// (api_errc::invalid_argument for an unknown machine, api_errc::storage otherwise).
struct ready_result {
  expected<void, api_error> status;
};
/// Snapshot worker -> server: the result of a snapshot write or install.
struct snapshot_done_msg {
  storage::io_result<std::string> result{std::string{}};
  storage::storage_job kind = storage::storage_job::snapshot_write;
};

}  // namespace ra::actors

CAF_ALLOW_UNSAFE_MESSAGE_TYPE(ra::actors::query_msg)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(ra::actors::query_result)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(ra::actors::segments_msg)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(ra::actors::snapshot_done_msg)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(ra::actors::ready_result)
