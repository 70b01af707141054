#pragma once
// Converting between CAF actor handles and ra::pid (ra/builtin_commands.hpp), the
// form in which machines hold processes (in commands, state and effects).
//
// A pid is {node: the ra system's name, id: the actor's id in that system's CAF actor
// system}. to_pid records a weak reference to the actor (naming an actor does not keep it
// alive; the entry goes when it exits), so the runtime can find it again by pid.
// resolve_pid works for actors of any ra::system in this process; a pid of another node
// is routed by the node actors (actors/node_link.cpp: ra_npid asks the pid's node for a
// proxy of the actor), which is how machine effects reach it (server_executor.cpp).

#include <caf/actor.hpp>

#include "ra/builtin_commands.hpp"

namespace ra {

class system;

/// The pid of `a`, an actor of `sys`'s actor system (e.g. a consumer checking out of a
/// FIFO queue machine passes to_pid(sys, self)).
pid to_pid(system& sys, const caf::actor& a);

namespace detail {
struct system_core;
pid to_pid(system_core& core, const caf::actor& a);
/// The live actor behind `p`, or null.
caf::actor resolve_pid(const pid& p);
}  // namespace detail

}  // namespace ra
