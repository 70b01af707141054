#include "lincheck/history.hpp"

#include <charconv>
#include <istream>
#include <ostream>
#include <string_view>

namespace ra::lincheck {
namespace {

// Jepsen logs every client event through jepsen.util with this prefix; lines without it
// (other loggers, nemesis chatter) are noise unless they already look like a bare event.
constexpr std::string_view log_prefix = "INFO  jepsen.util - ";
// Jepsen's etcd client reports a timed-out write/cas as `:info ... :timed-out`: the value is
// the error, not the operand, so the operand has to be taken from the invoke.
constexpr std::string_view unknown_value = ":timed-out";

std::string_view trim(std::string_view text) {
  const auto is_space = [](char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; };
  while (!text.empty() && is_space(text.front())) text.remove_prefix(1);
  while (!text.empty() && is_space(text.back())) text.remove_suffix(1);
  return text;
}

template <typename Integer>
bool parse_integer(std::string_view text, Integer& out) {
  if (text.empty()) return false;
  const char* end = text.data() + text.size();
  const auto [stop, ec] = std::from_chars(text.data(), end, out);
  return ec == std::errc{} && stop == end;
}

std::optional<event_type> parse_type(std::string_view text) {
  if (text == ":invoke") return event_type::invoke;
  if (text == ":ok") return event_type::ok;
  if (text == ":fail") return event_type::fail;
  if (text == ":info") return event_type::info;
  return std::nullopt;
}

std::optional<op_kind> parse_kind(std::string_view text) {
  if (text == ":read") return op_kind::read;
  if (text == ":write") return op_kind::write;
  if (text == ":cas") return op_kind::cas;
  return std::nullopt;
}

const char* type_name(event_type type) {
  switch (type) {
    case event_type::invoke: return ":invoke";
    case event_type::ok: return ":ok";
    case event_type::fail: return ":fail";
    case event_type::info: return ":info";
  }
  return "?";
}

const char* kind_name(op_kind kind) {
  switch (kind) {
    case op_kind::read: return ":read";
    case op_kind::write: return ":write";
    case op_kind::cas: return ":cas";
  }
  return "?";
}

/// `nil` or an integer.
bool parse_register_value(std::string_view text, std::optional<int64_t>& out) {
  if (text == "nil") {
    out.reset();
    return true;
  }
  int64_t number = 0;
  if (!parse_integer(text, number)) return false;
  out = number;
  return true;
}

/// Fills the value fields of `ev` (whose `f` is already set) from the VALUE column.
bool parse_value(std::string_view text, event& ev, std::string& why) {
  if (text == unknown_value) {
    ev.value.reset();
    ev.cas_to = 0;
    return true;
  }
  switch (ev.f) {
    case op_kind::read:
      if (parse_register_value(text, ev.value)) return true;
      why = "a read's value must be nil or an integer";
      return false;
    case op_kind::write: {
      int64_t written = 0;
      if (parse_integer(text, written)) {
        ev.value = written;
        return true;
      }
      why = "a write's value must be an integer";
      return false;
    }
    case op_kind::cas: {
      // [FROM TO]; FROM may be nil (swap only if the register is still unset).
      why = "a cas's value must be [FROM TO]";
      if (text.size() < 2 || text.front() != '[' || text.back() != ']') return false;
      const std::string_view inside = trim(text.substr(1, text.size() - 2));
      const auto space = inside.find(' ');
      if (space == std::string_view::npos) return false;
      if (!parse_register_value(trim(inside.substr(0, space)), ev.value)) return false;
      return parse_integer(trim(inside.substr(space + 1)), ev.cas_to);
    }
  }
  return false;
}

enum class line_kind { noise, event, malformed };

/// Splits off the next whitespace-delimited token (Jepsen separates with tabs; spaces are
/// tolerated so that hand-edited histories still parse).
std::string_view next_token(std::string_view& rest) {
  rest = trim(rest);
  const auto end = rest.find_first_of(" \t");
  const std::string_view token = rest.substr(0, end);
  rest.remove_prefix(end == std::string_view::npos ? rest.size() : end);
  return token;
}

line_kind parse_line(std::string_view line, event& ev, std::string& why) {
  line = trim(line);
  // Whatever precedes the logger's prefix is the logger's own (a timestamp, a thread).
  const auto prefix_at = line.find(log_prefix);
  const bool has_prefix = prefix_at != std::string_view::npos;
  if (has_prefix) line.remove_prefix(prefix_at + log_prefix.size());
  // Without the logger prefix only a tab-separated line counts as an event, so that prose
  // which happens to start with a number stays noise.
  if (!has_prefix && line.find('\t') == std::string_view::npos) return line_kind::noise;

  std::string_view rest = line;
  // Only a numeric process marks a client event (`:nemesis` events and prose are skipped).
  if (!parse_integer(next_token(rest), ev.process)) return line_kind::noise;
  const std::string_view type_text = next_token(rest);
  const std::string_view kind_text = next_token(rest);
  const std::string_view value_text = trim(rest);  // the rest: `[1 2]` contains a space
  if (value_text.empty()) {
    why = "expected PROCESS TYPE F VALUE";
    return line_kind::malformed;
  }
  const auto type = parse_type(type_text);
  if (!type) {
    why = "unknown event type '" + std::string(type_text) + "'";
    return line_kind::malformed;
  }
  const auto kind = parse_kind(kind_text);
  if (!kind) {
    why = "unknown operation '" + std::string(kind_text) + "'";
    return line_kind::malformed;
  }
  ev.type = *type;
  ev.f = *kind;
  if (!parse_value(value_text, ev, why)) {
    why += ", got '" + std::string(value_text) + "'";
    return line_kind::malformed;
  }
  return line_kind::event;
}

}  // namespace

std::optional<history> parse_jepsen(std::istream& in, std::string* error) {
  history result;
  std::string line;
  std::size_t line_number = 0;
  while (std::getline(in, line)) {
    ++line_number;
    event ev;
    std::string why;
    switch (parse_line(line, ev, why)) {
      case line_kind::noise: break;
      case line_kind::event: result.push_back(ev); break;
      case line_kind::malformed:
        if (error) *error = "line " + std::to_string(line_number) + ": " + why;
        return std::nullopt;
    }
  }
  if (in.bad()) {
    if (error) *error = "read error";
    return std::nullopt;
  }
  return result;
}

void write_jepsen(std::ostream& out, const history& h) {
  for (const event& ev : h) {
    out << log_prefix << ev.process << '\t' << type_name(ev.type) << '\t' << kind_name(ev.f)
        << '\t';
    switch (ev.f) {
      case op_kind::read:
        if (ev.value) out << *ev.value;
        else out << "nil";
        break;
      case op_kind::write:
        // A write always carries its operand, so an empty one can only mean "unknown".
        if (ev.value) out << *ev.value;
        else out << unknown_value;
        break;
      case op_kind::cas:
        // `[nil 0]` and `:timed-out` parse to the same event; prefer Jepsen's spelling so
        // that its logs are reproduced byte for byte.
        if (!ev.value && ev.cas_to == 0 && ev.type != event_type::invoke &&
            ev.type != event_type::ok) {
          out << unknown_value;
        } else {
          out << '[';
          if (ev.value) out << *ev.value;
          else out << "nil";
          out << ' ' << ev.cas_to << ']';
        }
        break;
    }
    out << '\n';
  }
}

}  // namespace ra::lincheck
