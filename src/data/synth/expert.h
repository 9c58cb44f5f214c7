// The ego's expert: follows its route at a desired speed and reacts to risk with privileged
// knowledge of the world (like Bench2Drive's Think2Drive / PDM-lite experts): brakes for walkers
// and cyclists about to cross, yields to vehicles cutting in or crossing its path, stops at red
// lights, follows slower leaders, changes lanes around a blocking obstacle and out of the way of
// an emergency vehicle.
#pragma once

#include "data/synth/traffic.h"

namespace rsd::data::synth {

struct EgoDecision {
  double accel = 0.0;          // m/s^2 to apply this step
  bool hazard = false;         // braking because of an actor, a light or a yield
};

/// Decides this step's acceleration, and starts lane changes on ego.lateral when needed.
EgoDecision decide_ego(EgoAgent& ego, const Simulation& simulation, const Forecasts& forecasts, double time);

}  // namespace rsd::data::synth
