#pragma once
// ra::expected<T, E>: a value or the error that prevented it, the shape of C++23's
// std::expected (g++ 12 in C++20 mode has none). The one result vocabulary of the
// project: storage, runtime and API report failures as an E, never as an empty string,
// a sentinel or an out-of-band "last error".
//
//   expected<segment, io_error> open(...);
//   if (!r) return r.error();   // or: return ra::unexpected{r.error()};
//   use(*r);
//
// Deliberate difference from std::expected: an expected<T, E> is implicitly
// constructible from an E when E and T do not convert into each other (always for
// expected<void, E>). So `return some_io_error;` reads like `return value;`. Where T
// and E could be confused (say expected<std::string, std::string>) the constructor is
// disabled and the error must be spelled ra::unexpected{e}.

#include <cassert>
#include <optional>
#include <type_traits>
#include <utility>
#include <variant>

namespace ra {

/// An error on its way into an expected (std::unexpected): `return ra::unexpected{e};`.
template <class E>
class unexpected {
 public:
  /// Wraps the error `e`.
  explicit unexpected(E e) : error_(std::move(e)) {}
  /// @{
  /// The wrapped error.
  const E& error() const& { return error_; }
  E&& error() && { return std::move(error_); }
  /// @}

 private:
  E error_;
};

/// A T, or the E that prevented it (std::expected's shape; see the file comment).
template <class T, class E>
class [[nodiscard]] expected {
 public:
  using value_type = T;  ///< the value's type
  using error_type = E;  ///< the error's type

  /// A default-constructed value.
  expected() requires std::is_default_constructible_v<T> : v_(std::in_place_index<0>) {}
  /// The value `v` (implicit, as std::expected).
  expected(T v) : v_(std::in_place_index<0>, std::move(v)) {}  // NOLINT: implicit, as std::expected
  /// The error that `e` wraps.
  expected(unexpected<E> e) : v_(std::in_place_index<1>, std::move(e).error()) {}  // NOLINT
  /// Not in std::expected: an E converts to the error state unless T and E mix.
  expected(E e) requires(!std::is_convertible_v<E, T> && !std::is_convertible_v<T, E>)  // NOLINT
      : v_(std::in_place_index<1>, std::move(e)) {}

  /// True if it holds a value, false if an error.
  bool has_value() const { return v_.index() == 0; }
  /// has_value().
  explicit operator bool() const { return has_value(); }

  /// @{
  /// The value; holding an error instead is a bug (asserted).
  T& value() & { assert(has_value()); return std::get<0>(v_); }
  const T& value() const& { assert(has_value()); return std::get<0>(v_); }
  T&& value() && { assert(has_value()); return std::get<0>(std::move(v_)); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  T&& operator*() && { return std::move(*this).value(); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  /// @}

  /// @{
  /// The error; holding a value instead is a bug (asserted).
  const E& error() const& { assert(!has_value()); return std::get<1>(v_); }
  E& error() & { assert(!has_value()); return std::get<1>(v_); }
  E&& error() && { assert(!has_value()); return std::get<1>(std::move(v_)); }
  /// @}

  /// The value, or `fallback` converted to T if it holds an error.
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
  using value_type = void;  ///< no value: success carries nothing
  using error_type = E;     ///< the error's type

  /// Success.
  expected() = default;
  /// The error that `e` wraps.
  expected(unexpected<E> e) : error_(std::move(e).error()) {}  // NOLINT
  /// Not in std::expected: an E converts to the error state.
  expected(E e) : error_(std::move(e)) {}  // NOLINT

  /// True on success, false if it holds an error.
  bool has_value() const { return !error_.has_value(); }
  /// has_value().
  explicit operator bool() const { return has_value(); }
  /// @{
  /// The error; success instead is a bug (asserted).
  const E& error() const& { assert(!has_value()); return *error_; }
  E& error() & { assert(!has_value()); return *error_; }
  E&& error() && { assert(!has_value()); return std::move(*error_); }
  /// @}

 private:
  std::optional<E> error_;
};

}  // namespace ra
