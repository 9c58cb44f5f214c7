#include "rsd/drive/driving_agent.h"

#include <cmath>

#include "rsd/data/synth/closed_loop.h"
#include "rsd/util/error.h"

namespace rsd::drive {

DrivingAgent::~DrivingAgent() = default;

Eigen::Vector2d route_target(const data::Frame& frame) {
  // An annotation without x/y_command_near reads as (0, 0): aim straight ahead instead.
  if (frame.command_target.norm() < 1e-6) return {10.0, 0.0};
  return frame.command_target;
}

namespace {

// For agents whose plan is their route: the plan's far end (straight ahead while standing).
Eigen::Vector2d plan_target(const std::vector<Eigen::Vector2d>& waypoints) {
  return waypoints.back().norm() > 1.0 ? waypoints.back() : Eigen::Vector2d(10.0, 0.0);
}

class ConstantVelocityAgent : public DrivingAgent {
 public:
  ConstantVelocityAgent(bool straight_line, int steps, WaypointControllerOptions controller)
      : straight_line_(straight_line), steps_(steps), controller_(controller) {}
  std::string name() const override { return straight_line_ ? "straight_line" : "constant_velocity"; }
  void reset() override {
    controller_.reset();
    kept_speed_ = -1.0;
  }

  Decision decide(const Observation& observation) override {
    const data::Frame& frame = *observation.frame;
    // The speed of the route's first tick: planning at each tick's own speed would leave the
    // controller no speed error to hold it against the rolling resistance.
    if (kept_speed_ < 0.0) kept_speed_ = std::max(frame.ego.speed, 0.0);
    const double speed = kept_speed_;
    const double yaw_rate = straight_line_ ? 0.0 : frame.ego.angular_velocity.z();
    const double dt = controller_.options().waypoint_dt;
    Decision decision;
    for (int k = 1; k <= steps_; ++k) {
      const double t = k * dt, distance = speed * t, heading = yaw_rate * t;
      if (std::abs(yaw_rate) < 1e-4 || speed < 1e-3) {
        decision.waypoints.emplace_back(distance, 0.0);
      } else {
        const double radius = speed / yaw_rate;
        decision.waypoints.emplace_back(radius * std::sin(heading), radius * (1.0 - std::cos(heading)));
      }
    }
    // Its plan is its own route: it steers along it, never towards the route's target.
    decision.control = controller_.control(decision.waypoints, frame.ego.speed, plan_target(decision.waypoints));
    return decision;
  }

 private:
  double kept_speed_ = -1.0;
  bool straight_line_;
  int steps_;
  WaypointController controller_;
};

class ExpertAgent : public DrivingAgent {
 public:
  ExpertAgent(int steps, WaypointControllerOptions controller) : steps_(steps), controller_(controller) {}
  std::string name() const override { return "expert"; }
  void reset() override { controller_.reset(); }

  Decision decide(const Observation& observation) override {
    if (observation.world == nullptr) throw Error("the expert agent drives only in the synthetic world (privileged)");
    Decision decision;
    decision.waypoints = observation.world->expert_plan(steps_).waypoints;
    // It plans lane changes the route's centre line does not show: it steers along its plan.
    decision.control = controller_.control(decision.waypoints, observation.frame->ego.speed, plan_target(decision.waypoints));
    return decision;
  }

 private:
  int steps_;
  WaypointController controller_;
};

void check_steps(int steps) {
  if (steps < 2) throw ConfigError("a reference agent needs at least 2 waypoints, got " + std::to_string(steps));
}

}  // namespace

std::unique_ptr<DrivingAgent> make_constant_velocity_agent(bool straight_line, int steps,
                                                           WaypointControllerOptions controller) {
  check_steps(steps);
  return std::make_unique<ConstantVelocityAgent>(straight_line, steps, controller);
}

std::unique_ptr<DrivingAgent> make_expert_agent(int steps, WaypointControllerOptions controller) {
  check_steps(steps);
  return std::make_unique<ExpertAgent>(steps, controller);
}

}  // namespace rsd::drive
