// Bench2Drive's closed-loop metrics from the outcome of each route (docs/closed-loop.md):
//   driving score (DS)   = 100 x route completion x infraction penalty
//   infraction penalty   = product over infractions of the leaderboard's factor (pedestrian 0.50,
//                          vehicle 0.60, static 0.65, red light 0.70, stop sign 0.80, scenario
//                          timeout 0.70), one factor per occurrence
//   success              = the route completed (completion 100 %) with no penalised infraction
// plus efficiency (Bench2Drive: ego speed relative to the surrounding traffic, %), comfort (share
// of ticks inside nuPlan's comfort bounds, %), and the per-ability mean DS and success rate.
#pragma once

#include <array>
#include <map>
#include <string>
#include <vector>

#include "rsd/data/synth/closed_loop.h"

namespace rsd::drive {

using data::synth::kNumInfractions;

struct RouteScore {
  std::string route, scenario, clip, end;
  double driving_score = 0.0;      // [0, 100]
  double route_completion = 0.0;   // [0, 100]
  double infraction_penalty = 1.0; // (0, 1]
  bool success = false;
  std::array<int, kNumInfractions> infractions{};  // counts, Infraction order
  double distance = 0.0;           // metres driven
  double time = 0.0;               // seconds
  double mean_speed = 0.0;         // m/s
  double efficiency = -1.0;        // % (ego speed / traffic speed); -1 when never near moving traffic
  double comfort = 0.0;            // % of ticks within the comfort bounds
  double mean_abs_jerk = 0.0;      // m/s^3, longitudinal
  double max_abs_accel = 0.0;      // m/s^2, longitudinal and lateral
  int ticks = 0;
};

RouteScore score_route(const data::synth::RouteOutcome& outcome);

/// The route's infractions for people: "collision_static, scenario_timeout x2"; empty when none.
std::string infraction_list(const RouteScore& score);

struct AbilityScore {
  int routes = 0;
  double driving_score = 0.0;  // mean
  double success_rate = 0.0;   // %
};

struct DrivingSummary {
  int routes = 0;
  double driving_score = 0.0;      // mean over routes
  double route_completion = 0.0;   // mean, %
  double infraction_penalty = 0.0; // mean
  double success_rate = 0.0;       // %
  double efficiency = -1.0;        // mean over routes that met traffic; -1 when none did
  double comfort = 0.0;            // mean, %
  double distance_km = 0.0;
  std::array<int, kNumInfractions> infractions{};
  std::array<double, kNumInfractions> infractions_per_km{};
  std::map<std::string, AbilityScore> abilities;  // Bench2Drive's five abilities that have routes
};

/// Mean and totals over routes; independent of their order.
DrivingSummary summarize(const std::vector<RouteScore>& routes);

}  // namespace rsd::drive
