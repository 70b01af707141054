#pragma once
// Named queries: Ra's {Module, Function, Args} query form. A machine registers queries by
// name, each a pure function of the state and one argument (both with a CAF `inspect`),
// so that a caller on any node can run them: the name and the encoded argument travel to
// the server, the encoded result comes back. (A query_fn, by contrast, is a C++ function
// and only runs in the caller's own process.)
//
// Registering (typed machines: a `queries` member; behaviour machines: a query_table
// given to make_behaviour_machine):
//
//   struct counter {
//     ...
//     void queries(ra::query_table<int64_t>& t) const {
//       t.add("value", [](const int64_t& s) { return s; });                       // no argument
//       t.add("plus", [](const int64_t& s, const int64_t& x) { return s + x; });  // one argument
//     }
//   };
//
// Calling (ra/api.hpp): ra::named_query<int64_t>(sys, id, ra::query_kind::consistent, "value").
// An unknown name, or an argument that does not decode as the query's argument type, is
// the caller's error (api_errc::invalid_argument); the server is not harmed.

#include <functional>
#include <map>
#include <stdexcept>
#include <string>
#include <string_view>
#include <tuple>
#include <type_traits>
#include <utility>
#include <vector>

#include "ra/bytes.hpp"
#include "ra/codec.hpp"

namespace ra {

/// Thrown by a machine's named_query for a name it does not know, or an argument that
/// does not decode. The server answers the caller with invalid_argument.
struct bad_query : std::invalid_argument {
  using std::invalid_argument::invalid_argument;
};

/// \cond internal (Doxygen misreads these self-referring templates as recursive)
namespace detail {
template <class F>
struct query_signature : query_signature<decltype(&F::operator())> {};
template <class C, class R, class... A>
struct query_signature<R (C::*)(A...) const> {
  using result = R;
  using args = std::tuple<std::decay_t<A>...>;
};
template <class C, class R, class... A>
struct query_signature<R (C::*)(A...)> : query_signature<R (C::*)(A...) const> {};
template <class R, class... A>
struct query_signature<R (*)(A...)> {
  using result = R;
  using args = std::tuple<std::decay_t<A>...>;
};
}  // namespace detail
/// \endcond

/// A machine's named queries over its State, by name (see the file comment).
template <class State>
class query_table {
 public:
  /// Registers `f` under `name`: f(const State&) or f(const State&, const Arg&), returning
  /// a value with a CAF inspect. A second query of the same name is a programming error.
  template <class F>
  query_table& add(std::string name, F f) {
    using sig = detail::query_signature<F>;
    using args = typename sig::args;
    static_assert(std::tuple_size_v<args> == 1 || std::tuple_size_v<args> == 2,
                  "a named query takes (const State&) or (const State&, const Arg&)");
    static_assert(std::is_same_v<std::tuple_element_t<0, args>, State>,
                  "a named query's first parameter is the machine's state");
    if (fns_.count(name)) throw std::logic_error("ra::query_table: two queries named " + name);
    if constexpr (std::tuple_size_v<args> == 1) {
      fns_.emplace(std::move(name), [f = std::move(f)](const State& s, const shared_bytes&) { return encode(f(s)); });
    } else {
      using arg = std::tuple_element_t<1, args>;
      fns_.emplace(name, [f = std::move(f), name](const State& s, const shared_bytes& bytes) {
        auto a = decode<arg>(bytes);
        if (!a) throw bad_query("the argument of query " + name + " does not decode");
        return encode(f(s, *a));
      });
    }
    return *this;
  }

  /// Runs query `name` over `state`. Throws bad_query if there is no such query or its
  /// argument does not decode.
  shared_bytes run(std::string_view name, const State& state, const shared_bytes& arg) const {
    auto it = fns_.find(name);
    if (it == fns_.end()) throw bad_query("no query named " + std::string(name));
    return it->second(state, arg);
  }

  /// The registered names, sorted.
  std::vector<std::string> names() const {
    std::vector<std::string> out;
    for (auto& [name, fn] : fns_) out.push_back(name);
    return out;
  }
  /// True if no query is registered.
  bool empty() const { return fns_.empty(); }

 private:
  std::map<std::string, std::function<shared_bytes(const State&, const shared_bytes&)>, std::less<>> fns_;
};

}  // namespace ra
