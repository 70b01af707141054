#include "ra/log_entry.hpp"

#include <variant>

#include "ra/builtin_commands.hpp"

#include <cstring>

namespace ra {

namespace {

// Little-endian varint writer/reader for the system payloads. These are tiny and
// rare (one per election or membership change), so clarity beats speed.
struct writer {
  std::vector<char> out;
  void u64(uint64_t v) {
    while (v >= 0x80) {
      out.push_back(static_cast<char>((v & 0x7f) | 0x80));
      v >>= 7;
    }
    out.push_back(static_cast<char>(v));
  }
  void str(const std::string& s) {
    u64(s.size());
    out.insert(out.end(), s.begin(), s.end());
  }
};

struct reader {
  std::string_view in;
  bool ok = true;
  uint64_t u64() {
    uint64_t v = 0;
    for (int shift = 0; shift < 64; shift += 7) {
      if (in.empty()) break;
      auto b = static_cast<uint8_t>(in.front());
      in.remove_prefix(1);
      v |= uint64_t{b & 0x7fu} << shift;
      if (!(b & 0x80)) return v;
    }
    ok = false;
    return 0;
  }
  std::string str() {
    auto n = u64();
    if (!ok || n > in.size()) {
      ok = false;
      return {};
    }
    std::string s{in.substr(0, n)};
    in.remove_prefix(n);
    return s;
  }
};

constexpr uint64_t cluster_format_version = 1;

}  // namespace

shared_bytes encode_noop(uint32_t machine_version) {
  writer w;
  w.u64(machine_version);
  return shared_bytes{std::move(w.out)};
}

std::optional<uint32_t> decode_noop(const shared_bytes& payload) {
  reader r{payload.view()};
  auto v = r.u64();
  if (!r.ok || !r.in.empty() || v > UINT32_MAX) return std::nullopt;
  return static_cast<uint32_t>(v);
}

shared_bytes encode_cluster(const cluster_config& c) {
  writer w;
  w.u64(cluster_format_version);
  w.u64(c.members().size());
  for (auto& m : c.members()) {
    w.str(m.id.name);
    w.str(m.id.node);
    w.u64(static_cast<uint64_t>(m.kind));
    w.u64(m.promote_at.value);
  }
  return shared_bytes{std::move(w.out)};
}

std::optional<cluster_config> decode_cluster(const shared_bytes& payload) {
  reader r{payload.view()};
  if (r.u64() != cluster_format_version || !r.ok) return std::nullopt;
  auto n = r.u64();
  if (!r.ok || n > payload.size()) return std::nullopt;
  std::vector<member> ms;
  for (uint64_t i = 0; i < n && r.ok; ++i) {
    member m;
    m.id.name = r.str();
    m.id.node = r.str();
    auto kind = r.u64();
    if (kind > static_cast<uint64_t>(membership::non_voter)) return std::nullopt;
    m.kind = static_cast<membership>(kind);
    m.promote_at = index_t{r.u64()};
    ms.push_back(std::move(m));
  }
  if (!r.ok || !r.in.empty()) return std::nullopt;
  return cluster_config{std::move(ms)};
}

// Built-in commands: u64 tag (the variant index), then the fields.
shared_bytes encode_builtin(const builtin_command& c) {
  writer w;
  w.u64(c.index());
  std::visit(
    [&](const auto& x) {
      using T = std::decay_t<decltype(x)>;
      if constexpr (std::is_same_v<T, down_command>) {
        w.str(x.who.node);
        w.u64(x.who.id);
        w.str(x.reason);
      } else if constexpr (std::is_same_v<T, nodedown_command> || std::is_same_v<T, nodeup_command>) {
        w.str(x.node);
      } else if constexpr (std::is_same_v<T, timeout_command>) {
        w.str(x.name);
      } else {
        w.u64(x.from);
        w.u64(x.to);
      }
    },
    c);
  return shared_bytes{std::move(w.out)};
}

std::optional<builtin_command> decode_builtin(const shared_bytes& payload) {
  reader r{payload.view()};
  auto tag = r.u64();
  std::optional<builtin_command> out;
  switch (tag) {
    case 0: {
      down_command d;
      d.who.node = r.str();
      d.who.id = r.u64();
      d.reason = r.str();
      out = std::move(d);
      break;
    }
    case 1: out = nodedown_command{r.str()}; break;
    case 2: out = nodeup_command{r.str()}; break;
    case 3: out = timeout_command{r.str()}; break;
    case 4: {
      auto from = r.u64();
      auto to = r.u64();
      if (from > UINT32_MAX || to > UINT32_MAX) return std::nullopt;
      out = machine_version_command{static_cast<uint32_t>(from), static_cast<uint32_t>(to)};
      break;
    }
    default: return std::nullopt;
  }
  if (!r.ok || !r.in.empty()) return std::nullopt;
  return out;
}

}  // namespace ra
