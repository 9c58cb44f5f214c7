#include "rsd/drive/driving_score.h"

#include <algorithm>
#include <cmath>

#include "rsd/eval/abilities.h"

namespace rsd::drive {

namespace {

using data::synth::Infraction;

// nuPlan's comfort bounds (longitudinal acceleration, lateral acceleration, longitudinal jerk,
// yaw rate, yaw acceleration), which Bench2Drive's smoothness metric uses.
constexpr double kMinLonAccel = -4.05, kMaxLonAccel = 2.40, kMaxLatAccel = 4.89, kMaxJerk = 4.13;
constexpr double kMaxYawRate = 0.95, kMaxYawAccel = 1.93;

}  // namespace

RouteScore score_route(const data::synth::RouteOutcome& outcome) {
  RouteScore score;
  score.route = outcome.route;
  score.scenario = outcome.scenario;
  score.clip = outcome.clip;
  score.end = outcome.end;
  score.route_completion = 100.0 * outcome.route_completion;
  for (const auto& event : outcome.infractions) {
    ++score.infractions[static_cast<std::size_t>(event.kind)];
    score.infraction_penalty *= data::synth::penalty_factor(event.kind);
  }
  score.driving_score = score.route_completion * score.infraction_penalty;
  score.success = outcome.end == "completed" && score.infraction_penalty == 1.0 && outcome.route_completion >= 1.0 - 1e-9;
  score.time = outcome.time;
  const auto& ticks = outcome.ticks;
  score.ticks = static_cast<int>(ticks.size());
  int comfortable = 0, compared = 0;
  double ratio_sum = 0.0, jerk_sum = 0.0;
  for (std::size_t i = 0; i < ticks.size(); ++i) {
    if (i > 0) score.distance += (ticks[i].position - ticks[i - 1].position).norm();
    const double dt = i > 0 ? ticks[i].time - ticks[i - 1].time : 0.0;
    const double jerk = dt > 0.0 ? (ticks[i].accel_lon - ticks[i - 1].accel_lon) / dt : 0.0;
    const double yaw_accel = dt > 0.0 ? (ticks[i].yaw_rate - ticks[i - 1].yaw_rate) / dt : 0.0;
    jerk_sum += std::abs(jerk);
    score.max_abs_accel = std::max({score.max_abs_accel, std::abs(ticks[i].accel_lon), std::abs(ticks[i].accel_lat)});
    if (ticks[i].accel_lon >= kMinLonAccel && ticks[i].accel_lon <= kMaxLonAccel && std::abs(ticks[i].accel_lat) <= kMaxLatAccel &&
        std::abs(jerk) <= kMaxJerk && std::abs(ticks[i].yaw_rate) <= kMaxYawRate && std::abs(yaw_accel) <= kMaxYawAccel) {
      ++comfortable;
    }
    if (ticks[i].traffic_speed > 0.5) {
      ratio_sum += std::min(ticks[i].speed / ticks[i].traffic_speed, 2.0);
      ++compared;
    }
  }
  if (!ticks.empty()) {
    score.comfort = 100.0 * comfortable / static_cast<double>(ticks.size());
    score.mean_abs_jerk = jerk_sum / static_cast<double>(ticks.size());
  }
  score.mean_speed = score.time > 0.0 ? score.distance / score.time : 0.0;
  if (compared > 0) score.efficiency = 100.0 * ratio_sum / compared;
  return score;
}

std::string infraction_list(const RouteScore& score) {
  std::string listed;
  for (int k = 0; k < kNumInfractions; ++k) {
    const int count = score.infractions[static_cast<std::size_t>(k)];
    if (count == 0) continue;
    listed += (listed.empty() ? "" : ", ") + std::string(data::synth::to_string(static_cast<Infraction>(k))) +
              (count > 1 ? " x" + std::to_string(count) : "");
  }
  return listed;
}

DrivingSummary summarize(const std::vector<RouteScore>& unordered) {
  // Sums in one order (by route name), so that the means do not depend on how routes were run.
  std::vector<RouteScore> routes = unordered;
  std::sort(routes.begin(), routes.end(), [](const RouteScore& a, const RouteScore& b) { return a.route < b.route; });
  DrivingSummary summary;
  summary.routes = static_cast<int>(routes.size());
  if (routes.empty()) return summary;
  double distance = 0.0, efficiency = 0.0;
  int with_traffic = 0;
  for (const RouteScore& route : routes) {
    summary.driving_score += route.driving_score;
    summary.route_completion += route.route_completion;
    summary.infraction_penalty += route.infraction_penalty;
    summary.success_rate += route.success ? 100.0 : 0.0;
    summary.comfort += route.comfort;
    distance += route.distance;
    if (route.efficiency >= 0.0) {
      efficiency += route.efficiency;
      ++with_traffic;
    }
    for (int k = 0; k < kNumInfractions; ++k) summary.infractions[static_cast<std::size_t>(k)] += route.infractions[static_cast<std::size_t>(k)];
    for (const std::string& ability : eval::abilities_of_scenario(route.scenario)) {
      AbilityScore& score = summary.abilities[ability];
      ++score.routes;
      score.driving_score += route.driving_score;
      score.success_rate += route.success ? 100.0 : 0.0;
    }
  }
  const double n = static_cast<double>(routes.size());
  summary.driving_score /= n;
  summary.route_completion /= n;
  summary.infraction_penalty /= n;
  summary.success_rate /= n;
  summary.comfort /= n;
  summary.efficiency = with_traffic > 0 ? efficiency / with_traffic : -1.0;
  summary.distance_km = distance / 1000.0;
  for (int k = 0; k < kNumInfractions; ++k) {
    summary.infractions_per_km[static_cast<std::size_t>(k)] =
        summary.distance_km > 0.0 ? summary.infractions[static_cast<std::size_t>(k)] / summary.distance_km : 0.0;
  }
  for (auto& [name, score] : summary.abilities) {
    score.driving_score /= score.routes;
    score.success_rate /= score.routes;
  }
  return summary;
}

}  // namespace rsd::drive
