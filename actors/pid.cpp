#include "actors/pid.hpp"

#include <map>
#include <mutex>

#include <caf/abstract_actor.hpp>
#include <caf/actor_cast.hpp>
#include <caf/weak_intrusive_ptr.hpp>

#include "ra/system.hpp"
#include "actors/system_core.hpp"

namespace ra {

namespace {

/// Actors that were given a pid, by pid. Weak references: naming an actor must not keep
/// it alive; an entry goes when its actor exits.
struct pid_table {
  std::mutex mx;
  std::map<pid, caf::weak_actor_ptr> actors;
};

pid_table& table() {
  static pid_table t;  // never destroyed before the exit hooks that erase from it
  return t;
}

}  // namespace

pid to_pid(system& sys, const caf::actor& a) {
  auto core = detail::find_system(sys.name());
  return core ? detail::to_pid(*core, a) : pid{};
}

namespace detail {

pid to_pid(system_core& core, const caf::actor& a) {
  if (!a) return {};
  pid p{core.name, a.id()};
  auto& t = table();
  bool fresh = false;
  {
    std::lock_guard lk{t.mx};
    auto [it, inserted] = t.actors.emplace(p, caf::actor_cast<caf::weak_actor_ptr>(a));
    fresh = inserted;
    if (!inserted) it->second = caf::actor_cast<caf::weak_actor_ptr>(a);
  }
  if (fresh)
    caf::actor_cast<caf::abstract_actor*>(a)->attach_functor([p] {
      auto& t = table();
      std::lock_guard lk{t.mx};
      t.actors.erase(p);
    });
  return p;
}

caf::actor resolve_pid(const pid& p) {
  if (p.empty()) return {};
  auto& t = table();
  std::lock_guard lk{t.mx};
  auto it = t.actors.find(p);
  if (it == t.actors.end()) return {};
  return caf::actor_cast<caf::actor>(it->second.lock());
}

}  // namespace detail
}  // namespace ra
