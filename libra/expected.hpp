#pragma once
// ra::expected<T, E>: a value or the error that prevented it, the shape of C++23's
// std::expected (g++ 12 in C++20 mode has none). The one result vocabulary of the
// project: storage, runtime and API report failures as an E, never as an empty string,
// a sentinel or an out-of-band "last error".
//
//   expected<segment, io_error> open(...);
//   if (!r) return ra::unexpected{r.error()};   // or: return r.error() where E is distinct
//   use(*r);

#include <cassert>
#include <optional>
#include <utility>
#include <variant>

namespace ra {

template <class E>
class unexpected {
 public:
  explicit unexpected(E e) : error_(std::move(e)) {}
  const E& error() const& { return error_; }
  E&& error() && { return std::move(error_); }

 private:
  E error_;
};

template <class T, class E>
class [[nodiscard]] expected {
 public:
  using value_type = T;
  using error_type = E;

  expected() requires std::is_default_constructible_v<T> : v_(std::in_place_index<0>) {}
  expected(T v) : v_(std::in_place_index<0>, std::move(v)) {}  // NOLINT: implicit, as std::expected
  expected(unexpected<E> e) : v_(std::in_place_index<1>, std::move(e).error()) {}  // NOLINT

  bool has_value() const { return v_.index() == 0; }
  explicit operator bool() const { return has_value(); }

  T& value() & { assert(has_value()); return std::get<0>(v_); }
  const T& value() const& { assert(has_value()); return std::get<0>(v_); }
  T&& value() && { assert(has_value()); return std::get<0>(std::move(v_)); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  T&& operator*() && { return std::move(*this).value(); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }

  const E& error() const& { assert(!has_value()); return std::get<1>(v_); }
  E& error() & { assert(!has_value()); return std::get<1>(v_); }

  template <class U>
  T value_or(U&& fallback) const& {
    return has_value() ? value() : static_cast<T>(std::forward<U>(fallback));
  }

 private:
  std::variant<T, E> v_;
};

/// Success carries nothing: expected<void, E> is "ok" or an E.
template <class E>
class [[nodiscard]] expected<void, E> {
 public:
  using value_type = void;
  using error_type = E;

  expected() = default;
  expected(unexpected<E> e) : error_(std::move(e).error()) {}  // NOLINT

  bool has_value() const { return !error_.has_value(); }
  explicit operator bool() const { return has_value(); }
  const E& error() const& { assert(!has_value()); return *error_; }
  E& error() & { assert(!has_value()); return *error_; }

 private:
  std::optional<E> error_;
};

}  // namespace ra
