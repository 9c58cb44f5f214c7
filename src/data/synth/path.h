// A drivable or walkable centre line in the synthetic map frame (CARLA's left-handed frame: yaw
// from +x towards +y, so positive curvature turns right), and the lateral offset profile used for
// lane changes on top of it.
#pragma once

#include <Eigen/Core>

#include <vector>

namespace rsd::data::synth {

class Path {
 public:
  struct Pose {
    Eigen::Vector2d position = Eigen::Vector2d::Zero();
    double yaw = 0.0;        // radians
    double curvature = 0.0;  // 1/m, positive = turning right (yaw increasing)
  };

  Path() = default;
  Path(const Eigen::Vector2d& start, double yaw);

  /// Appends a straight piece along the current heading.
  Path& straight(double length);
  /// Appends a circular arc; angle > 0 turns right (yaw increases).
  Path& arc(double radius, double angle);
  /// Turns to face `point` and goes straight to it (walkers' polylines).
  Path& line_to(const Eigen::Vector2d& point);

  double length() const { return length_; }
  /// The pose at arc length s; before 0 and after the end the path continues straight.
  Pose at(double s) const;

  /// The point of [s_from, s_to] nearest to `point`: its arc length and signed lateral offset
  /// (positive = right of the heading). False when the range is empty or the point lies before
  /// or beyond it.
  bool project(const Eigen::Vector2d& point, double s_from, double s_to, double* s, double* lateral) const;

 private:
  struct Piece {
    double s0 = 0.0, length = 0.0, curvature = 0.0, yaw0 = 0.0;
    Eigen::Vector2d start = Eigen::Vector2d::Zero();
  };
  Pose evaluate(const Piece& piece, double ds) const;
  void resample();

  static constexpr double kStep = 0.25;  // spacing of the samples used by project()
  std::vector<Piece> pieces_;
  std::vector<Eigen::Vector2d> samples_;
  Eigen::Vector2d end_ = Eigen::Vector2d::Zero();
  double end_yaw_ = 0.0;
  double length_ = 0.0;
};

/// Lateral offset (metres, positive = right) along a path, changing smoothly (quintic) between
/// lanes over a given length of path.
class LateralProfile {
 public:
  explicit LateralProfile(double initial = 0.0) : initial_(initial) {}
  /// Starts moving from the current target to `target` at arc length s0 over `length` metres.
  void change(double s0, double length, double target);
  double at(double s) const;
  double slope(double s) const;      // d offset / ds
  double second(double s) const;     // d^2 offset / ds^2
  double target() const { return changes_.empty() ? initial_ : changes_.back().to; }
  /// True while s lies inside a change; direction -1 = to the left, +1 = to the right.
  int changing_direction(double s) const;

 private:
  struct Change {
    double s0, length, from, to;
  };
  const Change* active(double s) const;
  double initial_;
  std::vector<Change> changes_;
};

}  // namespace rsd::data::synth
