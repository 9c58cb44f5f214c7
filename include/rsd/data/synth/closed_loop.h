// Closed-loop driving in the synthetic world: one route is a scenario of the world rsd_data synth
// writes (the same roads, actors, lights, scripted traffic and walkers), but the ego is driven from
// outside. Each 10 Hz tick the caller reads what the sensors see (the annotation Bench2Drive's
// collector would write, and the rendered cameras), decides a control, and step()s the world: the
// ego moves by a kinematic bicycle model with limits, the other actors by their scripted rules and
// reacting to the ego as they react to the expert. The world judges the drive as Bench2Drive's
// leaderboard does (route completion and infractions; see docs/closed-loop.md).
//
//   ClosedLoopWorld world(route, options);
//   while (!world.finished()) {
//     const std::string annotation = world.annotation();   // anno/NNNNN.json text
//     const auto images = world.render(cameras);           // BGR, options.image_width x height
//     ... decide ...
//     world.step(control, plan);
//   }
//   const RouteOutcome& outcome = world.outcome();
//
// Conventions: the control is CARLA's (steer in [-1, 1], positive = right; throttle and brake in
// [0, 1]). Plans and risk maps given to step() are in librsd's ego frame of that tick (x forward,
// y left, metres), as the model predicts them.
#pragma once

#include <Eigen/Core>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace rsd::data::synth {

/// One route of a closed-loop set: the scenario world built like clip `index` of a dataset, but
/// from the closed-loop family of seeds (never a world rsd_data synth writes).
struct RouteSpec {
  std::string scenario;  // one of supported_scenarios()
  int index = 0;
  uint64_t seed = 0;
  int frames = 150;      // the scenario's timeline at 10 Hz (its events happen inside it)

  /// "<scenario>_<index>_s<seed>", unique within a set.
  std::string name() const;
};

/// `count` routes cycling through `scenarios` (all supported ones when empty), indices 0..count-1.
std::vector<RouteSpec> make_route_set(int count, uint64_t seed, int frames,
                                      const std::vector<std::string>& scenarios = {});

/// The default held-out set of rsd_drive: 20 routes over every scenario type, seed 2026, 150 frames.
std::vector<RouteSpec> default_route_set();

/// The cameras of the closed-loop sensor rig (Bench2Drive's six), by their annotation names.
std::vector<std::string> rig_camera_names();

struct VehicleControl {
  double throttle = 0.0;  // [0, 1]
  double steer = 0.0;     // [-1, 1], positive = right (CARLA)
  double brake = 0.0;     // [0, 1]
};

/// The ego's vehicle model: a kinematic bicycle with the limits of CARLA's Lincoln MKZ.
struct VehicleLimits {
  double max_accel = 3.5;         // m/s^2 at full throttle from standstill (falls with speed)
  double top_speed = 25.0;        // m/s, where full throttle no longer accelerates
  double max_brake = 8.0;         // m/s^2 at full brake
  double resistance = 0.15;       // m/s^2 rolling resistance (engine braking while coasting)
  double max_lateral_accel = 8.0; // m/s^2, the tyres' limit on v^2 * curvature
  double steer_rate = 2.5;        // steer units per second the wheel can turn
};

struct ClosedLoopOptions {
  int image_width = 704;          // rendered camera size (the size the model's data was stored at)
  int image_height = 396;
  VehicleLimits vehicle;
  double route_extension = 40.0;  // metres the route goes on beyond where the expert is at `frames`
                                  // (through the junction the scenario leads to)
  double time_limit_factor = 1.5; // the route ends after factor x the expert's time + extra seconds
  double time_limit_extra = 15.0;
  double blocked_seconds = 20.0;  // standing still this long ends the route (agent blocked)
  double deviation_limit = 30.0;  // metres from the route centre line that end the route
};

/// Bench2Drive's infractions (leaderboard 2.0 names in docs/closed-loop.md).
enum class Infraction {
  collision_pedestrian,  // penalty 0.50
  collision_vehicle,     // 0.60
  collision_static,      // 0.65 (props, parked cars, buildings, poles, trees)
  red_light,             // 0.70
  stop_sign,             // 0.80 (the synthetic world has no stop signs: never raised)
  scenario_timeout,      // 0.70 (the route ended by timeout or blocking before its end)
  outside_route_lanes,   // no factor: the distance driven outside reduces route completion
  route_deviation,       // ends the route
  route_timeout,         // ends the route
  agent_blocked          // ends the route
};
constexpr int kNumInfractions = 10;
const char* to_string(Infraction infraction);
/// The leaderboard's penalty factor (1 for infractions without one).
double penalty_factor(Infraction infraction);

struct InfractionEvent {
  Infraction kind = Infraction::collision_vehicle;
  double time = 0.0;                           // seconds since the route started
  Eigen::Vector2d position = Eigen::Vector2d::Zero();  // ego position, route frame (see RouteTick)
  std::string actor;                           // CARLA id of the other party, when there is one
};

/// What happened at one tick. Positions are in the route frame: right-handed, metres, the ego's
/// start at the origin heading +x (so pictures need no map knowledge).
struct RouteTick {
  double time = 0.0;
  Eigen::Vector2d position = Eigen::Vector2d::Zero();
  double yaw = 0.0;                            // radians, counter-clockwise
  double speed = 0.0;                          // m/s
  double accel_lon = 0.0, accel_lat = 0.0;     // m/s^2 (lateral positive = left)
  double yaw_rate = 0.0;                       // rad/s, positive = left
  double route_s = 0.0;                        // progress along the route, metres
  double traffic_speed = -1.0;                 // mean speed of moving vehicles within 50 m; -1: none
  VehicleControl control;
  std::vector<Eigen::Vector2d> plan;           // the agent's waypoints, route frame
};

struct RouteOutcome {
  std::string route;                           // RouteSpec::name()
  std::string scenario;
  std::string clip;                            // the world's clip name
  double route_length = 0.0;                   // the expert's distance at `frames` + route_extension
  double expert_time = 0.0;                    // seconds the expert takes to drive it
  double progress = 0.0;                       // furthest route_s reached, metres
  double outside_lanes = 0.0;                  // metres driven outside the route's lanes
  double route_completion = 0.0;               // [0, 1]: progress share minus the outside share
  std::string end;                             // "completed", "route_timeout", "agent_blocked", "route_deviation"
  double time = 0.0;                           // seconds driven
  double time_limit = 0.0;
  std::vector<InfractionEvent> infractions;
  std::vector<RouteTick> ticks;
};

/// A camera image of the current tick.
struct RenderedCamera {
  std::string name;                            // CAM_FRONT, ...
  int width = 0, height = 0;
  std::vector<uint8_t> bgr;                    // height x width x 3, row-major
};

/// Where rendered pixels land: window pixel = scale x camera pixel + offset (continuous pixel
/// coordinates, centres at +0.5) of the camera's options-size image, e.g. the loader's placement
/// of that image into a network input. Rendering straight into the window gives the pixels the
/// full image would, without rendering the rest and resampling.
struct ImageWindow {
  int width = 0, height = 0;
  double scale_x = 1.0, scale_y = 1.0;
  double offset_x = 0.0, offset_y = 0.0;
};

/// The built-in expert's plan at the current tick (privileged: it sees every actor's intent).
struct ExpertPlan {
  std::vector<Eigen::Vector2d> waypoints;      // ego frame, at 0.5 s, 1.0 s, ... (`steps` of them)
  bool hazard = false;                         // braking for an actor, a light or a yield
};

class ClosedLoopWorld {
 public:
  /// Builds the route's world and runs its expert once (without rendering) for the route length.
  /// Throws rsd::ConfigError for an unknown scenario or invalid options.
  ClosedLoopWorld(const RouteSpec& route, const ClosedLoopOptions& options = {});
  ~ClosedLoopWorld();
  ClosedLoopWorld(const ClosedLoopWorld&) = delete;
  ClosedLoopWorld& operator=(const ClosedLoopWorld&) = delete;

  const RouteSpec& route() const;
  const ClosedLoopOptions& options() const;
  /// The clip name a dataset would give this world (<Scenario>_<Town>_Route<r>_Weather<w>).
  std::string clip_name() const;
  int tick() const;
  bool finished() const;

  /// This tick's annotation as the collector writes anno/NNNNN.json (cameras of options' size).
  std::string annotation() const;
  /// The named cameras (Bench2Drive names: CAM_FRONT, ...) rendered now, at options' size or, with
  /// a window, into it. Throws rsd::ConfigError naming an unknown camera.
  std::vector<RenderedCamera> render(const std::vector<std::string>& cameras, const ImageWindow* window = nullptr) const;
  /// What the built-in expert would plan now: `steps` waypoints 0.5 s apart. Keeps the expert's
  /// own state (lane changes it started), so call it once per tick when it drives.
  ExpertPlan expert_plan(int steps);

  /// Applies `control` for one tick, moves everything, and judges the result. `plan` (ego frame
  /// of this tick) is kept for pictures. Throws rsd::Error when the route has finished.
  void step(const VehicleControl& control, const std::vector<Eigen::Vector2d>& plan = {});

  const RouteOutcome& outcome() const;

  /// A top-down picture (PNG) of the whole route: the road, the ego's path coloured by speed, the
  /// plans every `plan_every` ticks, the actors where the ego met them, and a marker with a label
  /// at each infraction; `risk` maps (one per tick, may be empty) are drawn in `panels` ego-centred
  /// panels beside it. Throws rsd::Error naming the path when it cannot be written.
  struct RiskMap {
    int tick = 0;
    int nx = 0, ny = 0;
    double x_min = 0.0, y_min = 0.0, cell = 1.0;  // ego frame of that tick
    std::vector<float> values;                     // ny x nx, row y, column x, in [0, 1]
  };
  void write_strip(const std::string& path, const std::vector<RiskMap>& risk, int panels = 4,
                   int plan_every = 10) const;

  struct Impl;  // the state (src/data/synth/closed_loop_state.h)

 private:
  std::unique_ptr<Impl> impl_;
};

}  // namespace rsd::data::synth
