// ra/logging.hpp: spdlog's default logger from a log_config.

#include "ra/logging.hpp"

#include <memory>
#include <set>

#include <spdlog/pattern_formatter.h>
#include <spdlog/sinks/rotating_file_sink.h>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/sinks/syslog_sink.h>
#include <spdlog/spdlog.h>

namespace ra {

namespace {

/// %* in a pattern: the message as the contents of a JSON string.
class json_escaped_message final : public spdlog::custom_flag_formatter {
 public:
  void format(const spdlog::details::log_msg& msg, const std::tm&, spdlog::memory_buf_t& dest) override {
    static constexpr char hex[] = "0123456789abcdef";
    for (char c : msg.payload) {
      switch (c) {
        case '"': dest.append(std::string_view{"\\\""}); break;
        case '\\': dest.append(std::string_view{"\\\\"}); break;
        case '\n': dest.append(std::string_view{"\\n"}); break;
        case '\t': dest.append(std::string_view{"\\t"}); break;
        default:
          if (static_cast<unsigned char>(c) < 0x20) {
            const char esc[] = {'\\', 'u', '0', '0', hex[(c >> 4) & 0xf], hex[c & 0xf]};
            dest.append(esc, esc + sizeof esc);
          } else {
            dest.push_back(c);
          }
      }
    }
  }
  std::unique_ptr<custom_flag_formatter> clone() const override { return std::make_unique<json_escaped_message>(); }
};

std::unique_ptr<spdlog::formatter> make_formatter(const std::string& format) {
  auto f = std::make_unique<spdlog::pattern_formatter>();
  if (format == "json") {
    f->add_flag<json_escaped_message>('*').set_pattern(
      R"({"time":"%Y-%m-%dT%H:%M:%S.%e%z","level":"%l","thread":%t,"message":"%*"})");
  } else {
    f->set_pattern("%Y-%m-%dT%H:%M:%S.%e [%l] %v");
  }
  return f;
}

}  // namespace

expected<void, std::string> validate(const log_config& c) {
  static const std::set<std::string> levels{"trace", "debug", "info", "warn", "error", "critical", "off"};
  if (!levels.count(c.level))
    return unexpected("log level must be one of trace, debug, info, warn, error, critical, off (not \"" + c.level +
                      "\")");
  if (c.sink != "stderr" && c.sink != "file" && c.sink != "syslog")
    return unexpected("log sink must be stderr, file or syslog (not \"" + c.sink + "\")");
  if (c.sink == "file" && c.file.empty()) return unexpected(std::string("log sink file needs a log file path"));
  if (c.sink == "file" && c.max_file_bytes == 0) return unexpected(std::string("log max_file_bytes must be > 0"));
  if (c.format != "text" && c.format != "json")
    return unexpected("log format must be text or json (not \"" + c.format + "\")");
  return {};
}

expected<void, std::string> apply_log_config(const log_config& c) {
  if (auto ok = validate(c); !ok) return ok;
  spdlog::sink_ptr sink;
  if (c.sink == "syslog") {
    // A syslog sink closes the process's syslog connection (closelog) when it is destroyed:
    // an old one released after the new sink's openlog would reset the ident. So the old
    // logger goes first (a syslog sink cannot fail to open: nothing to fall back to).
    spdlog::set_default_logger(std::make_shared<spdlog::logger>("ra-switching"));
    spdlog::drop("ra");
  }
  try {
    if (c.sink == "file")
      sink = std::make_shared<spdlog::sinks::rotating_file_sink_mt>(c.file, c.max_file_bytes, c.max_files);
    else if (c.sink == "syslog")
      // enable_formatting: the json format applies to syslog too (without it the sink
      // sends the bare message whatever the formatter).
      sink = std::make_shared<spdlog::sinks::syslog_sink_mt>(c.syslog_ident, 0, LOG_USER, true);
    else
      sink = std::make_shared<spdlog::sinks::stderr_color_sink_mt>();
  } catch (const spdlog::spdlog_ex& ex) {
    return unexpected("cannot open log " + (c.sink == "file" ? "file " + c.file : c.sink) + ": " + ex.what());
  }
  // syslog stamps time and level itself.
  sink->set_formatter(c.sink == "syslog" && c.format == "text"
                        ? std::make_unique<spdlog::pattern_formatter>("%v")
                        : make_formatter(c.format));
  auto logger = std::make_shared<spdlog::logger>("ra", std::move(sink));
  logger->set_level(spdlog::level::from_str(c.level));
  logger->flush_on(spdlog::level::warn);
  spdlog::drop("ra");
  spdlog::set_default_logger(logger);
  return {};
}

}  // namespace ra
