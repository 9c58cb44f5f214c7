// Collision checks of a planned trajectory: the ego's footprint, oriented along the trajectory,
// against the footprints of other agents at the same future time. Everything lies on the ground
// plane of the current (augmented) ego frame: x forward, y left, metres, yaw counter-clockwise.
#pragma once

#include <Eigen/Core>
#include <vector>

namespace rsd::eval {

/// An oriented rectangle on the ground: centre, full length (along yaw) and width.
struct Footprint {
  Eigen::Vector2d center = Eigen::Vector2d::Zero();
  double length = 0.0;
  double width = 0.0;
  double yaw = 0.0;
};

/// True when the rectangles share interior area (separating-axis test over both rectangles'
/// axes). Rectangles that only touch along an edge do not overlap.
bool footprints_overlap(const Footprint& a, const Footprint& b);

/// The four corners, counter-clockwise: front-left, rear-left, rear-right, front-right.
std::vector<Eigen::Vector2d> footprint_corners(const Footprint& footprint);

/// Another agent: its footprint now and its velocity (m/s, same frame).
struct MovingObstacle {
  Footprint footprint;
  Eigen::Vector2d velocity = Eigen::Vector2d::Zero();

  /// The footprint `t` seconds ahead under constant velocity (heading and size unchanged).
  Footprint at(double t) const;
};

/// The ego's footprint at each waypoint of `waypoints` (the ego's positions at successive future
/// steps, relative to the current pose at the origin with yaw 0). The heading at step k is the
/// direction of travel from the previous position (the origin for k = 0); a step shorter than
/// `min_motion_m` keeps the previous heading, so a standing ego keeps facing forward.
std::vector<Footprint> ego_footprints(const std::vector<Eigen::Vector2d>& waypoints, double length,
                                      double width, double min_motion_m = 0.1);

/// For each step k, whether the ego footprint at waypoints[k] overlaps any obstacle advanced to
/// time times_s[k] (constant velocity). `times_s` has one entry per waypoint.
std::vector<bool> trajectory_collisions(const std::vector<Eigen::Vector2d>& waypoints,
                                        const std::vector<double>& times_s,
                                        const std::vector<MovingObstacle>& obstacles,
                                        double ego_length, double ego_width);

}  // namespace rsd::eval
