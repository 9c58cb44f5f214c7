// The CARLA blueprints the synthetic world spawns, with their real type ids and (approximate)
// bounding-box extents, and helpers that make actor specs with a random look.
#pragma once

#include <random>

#include "data/synth/world.h"

namespace rsd::data::synth {

using Rng = std::mt19937_64;

/// Hands out CARLA-like actor ids: spawned actors count up from a random base, level objects
/// (parked meshes, traffic lights, signs) come from their own range.
class ActorIds {
 public:
  explicit ActorIds(Rng& rng);
  int spawned();
  int level();

 private:
  int next_spawned_;
  int next_level_;
};

enum class VehicleClass { car, van, truck };

ActorSpec make_vehicle(Rng& rng, ActorIds& ids, VehicleClass vehicle_class = VehicleClass::car);
/// A parked level mesh: vehicle of state "static", no colour or base type in the annotation.
ActorSpec make_parked_vehicle(Rng& rng, ActorIds& ids);
ActorSpec make_ambulance(ActorIds& ids);
ActorSpec make_bicycle(Rng& rng, ActorIds& ids);
ActorSpec make_walker(Rng& rng, ActorIds& ids, bool child = false);
ActorSpec make_traffic_light(ActorIds& ids, int group, bool affects_ego);
ActorSpec make_speed_sign(Rng& rng, ActorIds& ids, bool affects_ego);
ActorSpec make_warning_board(ActorIds& ids);
ActorSpec make_cone(ActorIds& ids);

double uniform(Rng& rng, double low, double high);
int uniform_int(Rng& rng, int low, int high);  // inclusive
bool chance(Rng& rng, double probability);

}  // namespace rsd::data::synth
