#pragma once
// A replicated key-value store (string -> string), written as a behaviour machine
// (ra/behaviour_machine.hpp): one handler per command.
//
//   auto m = ra::machines::make_kv_machine({.release_every = 1000});   // give it to a server
//   // client side:
//   auto bytes = ra::encode_command<ra::machines::kv_protocol>(ra::machines::kv_put{"k", "v"});
//   ... submit `bytes`, get the reply bytes back ...
//   auto previous = ra::decode_reply<ra::machines::kv_put>(reply);   // optional<kv_lookup>
//
// Commands and replies:
//   kv_put{key, value}          -> kv_lookup{previous value}
//   kv_get{key}                 -> kv_lookup{value}          (a read through the log)
//   kv_cas{key, expected, value} -> kv_cas_result{swapped, current value}; `expected` empty
//                                  means "the key must be absent"
//   kv_delete{key}              -> kv_lookup{removed value}
// Named queries (any node, no log entry): "get" (key) -> kv_lookup, "size" -> uint64_t.
// Every `release_every` applied commands the machine emits release_cursor, so the log is
// truncated once a snapshot of the map exists.

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>

#include "ra/behaviour_machine.hpp"
#include "ra/effects.hpp"

namespace ra::machines {

// -- replies ----------------------------------------------------------------------------

/// A key's value, or none if the key is not set.
struct kv_lookup {
  std::optional<std::string> value;  ///< the value; none if the key is not set
  /// Same value.
  friend bool operator==(const kv_lookup&, const kv_lookup&) = default;
};
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, kv_lookup& x) {
  auto value = ra::optional_field{x.value};
  return f(value);
}

/// The reply to kv_cas.
struct kv_cas_result {
  bool swapped = false;  ///< the value matched `expected` and was replaced
  std::optional<std::string> current;  ///< the value after the command
  /// Field by field.
  friend bool operator==(const kv_cas_result&, const kv_cas_result&) = default;
};
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, kv_cas_result& x) {
  auto current = ra::optional_field{x.current};
  return f(x.swapped, current);
}

// -- commands ---------------------------------------------------------------------------

/// Sets `key` to `value`.
struct kv_put {
  using reply_type = kv_lookup;  ///< the previous value
  std::string key;    ///< the key
  std::string value;  ///< its new value
};
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, kv_put& x) {
  return f(x.key, x.value);
}

/// Reads `key` through the log (linearizable; the "get" query reads without an entry).
struct kv_get {
  using reply_type = kv_lookup;  ///< the value
  std::string key;  ///< the key
};
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, kv_get& x) {
  return f(x.key);
}

/// Sets `key` to `value` only if its current value is `expected` (none: absent).
struct kv_cas {
  using reply_type = kv_cas_result;  ///< whether it swapped, and the value after
  std::string key;                      ///< the key
  std::optional<std::string> expected;  ///< the value it must have (none: it must be absent)
  std::string value;                    ///< the new value
};
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, kv_cas& x) {
  auto expected = ra::optional_field{x.expected};
  return f(x.key, expected, x.value);
}

/// Removes `key`.
struct kv_delete {
  using reply_type = kv_lookup;  ///< the removed value
  std::string key;  ///< the key
};
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, kv_delete& x) {
  return f(x.key);
}

/// Wire contract: append new commands at the end only (the tag is the position).
using kv_protocol = ra::protocol<kv_put, kv_get, kv_cas, kv_delete>;

// -- state and machine ------------------------------------------------------------------

/// The kv machine's state: the map.
struct kv_state {
  std::map<std::string, std::string> entries;  ///< key -> value
  /// Commands applied since the last release_cursor (part of the replicated state so
  /// every member releases at the same index).
  uint64_t applied_since_release = 0;
  /// Field by field.
  friend bool operator==(const kv_state&, const kv_state&) = default;
};
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, kv_state& x) {
  return f(x.entries, x.applied_since_release);
}

/// Settings of a kv machine.
struct kv_options {
  /// Emit release_cursor every this many applied commands (0: never).
  uint64_t release_every = 1000;
};

/// The kv handlers (version 0). Exposed so a later version can start from them.
inline ra::behaviour<kv_protocol, kv_state> kv_behaviour(kv_options opts = {}) {
  // Counts the command and says when the log up to it may be released.
  auto release = [opts](const ra::command_meta& meta, kv_state& s) {
    ra::effects effs;
    if (opts.release_every != 0 && ++s.applied_since_release >= opts.release_every) {
      s.applied_since_release = 0;
      effs.push_back(ra::effect::release_cursor(meta.index));
    }
    return effs;
  };
  auto lookup = [](const kv_state& s, const std::string& key) {
    auto it = s.entries.find(key);
    return it == s.entries.end() ? std::nullopt : std::optional<std::string>{it->second};
  };
  return ra::behaviour<kv_protocol, kv_state>{
    [=](const ra::command_meta& meta, const kv_put& c, kv_state& s) -> ra::handled<kv_lookup> {
      auto previous = lookup(s, c.key);
      s.entries.insert_or_assign(c.key, c.value);
      return {{std::move(previous)}, release(meta, s)};
    },
    [=](const ra::command_meta& meta, const kv_get& c, kv_state& s) -> ra::handled<kv_lookup> {
      return {{lookup(s, c.key)}, release(meta, s)};
    },
    [=](const ra::command_meta& meta, const kv_cas& c, kv_state& s) -> ra::handled<kv_cas_result> {
      auto current = lookup(s, c.key);
      if (current != c.expected)
        return {{false, std::move(current)}, release(meta, s)};
      s.entries.insert_or_assign(c.key, c.value);
      return {{true, c.value}, release(meta, s)};
    },
    [=](const ra::command_meta& meta, const kv_delete& c, kv_state& s) -> ra::handled<kv_lookup> {
      auto removed = lookup(s, c.key);
      s.entries.erase(c.key);
      return {{std::move(removed)}, release(meta, s)};
    },
    [](const kv_state& s) { return nlohmann::json{{"keys", s.entries.size()}}; },
  };
}

/// Named queries (callable from any node, ra/named_query.hpp):
///   "get"  (std::string key) -> kv_lookup   the key's value, read without a log entry
///   "size" ()                -> uint64_t    the number of keys
inline ra::query_table<kv_state> kv_queries() {
  ra::query_table<kv_state> t;
  t.add("get", [](const kv_state& s, const std::string& key) {
    auto it = s.entries.find(key);
    return kv_lookup{it == s.entries.end() ? std::nullopt : std::optional<std::string>{it->second}};
  });
  t.add("size", [](const kv_state& s) { return static_cast<uint64_t>(s.entries.size()); });
  return t;
}

/// A kv machine (empty map) with its handlers and named queries.
inline std::unique_ptr<ra::machine> make_kv_machine(kv_options opts = {}) {
  return ra::make_behaviour_machine<kv_protocol>(kv_state{}, {kv_behaviour(opts)}, kv_queries());
}

}  // namespace ra::machines
