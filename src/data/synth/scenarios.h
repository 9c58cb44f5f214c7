// Bench2Drive scenario types rebuilt in the synthetic world. Each builder lays out the road,
// the scenario's actors and triggers (scaled to the clip duration so that the event happens
// inside the clip), background traffic and scenery, and the ego's route.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "data/synth/traffic.h"

namespace rsd::data::synth {

/// The scenario types with a builder, in the order clips cycle through them.
const std::vector<std::string>& scenario_names();

/// Which family of worlds a seed draws from: the worlds of closed-loop routes never coincide with
/// a clip `rsd_data synth` writes, whatever seeds either is given (held out by construction).
enum class ScenarioStream : uint64_t { dataset = 0x5ce4a210u, closed_loop = 0xd517e0a7u };

/// Builds clip number `clip_index` of type `scenario` (one of scenario_names()), lasting
/// `frames` frames, from `seed`. Throws rsd::ConfigError for an unknown scenario.
Simulation build_scenario(const std::string& scenario, int clip_index, int frames, uint64_t seed,
                          ScenarioStream stream = ScenarioStream::dataset);

}  // namespace rsd::data::synth
