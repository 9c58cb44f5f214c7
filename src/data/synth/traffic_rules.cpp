// Rules shared by the ego's expert and the NPC vehicles: what is in my corridor, how hard to brake.
#include <algorithm>
#include <cmath>

#include "data/synth/traffic.h"

namespace rsd::data::synth {

int SignalPlan::state(int group, double time) const {
  if (phases.empty() || group < 0 || group > 1) return 2;
  for (const Phase& phase : phases) {
    if (time < phase.until) return phase.state[group];
  }
  return phases.back().state[group];
}

ForecastPose pose_on(const Path& path, const LateralProfile& lateral, double s) {
  const Path::Pose base = path.at(s);
  const double offset = lateral.at(s);
  ForecastPose pose;
  pose.position = base.position + offset * Eigen::Vector2d(-std::sin(base.yaw), std::cos(base.yaw));
  pose.yaw = base.yaw + std::atan(lateral.slope(s));
  return pose;
}

double curvature_on(const Path& path, const LateralProfile& lateral, double s) {
  return path.at(s).curvature + lateral.second(s);
}

double curve_speed_limit(const Path& path, const LateralProfile& lateral, double s, double desired) {
  constexpr double kLateralAccel = 2.0;
  constexpr double kDecel = 1.5;
  double limit = desired;
  for (double ahead = 0.0; ahead <= 35.0; ahead += 1.0) {
    const double curvature = std::abs(curvature_on(path, lateral, s + ahead));
    if (curvature < 1e-3) continue;
    const double in_curve = std::sqrt(kLateralAccel / curvature);
    limit = std::min(limit, std::sqrt(in_curve * in_curve + 2.0 * kDecel * ahead));
  }
  return limit;
}

std::vector<Obstacle> obstacles_ahead(const Follower& follower, const Forecasts& forecasts,
                                      const ClipWorld& world, const EgoSpec& ego) {
  std::vector<Obstacle> found;
  const Eigen::Vector2d here = pose_on(*follower.path, *follower.lateral, follower.s).position;
  const double s_from = follower.s;
  const double s_to = follower.s + follower.lookahead;
  const int count = static_cast<int>(world.actors.size());
  for (int index = -1; index < count; ++index) {
    if (index == follower.self) continue;
    if (index == -1 && !follower.include_ego) continue;
    Eigen::Vector3d extent;
    const Forecast* forecast;
    double speed;
    if (index == -1) {
      extent = ego.extent;
      forecast = &forecasts.ego;
      speed = forecasts.ego_speed;
    } else {
      const ActorSpec& spec = world.actors[static_cast<std::size_t>(index)];
      if (spec.kind == ActorKind::traffic_light || spec.kind == ActorKind::traffic_sign) continue;
      extent = spec.extent;
      forecast = &forecasts.actors[static_cast<std::size_t>(index)];
      speed = forecasts.actor_speeds[static_cast<std::size_t>(index)];
    }
    if (((*forecast)[0].position - here).norm() > follower.lookahead + 45.0) continue;
    for (int step = 0; step < follower.forecast_steps; ++step) {
      const ForecastPose& pose = (*forecast)[static_cast<std::size_t>(step)];
      double s_actor = 0.0, lateral = 0.0;
      if (!follower.path->project(pose.position, s_from - 1.0, s_to, &s_actor, &lateral)) continue;
      const double path_yaw = follower.path->at(s_actor).yaw;
      const double relative = pose.yaw - path_yaw;
      const double c = std::abs(std::cos(relative)), s = std::abs(std::sin(relative));
      const double half_across = extent.y() * c + extent.x() * s;
      const double half_along = extent.x() * c + extent.y() * s;
      const double offset = follower.lateral->at(s_actor);
      if (std::abs(lateral - offset) >= follower.half_width + follower.margin + half_across) continue;
      const double gap = s_actor - half_along - (follower.s + follower.front);
      if (gap < -(half_along + follower.front)) continue;  // beside or behind us
      const double time = step * kForecastDt;
      if (step > 0) {
        // Forecast intrusion: relevant unless we are through well before it arrives.
        const double our_arrival = std::max(gap, 0.0) / std::max(follower.v, 1.0);
        if (our_arrival < time - 0.7) continue;
      }
      Obstacle obstacle;
      obstacle.gap = gap;
      obstacle.actor = index;
      obstacle.predicted = step > 0;
      obstacle.speed = step == 0 ? std::max(0.0, speed * std::cos(relative)) : 0.0;
      found.push_back(obstacle);
      break;  // the earliest intrusion of this actor is the one that matters
    }
  }
  std::sort(found.begin(), found.end(), [](const Obstacle& a, const Obstacle& b) { return a.gap < b.gap; });
  return found;
}

double idm_acceleration(double v, double v0, double max_accel, double comfort_decel, double headway,
                        const std::vector<Obstacle>& obstacles, int* binding) {
  double free_term;
  if (v0 < 0.1) {
    free_term = -comfort_decel;
  } else {
    const double ratio = v / v0;
    free_term = max_accel * (1.0 - ratio * ratio * ratio * ratio);
  }
  double worst = 0.0;
  int worst_index = -1;
  for (std::size_t i = 0; i < obstacles.size(); ++i) {
    const Obstacle& obstacle = obstacles[i];
    const double closing = v - obstacle.speed;
    const double desired_gap =
        obstacle.min_gap + std::max(0.0, v * headway + v * closing / (2.0 * std::sqrt(max_accel * comfort_decel)));
    const double gap = std::max(obstacle.gap, 0.05);
    const double term = -max_accel * (desired_gap / gap) * (desired_gap / gap);
    if (term < worst) {
      worst = term;
      worst_index = static_cast<int>(i);
    }
  }
  if (binding != nullptr) *binding = worst_index;
  return std::clamp(free_term + worst, -9.0, max_accel);
}

}  // namespace rsd::data::synth
