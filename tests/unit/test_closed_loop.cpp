// Closed-loop driving (issue 16): the waypoint controller against hand-computed values, the
// synthetic world's bicycle model, infractions and route ends, the Bench2Drive driving score, the
// per-route result files and their merge, and the model's input built from in-memory images.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <opencv2/core.hpp>
#include <opencv2/imgcodecs.hpp>
#include <torch/torch.h>
#include <zlib.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "rsd/data/dataset.h"
#include "rsd/data/frame_reader.h"
#include "rsd/data/frame_sample.h"
#include "rsd/data/synth/closed_loop.h"
#include "rsd/data/synth/synth.h"
#include "rsd/drive/drive_job.h"
#include "rsd/drive/driving_agent.h"
#include "rsd/drive/driving_score.h"
#include "rsd/drive/model_agent.h"
#include "rsd/drive/route_runner.h"
#include "rsd/drive/waypoint_controller.h"
#include "rsd/util/error.h"
#include "support/error_message.h"
#include "support/temp_dir.h"
#include "support/tiny_e2e.h"

namespace {

namespace fs = std::filesystem;
namespace synth = rsd::data::synth;
namespace drive = rsd::drive;
using rsd::test::error_message;
using rsd::test::read_text;
using rsd::test::TempDir;
using Json = nlohmann::ordered_json;
using synth::Infraction;

constexpr double kDt = 0.1;  // the world's tick
constexpr double kPi = 3.14159265358979323846;

// ---- PidController ------------------------------------------------------------------------------

TEST(ClosedLoopPid, WindowMeanIntegralAndLastDifferenceDerivative) {
  drive::PidController pid(2.0, 0.5, 0.25, 3);
  // One error: no integral, no derivative (Bench2DriveZoo's PIDController needs two).
  EXPECT_DOUBLE_EQ(pid.step(1.0), 2.0);
  // [1, 3]: mean 2, difference 2.
  EXPECT_DOUBLE_EQ(pid.step(3.0), 2.0 * 3.0 + 0.5 * 2.0 + 0.25 * 2.0);
  // [1, 3, -2]: mean 2/3, difference -5.
  EXPECT_DOUBLE_EQ(pid.step(-2.0), 2.0 * -2.0 + 0.5 * (2.0 / 3.0) + 0.25 * -5.0);
  // The window holds 3: 1 leaves, [3, -2, 4]: mean 5/3 (not 6/4), difference 6.
  EXPECT_DOUBLE_EQ(pid.step(4.0), 2.0 * 4.0 + 0.5 * (5.0 / 3.0) + 0.25 * 6.0);
  EXPECT_DOUBLE_EQ(pid.step(0.0), 0.5 * (2.0 / 3.0) + 0.25 * -4.0);  // [-2, 4, 0]
  pid.reset();
  EXPECT_DOUBLE_EQ(pid.step(5.0), 10.0);  // forgotten: one error again
  EXPECT_DOUBLE_EQ(pid.step(5.0), 10.0 + 0.5 * 5.0);
}

TEST(ClosedLoopPid, WindowOfOneIsProportionalOnly) {
  drive::PidController pid(1.5, 10.0, 10.0, 1);
  EXPECT_DOUBLE_EQ(pid.step(2.0), 3.0);
  EXPECT_DOUBLE_EQ(pid.step(-4.0), -6.0);  // a one-error window has neither integral nor derivative
}

// ---- WaypointController -------------------------------------------------------------------------

// `n` waypoints 0.5 s apart along +x at `speed`.
std::vector<Eigen::Vector2d> straight_plan(double speed, int n = 6) {
  std::vector<Eigen::Vector2d> plan;
  for (int k = 1; k <= n; ++k) plan.emplace_back(speed * 0.5 * k, 0.0);
  return plan;
}

TEST(ClosedLoopController, StraightPlanAtTheEgoSpeedHoldsTheWheelAndDoesNotBrake) {
  drive::WaypointController controller;
  for (int tick = 0; tick < 5; ++tick) {
    const drive::Control control = controller.control(straight_plan(5.0), 5.0, {10.0, 0.0});
    EXPECT_NEAR(control.steer, 0.0, 1e-12);
    EXPECT_EQ(control.brake, 0.0);
    EXPECT_EQ(control.throttle, 0.0);  // no speed error
  }
}

TEST(ClosedLoopController, ThrottleFollowsTheClippedSpeedError) {
  drive::WaypointControllerOptions options;
  options.speed_kp = 1.0;
  options.speed_ki = 0.5;
  options.speed_kd = 2.0;
  drive::WaypointController controller(options);
  // Desired 6 m/s, ego 5.9: error 0.1 (below the clip).
  drive::Control control = controller.control(straight_plan(6.0), 5.9, {10.0, 0.0});
  EXPECT_NEAR(control.throttle, 0.1, 1e-12);
  // Ego 5: error 1, clipped to 0.25; window [0.1, 0.25]: mean 0.175, difference 0.15.
  control = controller.control(straight_plan(6.0), 5.0, {10.0, 0.0});
  EXPECT_NEAR(control.throttle, 0.25 + 0.5 * 0.175 + 2.0 * 0.15, 1e-12);
  // Much slower: the PID output is large, the throttle stops at max_throttle.
  drive::WaypointControllerOptions strong;
  strong.speed_kp = 10.0;
  drive::WaypointController saturated(strong);
  EXPECT_DOUBLE_EQ(saturated.control(straight_plan(6.0), 1.0, {10.0, 0.0}).throttle, strong.max_throttle);
}

TEST(ClosedLoopController, DesiredSpeedIsTheMeanSegmentLengthOverHalfASecond) {
  // Segments 1, 2 and 3 m: mean 2 m per 0.5 s = 4 m/s (first segment alone: 2, last alone: 6).
  const std::vector<Eigen::Vector2d> plan = {{1.0, 0.0}, {2.0, 0.0}, {4.0, 0.0}, {7.0, 0.0}};
  drive::WaypointControllerOptions options;
  options.speed_kp = 1.0;
  {
    drive::WaypointController controller(options);
    EXPECT_NEAR(controller.control(plan, 3.9, {10.0, 0.0}).throttle, 0.1, 1e-12);  // 4 - 3.9
  }
  {
    drive::WaypointController controller(options);
    EXPECT_EQ(controller.control(plan, 4.39, {10.0, 0.0}).brake, 0.0);  // 4.39 / 4 < 1.1
  }
  {
    drive::WaypointController controller(options);
    const drive::Control control = controller.control(plan, 4.41, {10.0, 0.0});  // 4.41 / 4 > 1.1
    EXPECT_EQ(control.brake, 1.0);
    EXPECT_EQ(control.throttle, 0.0);
  }
}

TEST(ClosedLoopController, TooFastBrakes) {
  drive::WaypointController controller;
  const drive::Control fast = controller.control(straight_plan(5.0), 5.6, {10.0, 0.0});  // ratio 1.12
  EXPECT_EQ(fast.brake, 1.0);
  EXPECT_EQ(fast.throttle, 0.0);
  drive::WaypointController other;
  const drive::Control slower = other.control(straight_plan(5.0), 5.4, {10.0, 0.0});  // ratio 1.08
  EXPECT_EQ(slower.brake, 0.0);
}

TEST(ClosedLoopController, StandingPlanBrakesFully) {
  drive::WaypointController controller;
  const std::vector<Eigen::Vector2d> standing(6, Eigen::Vector2d::Zero());
  for (double speed : {0.0, 3.0}) {
    const drive::Control control = controller.control(standing, speed, {10.0, 0.0});
    EXPECT_EQ(control.brake, 1.0) << speed;
    EXPECT_EQ(control.throttle, 0.0) << speed;
    // The target straight ahead needs less steering than the (degenerate) plan: it is aimed at.
    EXPECT_NEAR(control.steer, 0.0, 1e-12) << speed;
  }
}

TEST(ClosedLoopController, PlanToTheRightSteersRightByTheAimAngle) {
  drive::WaypointController controller;
  // Points 2 m apart forward, drifting 0.5 m right (negative y) per point; the segment midpoints
  // lie 3.09, 5.15, 7.21 ... m away: the one nearest 4 m belongs to segment 0, whose first point
  // (2, -0.5) is the aim (Bench2DriveZoo aims at waypoints[i], not the midpoint).
  std::vector<Eigen::Vector2d> plan;
  for (int k = 1; k <= 6; ++k) plan.emplace_back(2.0 * k, -0.5 * k);
  // A target in the same direction: neither smaller nor far from the last segment's angle.
  const double aim_angle = std::atan(0.5 / 2.0) * 180.0 / kPi / 90.0;  // degrees right / 90
  const drive::Control first = controller.control(plan, 4.0, {20.0, -5.0});
  EXPECT_GT(first.steer, 0.0);
  EXPECT_NEAR(first.steer, 0.75 * aim_angle, 1e-9);  // turn_kp x angle (one error in the window)
  // Second tick, same plan: + ki x mean + kd x 0.
  const drive::Control second = controller.control(plan, 4.0, {20.0, -5.0});
  EXPECT_NEAR(second.steer, 0.75 * aim_angle + 0.75 * aim_angle, 1e-9);

  // Mirrored to the left: steer left by the same amount.
  drive::WaypointController left;
  std::vector<Eigen::Vector2d> mirrored;
  for (const auto& p : plan) mirrored.emplace_back(p.x(), -p.y());
  EXPECT_NEAR(left.control(mirrored, 4.0, {20.0, 5.0}).steer, -0.75 * aim_angle, 1e-9);
}

TEST(ClosedLoopController, AimsAtTheTargetWhenItNeedsLessSteering) {
  drive::WaypointController controller;
  std::vector<Eigen::Vector2d> plan;
  for (int k = 1; k <= 6; ++k) plan.emplace_back(2.0 * k, -0.5 * k);
  // Target slightly left: |angle_target| < |angle|, so the target's angle is used.
  const double target_angle = -std::atan(0.2 / 10.0) * 180.0 / kPi / 90.0;
  EXPECT_NEAR(controller.control(plan, 4.0, {10.0, 0.2}).steer, 0.75 * target_angle, 1e-9);
}

TEST(ClosedLoopController, RefusesAPlanOfOnePoint) {
  drive::WaypointController controller;
  EXPECT_THROW(controller.control({{1.0, 0.0}}, 1.0, {10.0, 0.0}), rsd::Error);
}

// ---- ClosedLoopWorld ----------------------------------------------------------------------------

synth::RouteSpec route_of(const std::string& scenario, int index, int frames = 150, uint64_t seed = 2026) {
  synth::RouteSpec route;
  route.scenario = scenario;
  route.index = index;
  route.seed = seed;
  route.frames = frames;
  return route;
}

// A control law of the ego's state (speed, tick) used by the tests below.
using Driver = std::function<synth::VehicleControl(double speed, int tick)>;

// The ego's speed now, as the annotation (what an agent sees) says.
double annotated_speed(const synth::ClosedLoopWorld& world) {
  rsd::data::FrameReaderOptions options;
  options.derive_velocity_from_motion = false;
  const rsd::data::FrameReader reader(rsd::data::default_camera_names(), options);
  rsd::data::ClipInfo clip;
  clip.name = world.clip_name();
  return reader.parse(world.annotation(), clip, world.tick(), "tick " + std::to_string(world.tick())).ego.speed;
}

// Drives `world` with `driver` until it finishes or `max_ticks` ticks passed.
void drive_world(synth::ClosedLoopWorld& world, const Driver& driver, int max_ticks) {
  for (int tick = 0; tick < max_ticks && !world.finished(); ++tick) world.step(driver(annotated_speed(world), tick));
}

// Holds `target` m/s straight ahead with a simple bang-bang throttle.
Driver cruise(double target, double steer = 0.0) {
  return [target, steer](double speed, int) {
    synth::VehicleControl control;
    control.throttle = speed < target ? 0.6 : 0.0;
    control.steer = steer;
    return control;
  };
}

int count(const synth::RouteOutcome& outcome, Infraction kind) {
  return static_cast<int>(std::count_if(outcome.infractions.begin(), outcome.infractions.end(),
                                        [&](const synth::InfractionEvent& e) { return e.kind == kind; }));
}

std::string listed(const synth::RouteOutcome& outcome) {
  std::string out = "end " + outcome.end + ":";
  for (const auto& e : outcome.infractions) out += std::string(" ") + synth::to_string(e.kind) + "@" + std::to_string(e.time);
  return out;
}

TEST(ClosedLoopWorld, SameControlsGiveTheSameOutcomeBitwise) {
  // A route with a collision, so that infractions are compared too; a control sequence that
  // steers, throttles and brakes.
  const Driver driver = [](double speed, int tick) {
    synth::VehicleControl control;
    control.throttle = speed < 7.0 ? 0.7 : 0.1;
    control.brake = (tick / 25) % 4 == 3 ? 0.3 : 0.0;
    control.steer = 0.05 * std::sin(0.1 * tick);
    return control;
  };
  const synth::RouteSpec route = route_of("ParkedObstacle", 6);
  synth::ClosedLoopWorld a(route), b(route);
  drive_world(a, driver, 400);
  drive_world(b, driver, 400);
  const synth::RouteOutcome& x = a.outcome();
  const synth::RouteOutcome& y = b.outcome();
  ASSERT_FALSE(x.infractions.empty()) << "the route was meant to include an infraction";
  EXPECT_EQ(x.end, y.end);
  EXPECT_EQ(x.progress, y.progress);
  EXPECT_EQ(x.route_completion, y.route_completion);
  EXPECT_EQ(x.outside_lanes, y.outside_lanes);
  EXPECT_EQ(x.time, y.time);
  ASSERT_EQ(x.ticks.size(), y.ticks.size());
  for (std::size_t i = 0; i < x.ticks.size(); ++i) {
    const auto &p = x.ticks[i], &q = y.ticks[i];
    ASSERT_TRUE(p.position == q.position && p.yaw == q.yaw && p.speed == q.speed && p.accel_lon == q.accel_lon &&
                p.accel_lat == q.accel_lat && p.yaw_rate == q.yaw_rate && p.route_s == q.route_s &&
                p.traffic_speed == q.traffic_speed)
        << "tick " << i;
  }
  ASSERT_EQ(x.infractions.size(), y.infractions.size());
  for (std::size_t i = 0; i < x.infractions.size(); ++i) {
    EXPECT_EQ(x.infractions[i].kind, y.infractions[i].kind);
    EXPECT_EQ(x.infractions[i].time, y.infractions[i].time);
    EXPECT_EQ(x.infractions[i].position, y.infractions[i].position);
    EXPECT_EQ(x.infractions[i].actor, y.infractions[i].actor);
  }
  EXPECT_EQ(a.annotation(), b.annotation());
}

// A route whose ego starts moving, with nothing in its way for the first seconds.
synth::RouteSpec moving_start_route() { return route_of("PedestrianCrossing", 0); }

TEST(ClosedLoopWorld, FullThrottleFollowsTheAccelerationLimits) {
  for (const bool custom : {false, true}) {
    synth::ClosedLoopOptions options;
    if (custom) {
      options.vehicle.max_accel = 5.0;
      options.vehicle.top_speed = 12.0;
      options.vehicle.resistance = 0.4;
    }
    synth::ClosedLoopWorld world(moving_start_route(), options);
    const int n = 30;
    for (int tick = 0; tick <= n; ++tick) world.step({1.0, 0.0, 0.0});
    const auto& ticks = world.outcome().ticks;
    ASSERT_EQ(ticks.size(), static_cast<std::size_t>(n + 1)) << listed(world.outcome());
    ASSERT_TRUE(world.outcome().infractions.empty()) << listed(world.outcome());
    // By hand: dv/dt = max_accel (1 - v / top) - resistance, one Euler step per tick; distance by
    // the trapezoid of each tick.
    const synth::VehicleLimits& limits = options.vehicle;
    double v = ticks[0].speed, x = 0.0;
    ASSERT_GT(v, 1.0) << "the route was meant to start moving";
    for (int k = 0; k < n; ++k) {
      const double accel = limits.max_accel * (1.0 - v / limits.top_speed) - limits.resistance;
      const double next = v + accel * kDt;
      x += 0.5 * (v + next) * kDt;
      v = next;
      EXPECT_NEAR(ticks[static_cast<std::size_t>(k + 1)].speed, v, 1e-9) << "tick " << k + 1 << (custom ? " (custom)" : "");
      EXPECT_NEAR(ticks[static_cast<std::size_t>(k + 1)].accel_lon, accel, 1e-9) << "tick " << k + 1;
    }
    // Straight ahead in the route frame: the start is the origin, heading +x.
    EXPECT_NEAR(ticks[0].position.norm(), 0.0, 1e-9);
    EXPECT_NEAR(ticks[n].position.x(), x, 1e-6);
    EXPECT_NEAR(ticks[n].position.y(), 0.0, 1e-6);
    EXPECT_NEAR(ticks[n].yaw, 0.0, 1e-9);
    EXPECT_GT(ticks[n].speed, ticks[0].speed);
    EXPECT_LT(ticks[n].speed, limits.top_speed);
  }
}

TEST(ClosedLoopWorld, FullBrakeStopsWithinTheBrakingDistance) {
  synth::ClosedLoopWorld world(moving_start_route());
  for (int tick = 0; tick < 20; ++tick) world.step({1.0, 0.0, 0.0});
  const synth::VehicleLimits& limits = world.options().vehicle;
  int tick = 0;
  for (; tick < 100 && !world.finished(); ++tick) world.step({0.0, 0.0, 1.0});
  const auto& ticks = world.outcome().ticks;
  const double v0 = ticks[20].speed;
  ASSERT_GT(v0, 5.0);
  ASSERT_TRUE(world.outcome().infractions.empty()) << listed(world.outcome());
  // Stopped: the first tick at speed 0, and how far it went from where the brake was applied.
  std::size_t stop = 20;
  while (stop < ticks.size() && ticks[stop].speed > 0.0) ++stop;
  ASSERT_LT(stop, ticks.size()) << "never stopped";
  const double distance = (ticks[stop].position - ticks[20].position).norm();
  const double bound = v0 * v0 / (2.0 * (limits.max_brake + limits.resistance));
  EXPECT_LE(distance, bound + v0 * kDt);
  EXPECT_GE(distance, bound - 1e-6);  // not faster than the brake allows either
  const double stopping_ticks = std::ceil(v0 / (limits.max_brake + limits.resistance) / kDt);
  EXPECT_LE(static_cast<double>(stop - 20), stopping_ticks + 1.0);
  // Standing stays standing under the brake (no creeping backwards).
  for (std::size_t i = stop; i < ticks.size(); ++i) {
    EXPECT_EQ(ticks[i].speed, 0.0);
    EXPECT_NEAR((ticks[i].position - ticks[stop].position).norm(), 0.0, 1e-12);
  }
}

TEST(ClosedLoopWorld, SteeringRightTurnsClockwiseAtTheWheelRate) {
  synth::ClosedLoopWorld world(moving_start_route());
  world.step({0.0, 1.0, 0.0});  // full right, coasting
  world.step({0.0, 1.0, 0.0});
  const auto& ticks = world.outcome().ticks;
  const double v0 = ticks[0].speed;
  ASSERT_GT(v0, 1.0);
  // After one tick the wheel has turned steer_rate x 0.1 = 0.25 of its 70 degrees, and the car
  // moved |p1 - p0| along an arc of the bicycle's curvature (within the tyres' grip).
  const synth::VehicleLimits& limits = world.options().vehicle;
  const double wheel = limits.steer_rate * kDt * 70.0 * kPi / 180.0;
  double curvature = std::tan(wheel) / 2.875;
  curvature = std::min(curvature, limits.max_lateral_accel / (v0 * v0));
  const double moved = (ticks[1].position - ticks[0].position).norm();
  EXPECT_NEAR(ticks[1].yaw, -curvature * moved, 1e-9);  // right = clockwise = negative (route frame)
  EXPECT_LT(ticks[1].position.y(), 0.0);
  EXPECT_LT(ticks[1].yaw_rate, 0.0);
  EXPECT_LT(ticks[1].accel_lat, 0.0);  // lateral positive = left
  // What the model sees (librsd's ego status: steer and yaw rate positive = left): a right turn.
  rsd::data::FrameReaderOptions reader_options;
  reader_options.derive_velocity_from_motion = false;
  const rsd::data::FrameReader reader(rsd::data::default_camera_names(), reader_options);
  rsd::data::ClipInfo clip;
  clip.name = world.clip_name();
  const rsd::data::Frame frame = reader.parse(world.annotation(), clip, world.tick(), "after steering right");
  EXPECT_LT(frame.ego.steer, 0.0);
  EXPECT_NEAR(frame.ego.steer, -2.0 * limits.steer_rate * kDt, 1e-9);  // the wheel after two ticks
  EXPECT_LT(frame.ego.angular_velocity.z(), 0.0);
  EXPECT_LT(frame.ego.acceleration.y(), 0.0);
}

TEST(ClosedLoopAgents, ExpertNeedsTheWorldAndAgentsNeedTwoWaypoints) {
  auto expert = drive::make_expert_agent();
  rsd::data::Frame frame;
  drive::Observation observation;
  observation.frame = &frame;
  EXPECT_THROW(expert->decide(observation), rsd::Error);  // no world: not privileged
  EXPECT_THROW(drive::make_expert_agent(1), rsd::ConfigError);
  EXPECT_THROW(drive::make_constant_velocity_agent(true, 1), rsd::ConfigError);
  EXPECT_EQ(drive::make_constant_velocity_agent(true)->name(), "straight_line");
  EXPECT_EQ(drive::make_constant_velocity_agent(false)->name(), "constant_velocity");
  EXPECT_FALSE(expert->needs_images());
  // The route target: the annotation's, or straight ahead when it has none.
  frame.command_target = Eigen::Vector2d(0.0, 0.0);
  EXPECT_EQ(drive::route_target(frame), Eigen::Vector2d(10.0, 0.0));
  frame.command_target = Eigen::Vector2d(3.0, -4.0);
  EXPECT_EQ(drive::route_target(frame), Eigen::Vector2d(3.0, -4.0));
}

TEST(ClosedLoopAgents, ConstantVelocityFollowsTheYawRateAndStraightLineDoesNot) {
  rsd::data::Frame frame;
  frame.ego.speed = 4.0;
  frame.ego.angular_velocity = Eigen::Vector3d(0.0, 0.0, 0.2);  // turning left
  drive::Observation observation;
  observation.frame = &frame;
  const drive::Decision curved = drive::make_constant_velocity_agent(false)->decide(observation);
  const drive::Decision straight = drive::make_constant_velocity_agent(true)->decide(observation);
  ASSERT_EQ(curved.waypoints.size(), 6u);
  ASSERT_EQ(straight.waypoints.size(), 6u);
  for (int k = 1; k <= 6; ++k) {
    const double t = 0.5 * k, heading = 0.2 * t, radius = 4.0 / 0.2;
    // On the circle of radius v / yaw rate, arc length v t.
    EXPECT_NEAR(curved.waypoints[static_cast<std::size_t>(k - 1)].x(), radius * std::sin(heading), 1e-9);
    EXPECT_NEAR(curved.waypoints[static_cast<std::size_t>(k - 1)].y(), radius * (1.0 - std::cos(heading)), 1e-9);
    EXPECT_NEAR(straight.waypoints[static_cast<std::size_t>(k - 1)].x(), 4.0 * t, 1e-12);
    EXPECT_EQ(straight.waypoints[static_cast<std::size_t>(k - 1)].y(), 0.0);
  }
  EXPECT_LT(curved.control.steer, 0.0);  // left
  EXPECT_NEAR(straight.control.steer, 0.0, 1e-12);
}

TEST(ClosedLoopWorld, AlwaysBrakingEndsByAgentBlockedAndIsScored) {
  synth::ClosedLoopOptions options;
  options.blocked_seconds = 5.0;
  synth::ClosedLoopWorld world(moving_start_route(), options);
  int steps = 0;
  while (!world.finished()) {
    ASSERT_LT(steps, 1000) << "the route did not end (hung)";
    world.step({0.0, 0.0, 1.0});
    ++steps;
  }
  const synth::RouteOutcome& outcome = world.outcome();
  EXPECT_EQ(outcome.end, "agent_blocked") << listed(outcome);
  EXPECT_EQ(count(outcome, Infraction::agent_blocked), 1);
  EXPECT_EQ(count(outcome, Infraction::scenario_timeout), 1);
  EXPECT_EQ(outcome.infractions.size(), 2u) << listed(outcome);
  // Ends blocked_seconds after it stopped (one tick of rounding), long before the time limit.
  std::size_t stop = 0;
  while (stop < outcome.ticks.size() && outcome.ticks[stop].speed >= 0.1) ++stop;
  ASSERT_LT(stop, outcome.ticks.size());
  const double stopped_at = outcome.ticks[stop].time;
  EXPECT_GE(outcome.time - stopped_at, options.blocked_seconds - 1e-9);
  EXPECT_LE(outcome.time - stopped_at, options.blocked_seconds + 2 * kDt);
  EXPECT_LT(outcome.time, outcome.time_limit);
  EXPECT_GT(outcome.route_completion, 0.0);  // it rolled a little while braking
  EXPECT_LT(outcome.route_completion, 0.5);
  const drive::RouteScore score = drive::score_route(outcome);
  EXPECT_NEAR(score.driving_score, 100.0 * outcome.route_completion * 0.7, 1e-9);
  EXPECT_DOUBLE_EQ(score.infraction_penalty, 0.7);
  EXPECT_FALSE(score.success);
  // Finished: one more step is an error naming the route.
  const std::string message = error_message([&] { world.step({0.0, 0.0, 1.0}); });
  EXPECT_NE(message.find(world.route().name()), std::string::npos) << message;
}

TEST(ClosedLoopWorld, StandingStillPastTheTimeLimitIsARouteTimeout) {
  // The limit is factor x (the expert's time) + extra: two worlds of the same route with other
  // factors and extras give limits related by them.
  synth::ClosedLoopOptions tight;
  tight.time_limit_factor = 1.0;
  tight.time_limit_extra = 0.0;
  tight.blocked_seconds = 1000.0;
  synth::ClosedLoopOptions loose = tight;
  loose.time_limit_factor = 2.0;
  loose.time_limit_extra = 3.0;
  const synth::RouteSpec route = route_of("PedestrianCrossing", 0, 40);
  synth::ClosedLoopWorld world(route, tight);
  const synth::ClosedLoopWorld other(route, loose);
  EXPECT_NEAR(other.outcome().time_limit, 2.0 * world.outcome().time_limit + 3.0, 1e-9);
  EXPECT_GE(world.outcome().time_limit, 2.0);  // the expert needs a few seconds for a 40-frame route
  int steps = 0;
  while (!world.finished() && steps < 2000) {
    world.step({0.0, 0.0, 1.0});
    ++steps;
  }
  const synth::RouteOutcome& outcome = world.outcome();
  EXPECT_EQ(outcome.end, "route_timeout") << listed(outcome);
  EXPECT_GE(outcome.time, outcome.time_limit - 1e-9);
  EXPECT_LT(outcome.time, outcome.time_limit + kDt + 1e-9);
  EXPECT_EQ(count(outcome, Infraction::route_timeout), 1);
  EXPECT_EQ(count(outcome, Infraction::scenario_timeout), 1);
  EXPECT_NEAR(drive::score_route(outcome).infraction_penalty, 0.7, 1e-12);
}

TEST(ClosedLoopWorld, DrivingStraightThroughATurnLeavesTheRoute) {
  // This route turns at its junction (the expert's drive below checks it), 300 frames long so
  // that the turn is inside the route.
  const synth::RouteSpec route = route_of("VanillaSignalizedTurnEncounterRedLight", 0, 300);
  {
    auto expert = drive::make_expert_agent();
    const drive::RouteRun run = drive::drive_route(route, *expert, {});
    ASSERT_EQ(run.outcome.end, "completed") << listed(run.outcome);
    ASSERT_GT(std::abs(run.outcome.ticks.back().yaw), 1.0) << "the route was meant to turn";
  }
  synth::ClosedLoopWorld world(route);
  drive_world(world, cruise(7.0), 3000);
  const synth::RouteOutcome& outcome = world.outcome();
  EXPECT_TRUE(outcome.end == "route_deviation" || outcome.outside_lanes > 0.0) << listed(outcome);
  EXPECT_NE(outcome.end, "completed") << listed(outcome);
  EXPECT_LT(outcome.route_completion, 1.0);
  if (outcome.end == "route_deviation") {
    EXPECT_EQ(count(outcome, Infraction::route_deviation), 1);
  }
}

TEST(ClosedLoopWorld, LeavingTheRoadCountsOutsideLanesAndDeviates) {
  // Steering off the road on a straight route: driven outside the lanes, then too far away.
  synth::ClosedLoopWorld world(moving_start_route());
  drive_world(world, [](double speed, int tick) {
    synth::VehicleControl control;
    control.throttle = speed < 6.0 ? 0.6 : 0.0;
    control.steer = tick < 8 ? -0.3 : 0.0;  // veer left, then straight
    return control;
  }, 3000);
  const synth::RouteOutcome& outcome = world.outcome();
  EXPECT_GT(outcome.outside_lanes, 0.0) << listed(outcome);
  EXPECT_NE(outcome.end, "completed") << listed(outcome);
}

// The first collision of an outcome with a vehicle or static object.
const synth::InfractionEvent* first_crash(const synth::RouteOutcome& outcome) {
  for (const auto& e : outcome.infractions) {
    if (e.kind == Infraction::collision_static || e.kind == Infraction::collision_vehicle) return &e;
  }
  return nullptr;
}

TEST(ClosedLoopWorld, HittingAParkedObstacleCountsOnePerContact) {
  // The route's obstacle stands in the ego's lane; driven straight at it at 7 m/s.
  synth::ClosedLoopWorld world(route_of("ParkedObstacle", 6));
  drive_world(world, cruise(7.0), 3000);
  const synth::RouteOutcome& outcome = world.outcome();
  const synth::InfractionEvent* hit = first_crash(outcome);
  ASSERT_NE(hit, nullptr) << listed(outcome);
  EXPECT_FALSE(hit->actor.empty());
  // The contact lasts several ticks (the ego moves well under a metre per tick, the two bodies
  // overlap over metres), yet it is one event for that actor.
  double longest_tick = 0.0;
  for (std::size_t i = 1; i < outcome.ticks.size(); ++i) {
    longest_tick = std::max(longest_tick, (outcome.ticks[i].position - outcome.ticks[i - 1].position).norm());
  }
  EXPECT_LT(longest_tick, 1.0);
  int same_actor = 0;
  for (const auto& e : outcome.infractions) {
    if (e.actor == hit->actor) ++same_actor;
  }
  EXPECT_EQ(same_actor, 1) << listed(outcome);
  // The crash stopped the car.
  bool checked = false;
  for (const auto& tick : outcome.ticks) {
    if (std::abs(tick.time - (hit->time)) < 1e-6) {
      EXPECT_EQ(tick.speed, 0.0);
      checked = true;
    }
  }
  EXPECT_TRUE(checked);
}

TEST(ClosedLoopWorld, ACrashedCarDoesNotDriveThroughTheObstacle) {
  // Throttle held after hitting the obstacle: a solid object keeps the car where it hit it (the
  // leaderboard's cars cannot pass through props and parked cars).
  synth::ClosedLoopWorld world(route_of("ParkedObstacle", 6));
  drive_world(world, cruise(7.0), 3000);
  const synth::RouteOutcome& outcome = world.outcome();
  const synth::InfractionEvent* hit = first_crash(outcome);
  ASSERT_NE(hit, nullptr) << listed(outcome);
  for (const auto& tick : outcome.ticks) {
    if (tick.time > hit->time && tick.time <= hit->time + 3.0) {
      EXPECT_LT((tick.position - hit->position).norm(), 1.0)
          << "t " << tick.time << " s: " << (tick.position - hit->position).norm() << " m past where it hit "
          << synth::to_string(hit->kind) << " actor " << hit->actor << " at " << hit->time << " s (" << listed(outcome) << ")";
      if ((tick.position - hit->position).norm() >= 1.0) break;
    }
  }
}

TEST(ClosedLoopWorld, ExpertCompletesDefaultRoutesWithoutInfractions) {
  const std::vector<synth::RouteSpec> routes = synth::default_route_set();
  ASSERT_EQ(routes.size(), 20u);
  for (const int index : {3, 4, 5, 6}) {  // HardBreakRoute, DynamicObjectCrossing, red light, ParkedObstacle
    auto expert = drive::make_expert_agent();
    const drive::RouteRun run = drive::drive_route(routes[static_cast<std::size_t>(index)], *expert, {});
    EXPECT_EQ(run.outcome.end, "completed") << routes[static_cast<std::size_t>(index)].name() << " " << listed(run.outcome);
    EXPECT_TRUE(run.outcome.infractions.empty()) << listed(run.outcome);
    EXPECT_DOUBLE_EQ(run.score.driving_score, 100.0) << routes[static_cast<std::size_t>(index)].name();
    EXPECT_TRUE(run.score.success);
    EXPECT_EQ(run.timing.ticks, static_cast<int>(run.outcome.ticks.size()));
  }
}

TEST(ClosedLoopWorld, ConstantVelocityAgentKeepsItsSpeed) {
  // make_constant_velocity_agent: "Keeps the current speed". Driven on a straight stretch for
  // 5 s it should not lose more than a little speed.
  synth::ClosedLoopWorld world(moving_start_route());
  auto agent = drive::make_constant_velocity_agent(false);
  rsd::data::FrameReaderOptions reader_options;
  reader_options.derive_velocity_from_motion = false;
  const rsd::data::FrameReader reader(rsd::data::default_camera_names(), reader_options);
  rsd::data::ClipInfo clip;
  clip.name = world.clip_name();
  agent->reset();
  for (int tick = 0; tick < 50 && !world.finished(); ++tick) {
    const rsd::data::Frame frame = reader.parse(world.annotation(), clip, tick, "tick");
    drive::Observation observation;
    observation.frame = &frame;
    observation.tick = tick;
    const drive::Decision decision = agent->decide(observation);
    world.step({decision.control.throttle, decision.control.steer, decision.control.brake}, decision.waypoints);
  }
  const auto& ticks = world.outcome().ticks;
  ASSERT_EQ(ticks.size(), 50u) << listed(world.outcome());
  EXPECT_NEAR(ticks.back().speed, ticks.front().speed, 0.1 * ticks.front().speed)
      << "started at " << ticks.front().speed << " m/s";
}

TEST(ClosedLoopWorld, AnnotationOfTickZeroParsesWithTheStartSpeed) {
  synth::ClosedLoopOptions options;
  options.image_width = 160;
  options.image_height = 90;
  synth::ClosedLoopWorld world(moving_start_route(), options);
  rsd::data::FrameReaderOptions reader_options;
  reader_options.derive_velocity_from_motion = false;
  const rsd::data::FrameReader reader(rsd::data::default_camera_names(), reader_options);
  rsd::data::ClipInfo clip;
  clip.name = world.clip_name();
  const rsd::data::Frame frame = reader.parse(world.annotation(), clip, 0, "tick 0");
  ASSERT_EQ(frame.cameras.size(), 6u);
  for (const auto& camera : frame.cameras) {
    EXPECT_EQ(camera.width, 160) << camera.name;
    EXPECT_EQ(camera.height, 90) << camera.name;
  }
  world.step({0.0, 0.0, 0.0});
  EXPECT_GT(frame.ego.speed, 0.0);
  EXPECT_DOUBLE_EQ(frame.ego.speed, world.outcome().ticks[0].speed);
  // And after a step, the next annotation shows the new speed.
  world.step({0.0, 0.0, 0.0});
  const rsd::data::Frame later = reader.parse(world.annotation(), clip, 2, "tick 2");
  world.step({0.0, 0.0, 0.0});
  EXPECT_DOUBLE_EQ(later.ego.speed, world.outcome().ticks[2].speed);
  EXPECT_EQ(rsd::data::default_camera_names(), synth::rig_camera_names());
}

TEST(ClosedLoopWorld, RenderGivesTheOptionsSizeAndRefusesUnknownCameras) {
  synth::ClosedLoopOptions options;
  options.image_width = 64;
  options.image_height = 36;
  synth::ClosedLoopWorld world(moving_start_route(), options);
  const auto images = world.render({"CAM_FRONT", "CAM_BACK"});
  ASSERT_EQ(images.size(), 2u);
  EXPECT_EQ(images[0].name, "CAM_FRONT");
  EXPECT_EQ(images[1].name, "CAM_BACK");
  for (const auto& image : images) {
    EXPECT_EQ(image.width, 64);
    EXPECT_EQ(image.height, 36);
    EXPECT_EQ(image.bgr.size(), 64u * 36u * 3u);
  }
  EXPECT_NE(images[0].bgr, images[1].bgr);  // front and back see different things
  EXPECT_EQ(world.render({"CAM_FRONT"})[0].bgr, images[0].bgr);  // rendering is deterministic
  const std::string message = error_message<rsd::ConfigError>([&] { world.render({"CAM_FRONT", "CAM_ROOF"}); });
  EXPECT_NE(message.find("CAM_ROOF"), std::string::npos) << message;
}

TEST(ClosedLoopWorld, RouteValidation) {
  EXPECT_NE(error_message<rsd::ConfigError>([] { synth::make_route_set(0, 1, 150); }).find("0"), std::string::npos);
  EXPECT_NE(error_message<rsd::ConfigError>([] { synth::make_route_set(2, 1, 19); }).find("19"), std::string::npos);
  const std::string unknown = error_message<rsd::ConfigError>([] { synth::ClosedLoopWorld world(route_of("NoSuchScenario", 0)); });
  EXPECT_NE(unknown.find("NoSuchScenario"), std::string::npos) << unknown;
  EXPECT_THROW(synth::ClosedLoopWorld(route_of("PedestrianCrossing", 0, 10)), rsd::ConfigError);
  synth::ClosedLoopOptions small;
  small.image_width = 8;
  EXPECT_THROW(synth::ClosedLoopWorld(route_of("PedestrianCrossing", 0), small), rsd::ConfigError);

  const auto routes = synth::make_route_set(5, 9, 40, {"ParkedObstacle", "HardBreakRoute"});
  ASSERT_EQ(routes.size(), 5u);
  EXPECT_EQ(routes[0].scenario, "ParkedObstacle");
  EXPECT_EQ(routes[1].scenario, "HardBreakRoute");
  EXPECT_EQ(routes[4].scenario, "ParkedObstacle");
  EXPECT_EQ(routes[3].index, 3);
  EXPECT_EQ(routes[3].name(), "HardBreakRoute_3_s9");
}

TEST(ClosedLoopWorld, RouteSetRefusesAnUnknownScenarioUpFront) {
  // rsd_drive --scenarios NoSuchScenario: the set is refused before any route is driven.
  const std::string message =
      error_message<rsd::ConfigError>([] { synth::make_route_set(2, 1, 150, {"ParkedObstacle", "NoSuchScenario"}); });
  EXPECT_NE(message.find("NoSuchScenario"), std::string::npos) << message;
}

TEST(ClosedLoopWorld, RunningARedLightIsOneInfraction) {
  // The light of this route is red when the ego arrives (the straight-line agent runs it).
  synth::ClosedLoopWorld world(route_of("VanillaSignalizedTurnEncounterRedLight", 1));
  drive_world(world, cruise(7.0), 3000);
  EXPECT_EQ(count(world.outcome(), Infraction::red_light), 1) << listed(world.outcome());
  // The expert stops for it.
  auto expert = drive::make_expert_agent();
  const drive::RouteRun run = drive::drive_route(route_of("VanillaSignalizedTurnEncounterRedLight", 1), *expert, {});
  EXPECT_EQ(count(run.outcome, Infraction::red_light), 0) << listed(run.outcome);
}

TEST(ClosedLoopWorld, StripRefusesAnUnwritablePath) {
  synth::ClosedLoopWorld world(route_of("PedestrianCrossing", 0, 40));
  for (int i = 0; i < 5; ++i) world.step({0.3, 0.0, 0.0});
  TempDir dir;
  world.write_strip(dir.file("strip.png"), {});
  EXPECT_FALSE(cv::imread(dir.file("strip.png")).empty());
  const std::string bad = dir.file("no/such/folder/strip.png");
  const std::string message = error_message([&] { world.write_strip(bad, {}); });
  EXPECT_NE(message.find(bad), std::string::npos) << message;
}

TEST(ClosedLoopRunner, RecordsEveryTickItDrove) {
  TempDir dir;
  drive::RouteRunOptions options;
  options.record_dir = dir.file("ticks");
  options.world.blocked_seconds = 2.0;
  auto agent = drive::make_constant_velocity_agent(true);
  const drive::RouteRun run = drive::drive_route(route_of("ParkingCutIn", 1, 40), *agent, options);
  int annotations = 0, decisions = 0;
  for (const auto& entry : fs::directory_iterator(dir.file("ticks"))) {
    const std::string name = entry.path().filename().string();
    if (name.size() == 10 && name.substr(5) == ".json") ++annotations;
    if (name.find("_decision.json") != std::string::npos) ++decisions;
  }
  EXPECT_EQ(annotations, run.timing.ticks);
  EXPECT_EQ(decisions, run.timing.ticks);
  EXPECT_EQ(run.timing.ticks, static_cast<int>(run.outcome.ticks.size()));
  // Tick 0's decision holds the control the world was given at tick 0.
  const Json decision = Json::parse(read_text(dir.file("ticks/00000_decision.json")));
  EXPECT_EQ(decision["control"]["throttle"].get<double>(), run.outcome.ticks[0].control.throttle);
  EXPECT_EQ(decision["control"]["brake"].get<double>(), run.outcome.ticks[0].control.brake);
  EXPECT_EQ(decision["waypoints"].size(), 6u);
  // An error names the route.
  synth::RouteSpec unknown = route_of("NoSuchScenario", 3);
  const std::string message = error_message([&] { drive::drive_route(unknown, *agent, {}); });
  EXPECT_NE(message.find(unknown.name()), std::string::npos) << message;
}

TEST(ClosedLoopRunner, TinyModelDrivesTheSameRouteTheSameWay) {
  torch::manual_seed(11);
  drive::ModelAgent agent(rsd::model::E2EModel(rsd::test::tiny_e2e_model_options()), {});
  ASSERT_TRUE(agent.needs_images());
  TempDir dir;
  drive::RouteRunOptions options;
  options.cameras = {"CAM_FRONT", "CAM_BACK"};
  options.world.image_width = 96;
  options.world.image_height = 64;
  options.input_width = rsd::test::kTinyImageWidth;
  options.input_height = rsd::test::kTinyImageHeight;
  options.world.blocked_seconds = 2.0;
  options.world.time_limit_factor = 1.0;
  options.world.time_limit_extra = 0.0;
  options.strip_path = dir.file("strip.png");
  const synth::RouteSpec route = route_of("PedestrianCrossing", 2, 30);
  const drive::RouteRun a = drive::drive_route(route, agent, options);
  const drive::RouteRun b = drive::drive_route(route, agent, options);
  ASSERT_FALSE(a.outcome.ticks.empty());
  EXPECT_FALSE(a.outcome.end.empty());  // ended (scored), not hung
  EXPECT_GT(a.timing.render, 0.0);
  EXPECT_GT(a.timing.agent, 0.0);
  ASSERT_EQ(a.outcome.ticks.size(), b.outcome.ticks.size());
  for (std::size_t i = 0; i < a.outcome.ticks.size(); ++i) {
    const auto &p = a.outcome.ticks[i], &q = b.outcome.ticks[i];
    ASSERT_TRUE(p.position == q.position && p.speed == q.speed && p.control.steer == q.control.steer &&
                p.control.throttle == q.control.throttle && p.plan == q.plan)
        << "tick " << i;
  }
  EXPECT_EQ(a.score.driving_score, b.score.driving_score);
  EXPECT_FALSE(cv::imread(dir.file("strip.png")).empty());
  // A camera the rig lacks is refused, naming it and the route.
  options.cameras = {"CAM_FRONT", "CAM_ROOF"};
  const std::string message = error_message([&] { drive::drive_route(route, agent, options); });
  EXPECT_NE(message.find(route.name()), std::string::npos) << message;
  EXPECT_NE(message.find("CAM_ROOF"), std::string::npos) << message;
}

// ---- driving score ------------------------------------------------------------------------------

synth::InfractionEvent event(Infraction kind, double time = 1.0) {
  synth::InfractionEvent e;
  e.kind = kind;
  e.time = time;
  return e;
}

synth::RouteOutcome outcome_of(const std::string& route, const std::string& scenario, double completion,
                               const std::string& end, std::vector<Infraction> kinds) {
  synth::RouteOutcome outcome;
  outcome.route = route;
  outcome.scenario = scenario;
  outcome.route_completion = completion;
  outcome.end = end;
  for (Infraction kind : kinds) outcome.infractions.push_back(event(kind));
  return outcome;
}

TEST(ClosedLoopScore, PenaltyIsTheProductOfTheLeaderboardFactors) {
  struct Case {
    Infraction kind;
    double factor;
  };
  const std::vector<Case> cases = {
      {Infraction::collision_pedestrian, 0.50}, {Infraction::collision_vehicle, 0.60},
      {Infraction::collision_static, 0.65},     {Infraction::red_light, 0.70},
      {Infraction::stop_sign, 0.80},            {Infraction::scenario_timeout, 0.70},
      {Infraction::outside_route_lanes, 1.0},   {Infraction::route_deviation, 1.0},
      {Infraction::route_timeout, 1.0},         {Infraction::agent_blocked, 1.0}};
  ASSERT_EQ(static_cast<int>(cases.size()), synth::kNumInfractions);
  for (const Case& c : cases) {
    const drive::RouteScore score = drive::score_route(outcome_of("r", "ParkedObstacle", 0.8, "completed", {c.kind}));
    EXPECT_DOUBLE_EQ(score.infraction_penalty, c.factor) << synth::to_string(c.kind);
    EXPECT_DOUBLE_EQ(score.driving_score, 80.0 * c.factor) << synth::to_string(c.kind);
    EXPECT_EQ(score.infractions[static_cast<std::size_t>(c.kind)], 1);
  }
  // All of them at once, and a second vehicle collision: one factor per occurrence.
  std::vector<Infraction> all;
  for (const Case& c : cases) all.push_back(c.kind);
  all.push_back(Infraction::collision_vehicle);
  const drive::RouteScore score = drive::score_route(outcome_of("r", "ParkedObstacle", 0.5, "route_timeout", all));
  const double product = 0.50 * 0.60 * 0.65 * 0.70 * 0.80 * 0.70 * 0.60;
  EXPECT_NEAR(score.infraction_penalty, product, 1e-12);
  EXPECT_NEAR(score.driving_score, 50.0 * product, 1e-10);
  EXPECT_DOUBLE_EQ(score.route_completion, 50.0);
  EXPECT_EQ(score.infractions[static_cast<std::size_t>(Infraction::collision_vehicle)], 2);
  EXPECT_FALSE(score.success);
}

TEST(ClosedLoopScore, SuccessOnlyWhenCompletedWithoutPenalisedInfractions) {
  EXPECT_TRUE(drive::score_route(outcome_of("r", "ParkedObstacle", 1.0, "completed", {})).success);
  EXPECT_DOUBLE_EQ(drive::score_route(outcome_of("r", "ParkedObstacle", 1.0, "completed", {})).driving_score, 100.0);
  EXPECT_FALSE(drive::score_route(outcome_of("r", "ParkedObstacle", 1.0, "completed", {Infraction::red_light})).success);
  EXPECT_FALSE(drive::score_route(outcome_of("r", "ParkedObstacle", 0.97, "completed", {})).success);  // drove outside
  EXPECT_FALSE(drive::score_route(outcome_of("r", "ParkedObstacle", 1.0, "agent_blocked", {})).success);
  EXPECT_FALSE(drive::score_route(outcome_of("r", "ParkedObstacle", 0.6, "route_deviation", {Infraction::route_deviation})).success);
}

TEST(ClosedLoopScore, EfficiencyComfortDistanceFromTheTicks) {
  synth::RouteOutcome outcome = outcome_of("r", "ParkedObstacle", 1.0, "completed", {});
  outcome.time = 0.3;
  const double accel[3] = {0.0, 1.0, 0.0};
  const double traffic[3] = {10.0, -1.0, 2.0};
  for (int i = 0; i < 3; ++i) {
    synth::RouteTick tick;
    tick.time = 0.1 * i;
    tick.position = Eigen::Vector2d(3.0 * i, 4.0 * i);  // 5 m per tick
    tick.speed = 5.0;
    tick.accel_lon = accel[i];
    tick.accel_lat = 0.5;
    tick.traffic_speed = traffic[i];
    outcome.ticks.push_back(tick);
  }
  const drive::RouteScore score = drive::score_route(outcome);
  EXPECT_DOUBLE_EQ(score.distance, 10.0);
  EXPECT_DOUBLE_EQ(score.mean_speed, 10.0 / 0.3);
  // Ticks with traffic: 5/10 = 0.5, and 5/2 = 2.5 capped at 2: mean 1.25.
  EXPECT_DOUBLE_EQ(score.efficiency, 125.0);
  // Jerks 0, +10, -10 m/s^3: only the first tick is inside nuPlan's 4.13.
  EXPECT_NEAR(score.comfort, 100.0 / 3.0, 1e-12);
  EXPECT_NEAR(score.mean_abs_jerk, 20.0 / 3.0, 1e-9);
  EXPECT_DOUBLE_EQ(score.max_abs_accel, 1.0);
  EXPECT_EQ(score.ticks, 3);
}

drive::RouteScore hand_score(const std::string& route, const std::string& scenario, double ds, double completion,
                             double penalty, bool success, double distance, double efficiency, double comfort,
                             std::map<Infraction, int> infractions) {
  drive::RouteScore score;
  score.route = route;
  score.scenario = scenario;
  score.driving_score = ds;
  score.route_completion = completion;
  score.infraction_penalty = penalty;
  score.success = success;
  score.distance = distance;
  score.efficiency = efficiency;
  score.comfort = comfort;
  for (const auto& [kind, n] : infractions) score.infractions[static_cast<std::size_t>(kind)] = n;
  return score;
}

TEST(ClosedLoopScore, SummaryAveragesAndRatesByHand) {
  const std::vector<drive::RouteScore> routes = {
      hand_score("a", "ParkedObstacle", 100.0, 100.0, 1.0, true, 300.0, 90.0, 80.0, {}),
      hand_score("b", "PedestrianCrossing", 35.0, 50.0, 0.7, false, 150.0, -1.0, 60.0,
                 {{Infraction::red_light, 1}, {Infraction::collision_vehicle, 0}}),
      hand_score("c", "YieldToEmergencyVehicle", 39.0, 100.0, 0.39, false, 50.0, 70.0, 40.0,
                 {{Infraction::collision_pedestrian, 1}, {Infraction::red_light, 1}, {Infraction::stop_sign, 0}}),
  };
  const drive::DrivingSummary s = drive::summarize(routes);
  EXPECT_EQ(s.routes, 3);
  EXPECT_NEAR(s.driving_score, (100.0 + 35.0 + 39.0) / 3.0, 1e-12);
  EXPECT_NEAR(s.route_completion, 250.0 / 3.0, 1e-12);
  EXPECT_NEAR(s.infraction_penalty, (1.0 + 0.7 + 0.39) / 3.0, 1e-12);
  EXPECT_NEAR(s.success_rate, 100.0 / 3.0, 1e-12);
  EXPECT_NEAR(s.efficiency, 80.0, 1e-12);  // routes that met traffic only
  EXPECT_NEAR(s.comfort, 60.0, 1e-12);
  EXPECT_NEAR(s.distance_km, 0.5, 1e-12);
  EXPECT_EQ(s.infractions[static_cast<std::size_t>(Infraction::red_light)], 2);
  EXPECT_EQ(s.infractions[static_cast<std::size_t>(Infraction::collision_pedestrian)], 1);
  EXPECT_NEAR(s.infractions_per_km[static_cast<std::size_t>(Infraction::red_light)], 4.0, 1e-12);
  EXPECT_NEAR(s.infractions_per_km[static_cast<std::size_t>(Infraction::collision_pedestrian)], 2.0, 1e-12);
  EXPECT_EQ(s.infractions_per_km[static_cast<std::size_t>(Infraction::collision_vehicle)], 0.0);
  // Abilities (Bench2Drive's table): ParkedObstacle -> Overtaking; PedestrianCrossing ->
  // Emergency_Brake and Traffic_Signs; YieldToEmergencyVehicle -> Give_Way.
  ASSERT_EQ(s.abilities.size(), 4u);
  EXPECT_EQ(s.abilities.at("Overtaking").routes, 1);
  EXPECT_DOUBLE_EQ(s.abilities.at("Overtaking").driving_score, 100.0);
  EXPECT_DOUBLE_EQ(s.abilities.at("Overtaking").success_rate, 100.0);
  EXPECT_DOUBLE_EQ(s.abilities.at("Emergency_Brake").driving_score, 35.0);
  EXPECT_DOUBLE_EQ(s.abilities.at("Traffic_Signs").success_rate, 0.0);
  EXPECT_DOUBLE_EQ(s.abilities.at("Give_Way").driving_score, 39.0);

  // Independent of the order (bitwise).
  std::vector<drive::RouteScore> reversed(routes.rbegin(), routes.rend());
  std::vector<drive::RouteScore> rotated = {routes[1], routes[2], routes[0]};
  for (const auto& order : {reversed, rotated}) {
    const drive::DrivingSummary t = drive::summarize(order);
    EXPECT_EQ(t.driving_score, s.driving_score);
    EXPECT_EQ(t.route_completion, s.route_completion);
    EXPECT_EQ(t.infraction_penalty, s.infraction_penalty);
    EXPECT_EQ(t.efficiency, s.efficiency);
    EXPECT_EQ(t.comfort, s.comfort);
    EXPECT_EQ(t.distance_km, s.distance_km);
    EXPECT_EQ(t.infractions_per_km, s.infractions_per_km);
  }
  const drive::DrivingSummary empty = drive::summarize({});
  EXPECT_EQ(empty.routes, 0);
  EXPECT_EQ(empty.driving_score, 0.0);
}

TEST(ClosedLoopScore, SummaryOrderIndependentOnManyRoutes) {
  // Sums of many non-representable values: a different order would change the last bits.
  std::vector<drive::RouteScore> routes;
  for (int i = 0; i < 40; ++i) {
    routes.push_back(hand_score("route_" + std::to_string(i), "ParkedObstacle", 100.0 / (i + 3), 100.0 / (i + 7),
                                1.0 / (i + 1.3), i % 3 == 0, 123.456 / (i + 1.1), 0.1 * i, 1.0 / 7.0 * i, {}));
  }
  const drive::DrivingSummary a = drive::summarize(routes);
  std::vector<drive::RouteScore> shuffled = routes;
  std::reverse(shuffled.begin(), shuffled.end());
  std::rotate(shuffled.begin(), shuffled.begin() + 13, shuffled.end());
  const drive::DrivingSummary b = drive::summarize(shuffled);
  EXPECT_EQ(a.driving_score, b.driving_score);
  EXPECT_EQ(a.route_completion, b.route_completion);
  EXPECT_EQ(a.infraction_penalty, b.infraction_penalty);
  EXPECT_EQ(a.distance_km, b.distance_km);
  EXPECT_EQ(a.efficiency, b.efficiency);
  EXPECT_EQ(a.comfort, b.comfort);
}

// ---- drive results ------------------------------------------------------------------------------

std::vector<synth::RouteSpec> two_short_routes(int frames = 40) {
  return synth::make_route_set(2, 2026, frames, {"PedestrianCrossing", "HardBreakRoute"});
}

drive::DriveSummary run_job(const std::string& out, drive::AgentKind agent, const std::vector<synth::RouteSpec>& routes) {
  drive::DriveJobOptions options;
  options.agent = agent;
  options.out_dir = out;
  options.routes = routes;
  options.strips = false;
  options.world.image_width = 64;
  options.world.image_height = 36;
  return drive::run_drive_job(nullptr, options);
}

void copy_folder(const std::string& from, const std::string& to) {
  fs::create_directories(to);
  fs::copy(from, to, fs::copy_options::recursive | fs::copy_options::overwrite_existing);
}

// Rewrites one key of a route result's score (keeping everything else as written).
void edit_score(const std::string& file, const std::string& key, double value) {
  Json root = Json::parse(read_text(file));
  root["score"][key] = value;
  std::ofstream(file, std::ios::binary | std::ios::trunc) << root.dump(1) << "\n";
}

TEST(ClosedLoopResults, MergedCopyGivesByteIdenticalMetrics) {
  TempDir dir;
  const auto routes = two_short_routes();
  const drive::DriveSummary run = run_job(dir.file("run"), drive::AgentKind::straight_line, routes);
  ASSERT_EQ(run.routes.size(), 2u);
  const std::string metrics = read_text(dir.file("run/metrics.json"));
  ASSERT_TRUE(fs::exists(dir.file("run/routes/" + routes[0].name() + ".json")));
  ASSERT_TRUE(fs::exists(dir.file("run/routes/" + routes[1].name() + ".json")));
  EXPECT_TRUE(fs::exists(dir.file("run/report.md")));
  EXPECT_TRUE(fs::exists(dir.file("run/timing.json")));

  // Only the route files copied elsewhere, merged into a third folder.
  copy_folder(dir.file("run/routes"), dir.file("copy/routes"));
  const drive::DriveSummary merged = drive::merge_drive_results({dir.file("copy")}, dir.file("merged"), routes);
  EXPECT_EQ(read_text(dir.file("merged/metrics.json")), metrics);
  EXPECT_EQ(merged.summary.driving_score, run.summary.driving_score);
  // The same folder given twice (identical results) merges too.
  drive::merge_drive_results({dir.file("run"), dir.file("copy")}, dir.file("twice"), routes);
  EXPECT_EQ(read_text(dir.file("twice/metrics.json")), metrics);

  // What metrics.json says agrees with the route files.
  const Json parsed = Json::parse(metrics);
  EXPECT_EQ(parsed["agent"], "straight_line");
  EXPECT_EQ(parsed["routes"], 2);
  ASSERT_EQ(parsed["per_route"].size(), 2u);
  const double mean = (parsed["per_route"][0]["driving_score"].get<double>() + parsed["per_route"][1]["driving_score"].get<double>()) / 2.0;
  EXPECT_NEAR(parsed["driving_score"].get<double>(), mean, 1e-9);
}

TEST(ClosedLoopResults, MergeRefusesConflictsMissingRoutesAndMixedAgents) {
  TempDir dir;
  const auto routes = two_short_routes();
  run_job(dir.file("a"), drive::AgentKind::straight_line, routes);
  const std::string route0 = routes[0].name();

  // Different results for one route in two folders.
  copy_folder(dir.file("a/routes"), dir.file("b/routes"));
  edit_score(dir.file("b/routes/" + route0 + ".json"), "driving_score", 12.5);
  std::string message = error_message([&] { drive::merge_drive_results({dir.file("a"), dir.file("b")}, dir.file("out1")); });
  EXPECT_NE(message.find(route0), std::string::npos) << message;

  // A missing route, when the route set is given (and accepted when it is not).
  copy_folder(dir.file("a/routes"), dir.file("c/routes"));
  fs::remove(dir.file("c/routes/" + routes[1].name() + ".json"));
  message = error_message([&] { drive::merge_drive_results({dir.file("c")}, dir.file("out2"), routes); });
  EXPECT_NE(message.find(routes[1].name()), std::string::npos) << message;
  EXPECT_EQ(drive::merge_drive_results({dir.file("c")}, dir.file("out3")).summary.routes, 1);

  // A route not in the set.
  message = error_message([&] { drive::merge_drive_results({dir.file("a")}, dir.file("out4"), {routes[0]}); });
  EXPECT_NE(message.find(routes[1].name()), std::string::npos) << message;

  // Results of different agents.
  run_job(dir.file("expert"), drive::AgentKind::expert, {routes[1]});
  copy_folder(dir.file("c/routes"), dir.file("mixed/routes"));
  copy_folder(dir.file("expert/routes"), dir.file("mixed2/routes"));
  message = error_message([&] { drive::merge_drive_results({dir.file("mixed"), dir.file("mixed2")}, dir.file("out5"), routes); });
  EXPECT_NE(message.find("expert"), std::string::npos) << message;
  EXPECT_NE(message.find("straight_line"), std::string::npos) << message;
  EXPECT_NE(message.find(routes[1].name()), std::string::npos) << message;  // the file

  // Not an output folder.
  fs::create_directories(dir.file("empty"));
  message = error_message([&] { drive::merge_drive_results({dir.file("empty")}, dir.file("out6")); });
  EXPECT_NE(message.find("empty"), std::string::npos) << message;
}

TEST(ClosedLoopResults, MergeRefusesARouteWhoseOtherResultsDiffer) {
  // Two folders disagreeing on a route's distance (or time, comfort, ...): different results.
  TempDir dir;
  const auto routes = two_short_routes();
  run_job(dir.file("a"), drive::AgentKind::straight_line, routes);
  copy_folder(dir.file("a/routes"), dir.file("b/routes"));
  edit_score(dir.file("b/routes/" + routes[0].name() + ".json"), "distance", 1.0);
  const std::string message =
      error_message([&] { drive::merge_drive_results({dir.file("a"), dir.file("b")}, dir.file("out")); });
  EXPECT_NE(message.find(routes[0].name()), std::string::npos) << message;
}

TEST(ClosedLoopResults, CheckedMergeRefusesRoutesOfAnotherLength) {
  // Routes driven with 40 frames are not the route set of 60 frames (same names: the frames are
  // not part of RouteSpec::name()).
  TempDir dir;
  run_job(dir.file("a"), drive::AgentKind::straight_line, two_short_routes(40));
  EXPECT_THROW(drive::merge_drive_results({dir.file("a")}, dir.file("out"), two_short_routes(60)), rsd::Error);
}

TEST(ClosedLoopResults, JobRefusesAModelWithoutCheckpoint) {
  TempDir dir;
  drive::DriveJobOptions options;
  options.agent = drive::AgentKind::model;
  options.out_dir = dir.file("out");
  options.routes = two_short_routes();
  EXPECT_THROW(drive::run_drive_job(nullptr, options), rsd::ConfigError);
  options.out_dir.clear();
  options.agent = drive::AgentKind::expert;
  EXPECT_THROW(drive::run_drive_job(nullptr, options), rsd::ConfigError);
  EXPECT_THROW(drive::parse_agent_kind("nobody"), rsd::ConfigError);
  for (auto kind : {drive::AgentKind::model, drive::AgentKind::expert, drive::AgentKind::constant_velocity,
                    drive::AgentKind::straight_line}) {
    EXPECT_EQ(drive::parse_agent_kind(drive::to_string(kind)), kind);
  }
}

TEST(ClosedLoopResults, ShardsMergeToTheUnshardedMetrics) {
  TempDir dir;
  const auto routes = synth::make_route_set(3, 2026, 40, {"PedestrianCrossing", "HardBreakRoute", "ParkedObstacle"});
  run_job(dir.file("whole"), drive::AgentKind::expert, routes);
  std::vector<std::string> shards;
  for (int i = 0; i < 2; ++i) {
    drive::DriveJobOptions options;
    options.agent = drive::AgentKind::expert;
    options.out_dir = dir.file("shard" + std::to_string(i));
    options.routes = routes;
    options.strips = false;
    options.world.image_width = 64;
    options.world.image_height = 36;
    options.shard.index = i;
    options.shard.count = 2;
    const drive::DriveSummary part = drive::run_drive_job(nullptr, options);
    EXPECT_FALSE(fs::exists(dir.file("shard" + std::to_string(i) + "/metrics.json")));
    EXPECT_LE(part.routes.size(), routes.size());
    shards.push_back(options.out_dir);
  }
  drive::merge_drive_results(shards, dir.file("merged"), routes);
  EXPECT_EQ(read_text(dir.file("merged/metrics.json")), read_text(dir.file("whole/metrics.json")));
}

// ---- data: the model's input from in-memory images ----------------------------------------------

std::string gunzip(const std::string& path) {
  gzFile file = gzopen(path.c_str(), "rb");
  if (file == nullptr) throw rsd::Error("cannot open " + path);
  std::string out;
  char buffer[65536];
  int n = 0;
  while ((n = gzread(file, buffer, sizeof(buffer))) > 0) out.append(buffer, static_cast<std::size_t>(n));
  gzclose(file);
  return out;
}

void expect_same_frame(const rsd::data::Frame& a, const rsd::data::Frame& b) {
  EXPECT_EQ(a.clip, b.clip);
  EXPECT_EQ(a.index, b.index);
  EXPECT_EQ(a.ego2world, b.ego2world);
  EXPECT_EQ(a.ego.speed, b.ego.speed);
  EXPECT_EQ(a.ego.acceleration, b.ego.acceleration);
  EXPECT_EQ(a.ego.angular_velocity, b.ego.angular_velocity);
  EXPECT_EQ(a.ego.steer, b.ego.steer);
  EXPECT_EQ(a.ego.throttle, b.ego.throttle);
  EXPECT_EQ(a.ego.brake, b.ego.brake);
  EXPECT_EQ(a.command, b.command);
  EXPECT_EQ(a.command_target, b.command_target);
  EXPECT_EQ(a.ego_size, b.ego_size);
  EXPECT_EQ(a.ignored_type_ids, b.ignored_type_ids);
  ASSERT_EQ(a.cameras.size(), b.cameras.size());
  for (std::size_t i = 0; i < a.cameras.size(); ++i) {
    EXPECT_EQ(a.cameras[i].name, b.cameras[i].name);
    EXPECT_EQ(a.cameras[i].folder, b.cameras[i].folder);
    EXPECT_EQ(a.cameras[i].width, b.cameras[i].width);
    EXPECT_EQ(a.cameras[i].height, b.cameras[i].height);
    EXPECT_EQ(a.cameras[i].intrinsics, b.cameras[i].intrinsics);
    EXPECT_EQ(a.cameras[i].cam2ego, b.cameras[i].cam2ego);
    EXPECT_EQ(a.cameras[i].image_path, b.cameras[i].image_path);
  }
  ASSERT_EQ(a.boxes.size(), b.boxes.size());
  for (std::size_t i = 0; i < a.boxes.size(); ++i) {
    const auto &p = a.boxes[i], &q = b.boxes[i];
    EXPECT_EQ(p.id, q.id);
    EXPECT_EQ(p.object_class, q.object_class);
    EXPECT_EQ(p.type_id, q.type_id);
    EXPECT_EQ(p.center, q.center);
    EXPECT_EQ(p.size, q.size);
    EXPECT_EQ(p.yaw, q.yaw);
    EXPECT_EQ(p.velocity, q.velocity);
    EXPECT_EQ(p.is_static, q.is_static);
    EXPECT_EQ(p.num_points, q.num_points);
    EXPECT_EQ(p.light_state, q.light_state);
    EXPECT_EQ(p.affects_ego, q.affects_ego);
  }
}

TEST(ClosedLoopData, InferenceSampleEqualsTheDatasetSample) {
  TempDir dir;
  synth::SynthOptions synth_options;
  synth_options.out_dir = dir.path();
  synth_options.clips = 1;
  synth_options.frames = 3;
  synth_options.width = 128;
  synth_options.height = 72;
  synth_options.threads = 1;
  synth_options.top_down = false;
  synth_options.seed = 5;
  synth::write_synthetic_dataset(synth_options);

  // 96 x 56 input from 128 x 72 images: scale 0.78, so the loader decodes the JPEG in full (no
  // reduced decode) and both start from the same pixels.
  rsd::data::DatasetOptions options(rsd::GridSpec({-32, 32, 0.5}, {-32, 32, 0.5}, {-5, 3, 8}));
  options.root = dir.path();
  options.image_width = 96;
  options.image_height = 56;
  const rsd::data::Bench2DriveDataset dataset(options);
  ASSERT_EQ(dataset.size(), 3);
  const int64_t index = 1;
  const auto item = dataset.item(index);
  const rsd::data::ClipInfo& clip = dataset.clips().clips()[static_cast<std::size_t>(item.clip)];
  const rsd::data::Sample expected = dataset.get(index, 0);

  rsd::data::FrameReaderOptions reader_options;
  reader_options.derive_velocity_from_motion = false;
  const rsd::data::FrameReader reader(options.cameras, reader_options);
  const rsd::data::Frame frame = reader.read(clip, item.frame);
  std::vector<cv::Mat> decoded;
  std::vector<rsd::data::BgrImage> images;
  for (const auto& camera : frame.cameras) {
    decoded.push_back(cv::imread(camera.image_path, cv::IMREAD_COLOR));
    ASSERT_FALSE(decoded.back().empty()) << camera.image_path;
    ASSERT_TRUE(decoded.back().isContinuous());
  }
  for (const cv::Mat& image : decoded) images.push_back({image.cols, image.rows, image.data});
  const rsd::data::Sample sample = rsd::data::inference_sample(frame, images, 96, 56);

  EXPECT_EQ(sample.clip, expected.clip);
  EXPECT_EQ(sample.frame, expected.frame);
  ASSERT_EQ(sample.images.sizes(), expected.images.sizes());
  EXPECT_LE((sample.images - expected.images).abs().max().item<float>(), 1e-6f);
  EXPECT_TRUE(torch::equal(sample.intrinsics, expected.intrinsics));
  EXPECT_TRUE(torch::equal(sample.img_aug, expected.img_aug));
  EXPECT_TRUE(torch::equal(sample.cam2ego, expected.cam2ego));
  EXPECT_TRUE(torch::equal(sample.bev_aug, expected.bev_aug));
  EXPECT_TRUE(torch::equal(sample.ego_status, expected.ego_status));
  EXPECT_EQ(sample.command, expected.command);

  // A missing image or one of another size is refused, naming the camera.
  std::vector<rsd::data::BgrImage> short_list(images.begin(), images.end() - 1);
  EXPECT_THROW(rsd::data::inference_sample(frame, short_list, 96, 56), rsd::DataError);
  std::vector<rsd::data::BgrImage> wrong = images;
  wrong[2].width = 64;
  const std::string message = error_message<rsd::DataError>([&] { rsd::data::inference_sample(frame, wrong, 96, 56); });
  EXPECT_NE(message.find(frame.cameras[2].name), std::string::npos) << message;
}

TEST(ClosedLoopData, ParseOfTheDecompressedAnnotationEqualsRead) {
  TempDir dir;
  synth::SynthOptions synth_options;
  synth_options.out_dir = dir.path();
  synth_options.clips = 2;
  synth_options.frames = 3;
  synth_options.width = 128;
  synth_options.height = 72;
  synth_options.threads = 1;
  synth_options.top_down = false;
  synth_options.quirks = true;  // NaN theta, null speed: read the same way by both
  synth::write_synthetic_dataset(synth_options);
  const rsd::data::ClipIndex index = rsd::data::ClipIndex::scan(dir.path());
  ASSERT_EQ(index.clips().size(), 2u);
  rsd::data::FrameReaderOptions reader_options;
  reader_options.derive_velocity_from_motion = false;
  const rsd::data::FrameReader reader(rsd::data::default_camera_names(), reader_options);
  for (const auto& clip : index.clips()) {
    for (int frame : clip.frames) {
      const std::string path = rsd::data::annotation_path(clip, frame);
      const rsd::data::Frame parsed = reader.parse(gunzip(path), clip, frame, path);
      const rsd::data::Frame read = reader.read(clip, frame);
      SCOPED_TRACE(path);
      expect_same_frame(parsed, read);
    }
  }
  // A broken text is an error naming the given source.
  rsd::data::ClipInfo clip = index.clips()[0];
  const std::string message = error_message<rsd::DataError>([&] { reader.parse("{\"x\": 1", clip, 0, "my-source"); });
  EXPECT_NE(message.find("my-source"), std::string::npos) << message;
}

}  // namespace
