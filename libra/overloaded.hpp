#pragma once
// overloaded{f, g, ...}: one callable from several lambdas, for std::visit. Give it one
// overload per alternative and no catch-all (`auto&`) so that a new alternative does not
// compile until someone handles it.

namespace ra {

template <class... F>
struct overloaded : F... {
  using F::operator()...;
};
template <class... F>
overloaded(F...) -> overloaded<F...>;

}  // namespace ra
