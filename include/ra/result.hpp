#pragma once
// The result type of the public API (api.hpp) and of ra::system: a value or an error,
// never an exception for an expected failure.
//
//   auto r = ra::process_command<int64_t>(sys, id, int64_t{5});
//   if (r) use(r->reply, r->leader); else log(r.error().to_string());

#include <optional>
#include <string>
#include <utility>

#include "ra/requests.hpp"
#include "ra/expected.hpp"
#include "ra/types.hpp"

namespace ra {

/// Why an API call failed (api_error::code).
enum class api_errc : uint8_t {
  timeout,             ///< no answer in time (the request may still take effect)
  noproc,              ///< no such server running (unknown name, or stopped)
  command,             ///< Raft refused: see api_error::command (not_leader, stopped ...)
  cluster_not_formed,  ///< start_cluster: fewer than a majority of the servers started
  storage,             ///< a disk or recovery error (message says which file)
  invalid_argument,    ///< bad configuration, unknown machine, already exists ...
  bad_reply,           ///< a reply or query result did not decode to the expected type
  data_dir_locked,     ///< system::start: another running system holds the data (or WAL) dir
  command_too_large,   ///< the command is over max_command_bytes: nothing was sent or appended
};

/// The code's name ("timeout", "noproc" ...).
const char* to_string(api_errc e);

/// The error of a failed API call: its kind, Raft's refusal if any, and a message.
struct api_error {
  api_errc code = api_errc::timeout;  ///< what kind of failure
  /// For api_errc::command: Raft's error and the leader hint.
  std::optional<command_error> command;
  std::string message;  ///< details for people (which server, which file ...)

  /// True if Raft answered with this command error code.
  bool is(error_code c) const { return code == api_errc::command && command && command->code == c; }
  /// The code, Raft's error and the message, for logs.
  std::string to_string() const;
};

/// A value or the api_error that prevented it: ra::expected, as everywhere else.
template <class T>
using result = expected<T, api_error>;

/// For calls with nothing to return.
struct done {};
/// The result of a call with nothing to return: done or an api_error.
using status = result<done>;

/// An api_error of `code` with `message` (no Raft error).
inline api_error make_api_error(api_errc code, std::string message = {}) {
  return api_error{code, std::nullopt, std::move(message)};
}

}  // namespace ra
