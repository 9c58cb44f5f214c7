#include "data/synth/world.h"

namespace rsd::data::synth {

std::string ClipWorld::name() const {
  return scenario + "_" + town + "_Route" + std::to_string(route_id) + "_Weather" + std::to_string(weather.id);
}

Transform ClipWorld::to_world(const Transform& map) const { return compose(map_to_world, map); }

}  // namespace rsd::data::synth
