#include "data/synth/expert.h"

#include <algorithm>
#include <cmath>
#include <limits>

namespace rsd::data::synth {
namespace {

constexpr double kMaxAccel = 2.0;
constexpr double kComfortDecel = 3.5;
constexpr double kHeadway = 1.2;
constexpr double kLookahead = 55.0;

// Arc length and lateral offset of actor `index` (now) relative to the ego route, if it is near it.
bool locate(const EgoAgent& ego, const Forecasts& forecasts, int index, double back, double ahead, double* s,
            double* lateral) {
  return ego.path->project(forecasts.actors[static_cast<std::size_t>(index)][0].position, ego.s - back,
                           ego.s + ahead, s, lateral);
}

// No vehicle in the lane at offset `target` near us, and none closing in fast from behind.
bool lane_free(const EgoAgent& ego, const Simulation& simulation, const Forecasts& forecasts, double target) {
  for (std::size_t i = 0; i < simulation.world.actors.size(); ++i) {
    const ActorSpec& spec = simulation.world.actors[i];
    if (spec.kind != ActorKind::vehicle && spec.kind != ActorKind::prop) continue;
    double s = 0.0, lateral = 0.0;
    if (!locate(ego, forecasts, static_cast<int>(i), 40.0, 30.0, &s, &lateral)) continue;
    if (std::abs(lateral - target) > 2.0) continue;
    const double relative = s - ego.s;
    if (relative > -14.0 && relative < 22.0) return false;
    if (relative <= -14.0 && forecasts.actor_speeds[i] > ego.v + 2.0 && relative > -45.0) return false;
  }
  return true;
}

double change_length(double v) { return std::clamp(2.0 * v + 10.0, 12.0, 25.0); }

void plan_lane_changes(EgoAgent& ego, const Simulation& simulation, const Forecasts& forecasts) {
  if (ego.lateral.changing_direction(ego.s) != 0) return;
  const double current = ego.lateral.target();
  const auto& actors = simulation.world.actors;
  if (ego.may_overtake) {
    if (ego.overtaken < 0) {
      // The blocking obstacles in our lane ahead: start when the nearest is close, and come back
      // once the farthest is behind us.
      double nearest_gap = std::numeric_limits<double>::infinity();
      double farthest_s = -std::numeric_limits<double>::infinity();
      int farthest = -1;
      for (std::size_t i = 0; i < actors.size(); ++i) {
        if (!actors[i].blocking) continue;
        double s = 0.0, lateral = 0.0;
        if (!locate(ego, forecasts, static_cast<int>(i), 0.0, kLookahead, &s, &lateral)) continue;
        if (std::abs(lateral - current) >= 1.5) continue;
        nearest_gap = std::min(nearest_gap, s - actors[i].extent.x() - (ego.s + simulation.world.ego.extent.x()));
        if (s > farthest_s) {
          farthest_s = s;
          farthest = static_cast<int>(i);
        }
      }
      const double target = current - ego.lane_width;
      if (farthest >= 0 && nearest_gap > 0.0 && nearest_gap < std::max(25.0, 3.0 * ego.v) &&
          target >= ego.left_limit - 1e-9 && lane_free(ego, simulation, forecasts, target)) {
        ego.lateral.change(ego.s, std::min(change_length(ego.v), nearest_gap + 2.0), target);
        ego.overtaken = farthest;
        return;
      }
    } else {
      double s = 0.0, lateral = 0.0;
      const ActorSpec& obstacle = actors[static_cast<std::size_t>(ego.overtaken)];
      if (ego.path->project(forecasts.actors[static_cast<std::size_t>(ego.overtaken)][0].position, ego.s - 60.0,
                            ego.s + 10.0, &s, &lateral)) {
        const double cleared = ego.s - simulation.world.ego.extent.x() - (s + obstacle.extent.x());
        const double target = current + ego.lane_width;
        if (cleared > 6.0 && target <= ego.right_limit + 1e-9 && lane_free(ego, simulation, forecasts, target)) {
          ego.lateral.change(ego.s, change_length(ego.v), target);
          ego.overtaken = -1;
          ego.may_overtake = false;  // one obstacle per scenario
          return;
        }
      }
    }
  }
  if (ego.yields_to_emergency) {
    for (std::size_t i = 0; i < actors.size(); ++i) {
      if (!actors[i].emergency) continue;
      double s = 0.0, lateral = 0.0;
      if (!locate(ego, forecasts, static_cast<int>(i), 45.0, 0.0, &s, &lateral)) continue;
      const double target = current + ego.lane_width;
      if (std::abs(lateral - current) < 1.5 && s < ego.s && target <= ego.right_limit + 1e-9 &&
          lane_free(ego, simulation, forecasts, target)) {
        ego.lateral.change(ego.s, change_length(ego.v), target);
        ego.yields_to_emergency = false;
        return;
      }
    }
  }
}

}  // namespace

EgoDecision decide_ego(EgoAgent& ego, const Simulation& simulation, const Forecasts& forecasts, double time) {
  plan_lane_changes(ego, simulation, forecasts);

  Follower follower;
  follower.path = ego.path.get();
  follower.lateral = &ego.lateral;
  follower.s = ego.s;
  follower.v = ego.v;
  follower.front = simulation.world.ego.extent.x();
  follower.half_width = simulation.world.ego.extent.y();
  follower.margin = 0.5;
  follower.lookahead = kLookahead;
  follower.forecast_steps = kForecastSteps;
  follower.self = -1;
  std::vector<Obstacle> obstacles = obstacles_ahead(follower, forecasts, simulation.world, simulation.world.ego);
  for (Obstacle& obstacle : obstacles) {
    // Wait well behind an obstacle we mean to drive around, so that the lane change fits.
    if (obstacle.actor >= 0 && simulation.world.actors[static_cast<std::size_t>(obstacle.actor)].blocking &&
        (ego.may_overtake || ego.overtaken == obstacle.actor)) {
      obstacle.min_gap = 10.0;
    }
  }
  for (const StopLine& line : ego.stop_lines) {
    const double gap = line.s - (ego.s + follower.front);
    if (gap < -0.5 || gap > 90.0) continue;
    const int state = simulation.signals.state(line.group, time);
    const bool can_stop = gap > ego.v * ego.v / (2.0 * kComfortDecel);
    if (state == 0 || (state == 1 && can_stop)) {
      Obstacle stop;
      stop.gap = gap;
      stop.min_gap = 0.8;
      stop.actor = -2;
      obstacles.push_back(stop);
    }
  }
  const double v0 = curve_speed_limit(*ego.path, ego.lateral, ego.s, ego.desired_speed);
  int binding = -1;
  EgoDecision decision;
  decision.accel = idm_acceleration(ego.v, v0, kMaxAccel, kComfortDecel, kHeadway, obstacles, &binding);
  const double free_accel = idm_acceleration(ego.v, v0, kMaxAccel, kComfortDecel, kHeadway, {});
  decision.hazard = binding >= 0 && decision.accel < free_accel - 0.3 && decision.accel < 0.0;
  return decision;
}

}  // namespace rsd::data::synth
