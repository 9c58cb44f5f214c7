// Planned waypoints -> steer, throttle, brake: the lateral and longitudinal PID controllers of
// Bench2DriveZoo's agents (team_code/pid_controller.py, from TCP), so that a model scored here
// and the same model under Bench2Drive's leaderboard turn waypoints into the same controls.
//
// Steering aims at the waypoint whose segment midpoint lies nearest aim_distance metres away, or
// at the route's next target point when that needs less steering (or when the plan's last
// segment turns away from it sharply while the target is near). The angle to the aim point
// (degrees / 90, positive = right) goes through the turn PID. Desired speed = mean length of the
// plan's segments x 2 (waypoints 0.5 s apart); the speed PID acts on the clipped speed error;
// brake when the desired speed is below brake_speed or the ego is brake_ratio times faster.
#pragma once

#include <Eigen/Core>

#include <deque>
#include <vector>

namespace rsd::drive {

/// CARLA's vehicle control: steer in [-1, 1] (positive = right), throttle and brake in [0, 1].
struct Control {
  double throttle = 0.0;
  double steer = 0.0;
  double brake = 0.0;
};

/// A PID over a sliding window: integral = the window's mean error, derivative = the last change.
class PidController {
 public:
  PidController(double kp, double ki, double kd, int window);
  double step(double error);
  void reset();

 private:
  double kp_, ki_, kd_;
  int window_;
  std::deque<double> errors_;
};

struct WaypointControllerOptions {
  double turn_kp = 0.75, turn_ki = 0.75, turn_kd = 0.3;
  int turn_window = 40;
  double speed_kp = 5.0, speed_ki = 0.5, speed_kd = 1.0;
  int speed_window = 40;
  double max_throttle = 0.75;
  double brake_speed = 0.4;     // m/s
  double brake_ratio = 1.1;
  double clip_delta = 0.25;     // m/s, the largest speed error the speed PID sees
  double aim_distance = 4.0;    // metres
  double angle_threshold = 0.3; // (degrees / 90)
  double distance_threshold = 10.0;  // metres
  double waypoint_dt = 0.5;     // seconds between waypoints
};

class WaypointController {
 public:
  explicit WaypointController(WaypointControllerOptions options = {});

  /// `waypoints`: the plan in librsd's ego frame (x forward, y left, metres), at least 2;
  /// `speed`: m/s; `target`: the route's next target point in the same frame (the annotation's
  /// x/y_command_near; a point straight ahead when unknown).
  Control control(const std::vector<Eigen::Vector2d>& waypoints, double speed, const Eigen::Vector2d& target);
  void reset();
  const WaypointControllerOptions& options() const { return options_; }

 private:
  WaypointControllerOptions options_;
  PidController turn_, speed_;
};

}  // namespace rsd::drive
