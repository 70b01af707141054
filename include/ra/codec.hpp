#pragma once
// Encoding of user commands, replies and machine state to bytes, with the types' own
// CAF-style `inspect` functions (the same ones that make them CAF message types), so
// users never pack bytes by hand. Uses CAF's binary serializer without an actor system.
// Part of the machine layer (ra_machine), not of the pure core: it includes the wire
// format of ra's own types (wire/inspect.hpp), so machine commands and state may hold
// pids, server ids and bytes.

#include <optional>
#include <vector>

#include <caf/binary_deserializer.hpp>
#include <caf/binary_serializer.hpp>

#include "ra/bytes.hpp"
#include "ra/inspect.hpp"

namespace ra {

/// Encodes `value` with its inspect function; throws std::runtime_error if it does not
/// serialize.
template <class T>
shared_bytes encode(const T& value) {
  std::vector<char> buf;
  caf::binary_serializer sink{nullptr, buf};
  if (auto err = sink(const_cast<T&>(value)))  // CAF 0.17's inspect takes T&
    throw std::runtime_error("ra::encode: value does not serialize");
  return shared_bytes{std::move(buf)};
}

/// Decodes a T; empty if the bytes are not a complete, valid encoding of a T.
template <class T>
std::optional<T> decode(const shared_bytes& bytes) {
  T value{};
  caf::binary_deserializer src{nullptr, bytes.data(), bytes.size()};
  if (auto err = src(value))
    return std::nullopt;
  if (src.remaining() != 0)
    return std::nullopt;
  return value;
}

}  // namespace ra
