#pragma once
// An immutable, reference-counted byte buffer. Log entries, RPCs and snapshot chunks
// share payloads through it, so sending one entry to several peers never copies it.

#include <cstddef>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace ra {

/// An immutable, reference-counted byte buffer (see the file comment): copies share it.
class shared_bytes {
 public:
  /// Empty.
  shared_bytes() = default;
  /// Takes over `data`.
  explicit shared_bytes(std::vector<char> data)
    : data_(std::make_shared<const std::vector<char>>(std::move(data))) {}
  /// A buffer holding a copy of `s`.
  static shared_bytes copy_of(std::string_view s) {
    return shared_bytes{std::vector<char>(s.begin(), s.end())};
  }

  /// The first byte (null when empty).
  const char* data() const { return data_ ? data_->data() : nullptr; }
  /// The number of bytes.
  size_t size() const { return data_ ? data_->size() : 0; }
  /// True if there are no bytes.
  bool empty() const { return size() == 0; }
  /// The bytes as a span.
  std::span<const char> span() const { return {data(), size()}; }
  /// The bytes as a string_view.
  std::string_view view() const { return {data(), size()}; }
  /// The underlying vector (empty if none): what serializers read.
  const std::vector<char>& vec() const {
    static const std::vector<char> none;
    return data_ ? *data_ : none;
  }

  /// Same bytes (whether shared or not).
  friend bool operator==(const shared_bytes& a, const shared_bytes& b) { return a.view() == b.view(); }

 private:
  std::shared_ptr<const std::vector<char>> data_;
};

}  // namespace ra
