#include "rsd/teacher/ego_path.h"

#include <Eigen/Dense>

#include <cmath>

#include "rsd/util/error.h"

namespace rsd::teacher {
namespace {

double wrap_angle(double angle) { return std::atan2(std::sin(angle), std::cos(angle)); }

// Exact constant-speed, constant-turn-rate motion over dt.
EgoPathPoint advance(const EgoPathPoint& from, double speed, double yaw_rate, double dt) {
  EgoPathPoint to = from;
  to.t = from.t + dt;
  if (std::abs(yaw_rate) < 1e-6) {
    to.x += speed * std::cos(from.yaw) * dt;
    to.y += speed * std::sin(from.yaw) * dt;
  } else {
    const double radius = speed / yaw_rate;
    to.x += radius * (std::sin(from.yaw + yaw_rate * dt) - std::sin(from.yaw));
    to.y += radius * (std::cos(from.yaw) - std::cos(from.yaw + yaw_rate * dt));
  }
  to.yaw = wrap_angle(from.yaw + yaw_rate * dt);
  return to;
}

EgoPathPoint interpolate(const EgoPathPoint& a, const EgoPathPoint& b, double t) {
  const double alpha = b.t > a.t ? (t - a.t) / (b.t - a.t) : 0.0;
  EgoPathPoint p;
  p.t = t;
  p.x = a.x + alpha * (b.x - a.x);
  p.y = a.y + alpha * (b.y - a.y);
  p.yaw = wrap_angle(a.yaw + alpha * wrap_angle(b.yaw - a.yaw));
  return p;
}

}  // namespace

std::vector<EgoPathPoint> extrapolate_ego_path(const EgoPathPoint& start, double speed,
                                               double yaw_rate, double duration_s, double step_s) {
  RSD_CHECK(step_s > 0.0, "ego path step must be positive, got ", step_s);
  std::vector<EgoPathPoint> path;
  const auto steps = static_cast<int>(std::floor(duration_s / step_s + 1e-9));
  EgoPathPoint current = start;
  for (int k = 0; k < steps; ++k) {
    current = advance(current, speed, yaw_rate, step_s);
    path.push_back(current);
  }
  return path;
}

std::vector<EgoPathPoint> ego_path(const std::vector<data::Frame>& frames, std::size_t index,
                                   const EgoPathOptions& options) {
  RSD_CHECK(index < frames.size(), "frame index ", index, " of ", frames.size());
  RSD_CHECK(options.step_s > 0.0 && options.horizon_s >= 0.0 && options.frame_rate_hz > 0.0,
            "bad ego path options");
  const data::Frame& current = frames[index];
  const auto samples = static_cast<int>(std::floor(options.horizon_s / options.step_s + 1e-9));

  // Recorded poses of the following frames in the current ego frame, up to just past the horizon.
  std::vector<EgoPathPoint> recorded{EgoPathPoint{}};
  const double speed_now = current.ego.speed;
  const double yaw_rate_now = current.ego.angular_velocity.z();
  double last_speed = speed_now;
  double last_yaw_rate = yaw_rate_now;
  if (options.source == EgoPathSource::frames) {
    const Eigen::Matrix4d world_to_current = current.ego2world.inverse();
    for (std::size_t j = index + 1; j < frames.size(); ++j) {
      const double t = (frames[j].index - current.index) / options.frame_rate_hz;
      if (t <= recorded.back().t) continue;  // frames must ascend; ignore anything else
      const Eigen::Matrix4d pose = world_to_current * frames[j].ego2world;
      recorded.push_back({t, pose(0, 3), pose(1, 3), std::atan2(pose(1, 0), pose(0, 0))});
      last_speed = frames[j].ego.speed;
      last_yaw_rate = frames[j].ego.angular_velocity.z();
      if (t >= options.horizon_s) break;
    }
  }

  std::vector<EgoPathPoint> path;
  path.reserve(static_cast<std::size_t>(samples) + 1);
  std::size_t segment = 0;
  for (int k = 0; k <= samples; ++k) {
    const double t = k * options.step_s;
    if (t <= recorded.back().t) {
      while (segment + 1 < recorded.size() && recorded[segment + 1].t < t) ++segment;
      path.push_back(segment + 1 < recorded.size()
                         ? interpolate(recorded[segment], recorded[segment + 1], t)
                         : recorded[segment]);
    } else {
      // Past the clip's end (or extrapolating from the start): constant speed and yaw rate.
      const bool only_start = recorded.size() == 1;
      path.push_back(advance(recorded.back(), only_start ? speed_now : last_speed,
                             only_start ? yaw_rate_now : last_yaw_rate, t - recorded.back().t));
    }
  }
  return path;
}

}  // namespace rsd::teacher
