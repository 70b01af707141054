#pragma once
// A client history of operations on one register (read / write / compare-and-set), in the
// shape of Jepsen's histories: invoke events and their completions (ok / fail / info).

#include <cstdint>
#include <iosfwd>
#include <optional>
#include <string>
#include <vector>

namespace ra::lincheck {

enum class op_kind : uint8_t { read, write, cas };
enum class event_type : uint8_t {
  invoke,  ///< the call
  ok,      ///< completed and took effect (a read's value is the value read)
  fail,    ///< completed and did not take effect
  info,    ///< outcome unknown: may take effect at any time after its invoke, or never
};

struct event {
  int process = 0;  ///< a process has at most one operation outstanding
  event_type type = event_type::invoke;
  op_kind f = op_kind::read;
  /// read: the value read (empty = nil; on invoke, nil); write: the value written;
  /// cas: the expected value (FROM).
  std::optional<int64_t> value;
  int64_t cas_to = 0;  ///< cas: the new value (TO)
};

using history = std::vector<event>;

/// Parses Jepsen's log format (see shared/data/jepsen-etcd/README.md); lines that are not
/// events are skipped. Empty result + `error` set on a malformed event line.
std::optional<history> parse_jepsen(std::istream& in, std::string* error = nullptr);
/// Writes the same format, one event per line.
void write_jepsen(std::ostream& out, const history& h);

}  // namespace ra::lincheck
