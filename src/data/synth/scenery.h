// Level geometry along the roads: kerbs, buildings, street lamps and trees.
#pragma once

#include "data/synth/blueprints.h"

namespace rsd::data::synth {

/// Fills world.scenery for world.road.
void add_scenery(ClipWorld& world, Rng& rng);

}  // namespace rsd::data::synth
