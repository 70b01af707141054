#pragma once
// Where ra's log lines go (spdlog's default logger, process-wide): level, sink (stderr,
// a size-rotated file, syslog) and format. Set by ra-node's JSON config ("log": {...})
// or by system_config::logging (applied by system::start), or by calling
// apply_log_config. Every line of the runtime names its system ("[node]") and, where it
// is about one server, the server ("[cluster/server@node]").

#include <cstddef>
#include <cstdint>
#include <string>

#include "ra/expected.hpp"

namespace ra {

/// Where and how a system (or ra-node) logs: spdlog's level, one sink and the line format.
struct log_config {
  /// trace, debug, info, warn, error, critical or off.
  std::string level = "info";
  /// "stderr", "file" (file, rotated by size) or "syslog" (syslog_ident, facility user).
  std::string sink = "stderr";
  /// sink file: the path of the log file.
  std::string file;
  /// sink file: the file is rotated once it would exceed this (file -> file.1 -> ...,
  /// keeping max_files old ones).
  uint64_t max_file_bytes = 10ull << 20;
  /// sink file: how many rotated files (file.1 ... file.N) are kept.
  size_t max_files = 5;
  /// sink syslog: the ident every line is sent with.
  std::string syslog_ident = "ra";
  /// "text": "2024-05-01T12:00:00.123 [info] [n1] message"; "json": one object per
  /// line, {"time": ..., "level": ..., "message": ...} (the message escaped). To syslog,
  /// "text" sends the message alone (syslog adds time and level), "json" the object.
  std::string format = "text";
};

/// Nothing if the settings are usable, else what is wrong ("log level must be one of ...").
expected<void, std::string> validate(const log_config& c);

/// Validates, then makes a logger with these settings spdlog's default logger (replacing
/// the previous one for every system of the process). The error says what is wrong (an
/// invalid setting, or a log file that cannot be opened).
expected<void, std::string> apply_log_config(const log_config& c);

}  // namespace ra
