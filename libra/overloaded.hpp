#pragma once
// The visitor idiom for std::visit: overloaded{[](const A&) {...}, [](const B&) {...}}.
// Dispatch written with it and no catch-all is exhaustive: a new alternative that no
// overload takes does not compile.

namespace ra {

template <class... Fs>
struct overloaded : Fs... {
  using Fs::operator()...;
};
template <class... Fs>
overloaded(Fs...) -> overloaded<Fs...>;

}  // namespace ra
