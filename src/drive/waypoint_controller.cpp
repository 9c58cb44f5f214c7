#include "rsd/drive/waypoint_controller.h"

#include <algorithm>
#include <cmath>
#include <numeric>

#include "rsd/util/error.h"

namespace rsd::drive {

PidController::PidController(double kp, double ki, double kd, int window)
    : kp_(kp), ki_(ki), kd_(kd), window_(std::max(window, 1)) {}

double PidController::step(double error) {
  errors_.push_back(error);
  if (static_cast<int>(errors_.size()) > window_) errors_.pop_front();
  double integral = 0.0, derivative = 0.0;
  if (errors_.size() >= 2) {
    integral = std::accumulate(errors_.begin(), errors_.end(), 0.0) / static_cast<double>(errors_.size());
    derivative = errors_.back() - errors_[errors_.size() - 2];
  }
  return kp_ * error + ki_ * integral + kd_ * derivative;
}

void PidController::reset() { errors_.clear(); }

namespace {

// Heading of a point of librsd's ego frame as Bench2DriveZoo measures it (x right, y forward):
// degrees from straight ahead / 90, positive = right.
double steering_angle(const Eigen::Vector2d& point) {
  const double right = -point.y(), forward = point.x();
  return (90.0 - std::atan2(forward, right) * 180.0 / M_PI) / 90.0;
}

}  // namespace

WaypointController::WaypointController(WaypointControllerOptions options)
    : options_(options),
      turn_(options.turn_kp, options.turn_ki, options.turn_kd, options.turn_window),
      speed_(options.speed_kp, options.speed_ki, options.speed_kd, options.speed_window) {}

void WaypointController::reset() {
  turn_.reset();
  speed_.reset();
}

Control WaypointController::control(const std::vector<Eigen::Vector2d>& waypoints, double speed,
                                    const Eigen::Vector2d& target) {
  if (waypoints.size() < 2) throw Error("waypoint controller: a plan needs at least 2 waypoints");
  const std::size_t pairs = waypoints.size() - 1;
  double desired_speed = 0.0, best_norm = 1e5;
  Eigen::Vector2d aim = waypoints[0];
  for (std::size_t i = 0; i < pairs; ++i) {
    desired_speed += (waypoints[i + 1] - waypoints[i]).norm() / options_.waypoint_dt / static_cast<double>(pairs);
    const double norm = ((waypoints[i + 1] + waypoints[i]) / 2.0).norm();
    if (std::abs(options_.aim_distance - best_norm) > std::abs(options_.aim_distance - norm)) {
      aim = waypoints[i];
      best_norm = norm;
    }
  }
  const double angle = steering_angle(aim);
  const double angle_last = steering_angle(waypoints[pairs] - waypoints[pairs - 1]);
  const double angle_target = steering_angle(target);
  const bool aim_at_target = std::abs(angle_target) < std::abs(angle) ||
                             (std::abs(angle_target - angle_last) > options_.angle_threshold &&
                              target.x() < options_.distance_threshold);
  Control out;
  out.steer = std::clamp(turn_.step(aim_at_target ? angle_target : angle), -1.0, 1.0);
  const bool brake = desired_speed < options_.brake_speed || speed / desired_speed > options_.brake_ratio;
  const double delta = std::clamp(desired_speed - speed, 0.0, options_.clip_delta);
  const double throttle = std::clamp(speed_.step(delta), 0.0, options_.max_throttle);
  out.throttle = brake ? 0.0 : throttle;
  out.brake = brake ? 1.0 : 0.0;
  return out;
}

}  // namespace rsd::drive
