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

class shared_bytes {
 public:
  shared_bytes() = default;
  explicit shared_bytes(std::vector<char> data)
    : data_(std::make_shared<const std::vector<char>>(std::move(data))) {}
  static shared_bytes copy_of(std::string_view s) {
    return shared_bytes{std::vector<char>(s.begin(), s.end())};
  }

  const char* data() const { return data_ ? data_->data() : nullptr; }
  size_t size() const { return data_ ? data_->size() : 0; }
  bool empty() const { return size() == 0; }
  std::span<const char> span() const { return {data(), size()}; }
  std::string_view view() const { return {data(), size()}; }
  /// The underlying vector (empty if none): what serializers read.
  const std::vector<char>& vec() const {
    static const std::vector<char> none;
    return data_ ? *data_ : none;
  }

  friend bool operator==(const shared_bytes& a, const shared_bytes& b) { return a.view() == b.view(); }

 private:
  std::shared_ptr<const std::vector<char>> data_;
};

}  // namespace ra
