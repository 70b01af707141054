#pragma once
// Validators shared by the benchmarks' options, so that a bad value is a usage error
// (exit 2, with CLI11's message) rather than a run that wraps a negative count around.

#include <cstddef>
#include <string>

#include <CLI/CLI.hpp>

namespace ra::bench {

/// spdlog's level names (spdlog::level::from_str would turn any other into "off").
inline CLI::IsMember log_levels() {
  return CLI::IsMember({"trace", "debug", "info", "warn", "warning", "error", "err", "critical", "off"});
}

/// A count from 1 to `max` (CLI11 reads "-5" into a size_t as a huge number: refused here).
inline CLI::Range count_up_to(std::size_t max) { return CLI::Range(std::size_t{1}, max); }

/// Seconds of a measurement: 0.1 s to an hour.
inline CLI::Range measured_seconds() { return CLI::Range(0.1, 3600.0); }

}  // namespace ra::bench
