#include "wire/announce.hpp"

#include <caf/actor_system_config.hpp>

namespace ra::actors {

void announce_ra_types(caf::actor_system_config& cfg) {
  wire::for_each_announced_type([&cfg](auto tag, const char* name) {
    cfg.add_message_type<typename decltype(tag)::type>(name);
  });
}

}  // namespace ra::actors
