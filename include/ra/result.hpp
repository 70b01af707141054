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

const char* to_string(api_errc e);

struct api_error {
  api_errc code = api_errc::timeout;
  /// For api_errc::command: Raft's error and the leader hint.
  std::optional<command_error> command;
  std::string message;

  /// True if Raft answered with this command error code.
  bool is(error_code c) const { return code == api_errc::command && command && command->code == c; }
  std::string to_string() const;
};

/// A value or the api_error that prevented it: ra::expected, as everywhere else.
template <class T>
using result = expected<T, api_error>;

/// For calls with nothing to return.
struct done {};
using status = result<done>;

inline api_error make_api_error(api_errc code, std::string message = {}) {
  return api_error{code, std::nullopt, std::move(message)};
}

}  // namespace ra
