#include "rsd/eval/collision.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <utility>

#include "rsd/util/error.h"

namespace rsd::eval {
namespace {

// The projection interval of a rectangle's corners on `axis`.
std::pair<double, double> project(const std::vector<Eigen::Vector2d>& corners,
                                  const Eigen::Vector2d& axis) {
  double low = std::numeric_limits<double>::infinity();
  double high = -low;
  for (const Eigen::Vector2d& corner : corners) {
    const double value = corner.dot(axis);
    low = std::min(low, value);
    high = std::max(high, value);
  }
  return {low, high};
}

}  // namespace

std::vector<Eigen::Vector2d> footprint_corners(const Footprint& footprint) {
  const Eigen::Vector2d forward(std::cos(footprint.yaw), std::sin(footprint.yaw));
  const Eigen::Vector2d left(-forward.y(), forward.x());
  const Eigen::Vector2d half_length = 0.5 * footprint.length * forward;
  const Eigen::Vector2d half_width = 0.5 * footprint.width * left;
  return {footprint.center + half_length + half_width, footprint.center - half_length + half_width,
          footprint.center - half_length - half_width, footprint.center + half_length - half_width};
}

bool footprints_overlap(const Footprint& a, const Footprint& b) {
  const std::vector<Eigen::Vector2d> corners_a = footprint_corners(a);
  const std::vector<Eigen::Vector2d> corners_b = footprint_corners(b);
  // Two convex polygons are disjoint iff some edge normal separates them; a rectangle's edge
  // normals are its two axes.
  for (const double yaw : {a.yaw, a.yaw + M_PI_2, b.yaw, b.yaw + M_PI_2}) {
    const Eigen::Vector2d axis(std::cos(yaw), std::sin(yaw));
    const auto [low_a, high_a] = project(corners_a, axis);
    const auto [low_b, high_b] = project(corners_b, axis);
    if (high_a <= low_b || high_b <= low_a) return false;
  }
  return true;
}

Footprint MovingObstacle::at(double t) const {
  Footprint moved = footprint;
  moved.center += t * velocity;
  return moved;
}

std::vector<Footprint> ego_footprints(const std::vector<Eigen::Vector2d>& waypoints, double length,
                                      double width, double min_motion_m) {
  RSD_CHECK(length > 0.0 && width > 0.0, "ego footprint needs a positive size, got ", length, " x ",
            width);
  std::vector<Footprint> footprints;
  footprints.reserve(waypoints.size());
  Eigen::Vector2d previous = Eigen::Vector2d::Zero();
  double yaw = 0.0;
  for (const Eigen::Vector2d& waypoint : waypoints) {
    const Eigen::Vector2d motion = waypoint - previous;
    if (motion.norm() >= min_motion_m) yaw = std::atan2(motion.y(), motion.x());
    footprints.push_back({waypoint, length, width, yaw});
    previous = waypoint;
  }
  return footprints;
}

std::vector<bool> trajectory_collisions(const std::vector<Eigen::Vector2d>& waypoints,
                                        const std::vector<double>& times_s,
                                        const std::vector<MovingObstacle>& obstacles,
                                        double ego_length, double ego_width) {
  RSD_CHECK_EQ(waypoints.size(), times_s.size(), "one time per waypoint");
  const std::vector<Footprint> ego = ego_footprints(waypoints, ego_length, ego_width);
  std::vector<bool> collisions(waypoints.size(), false);
  for (std::size_t k = 0; k < ego.size(); ++k) {
    for (const MovingObstacle& obstacle : obstacles) {
      if (footprints_overlap(ego[k], obstacle.at(times_s[k]))) {
        collisions[k] = true;
        break;
      }
    }
  }
  return collisions;
}

}  // namespace rsd::eval
