// Who moves in a synthetic clip and by which rules: the ego's expert, scripted NPC vehicles and
// cyclists that follow paths with an IDM car-following model, walkers, and the traffic-light
// signal plan. simulate() steps them at 10 Hz and records one FrameState per frame.
#pragma once

#include <array>
#include <limits>
#include <memory>
#include <vector>

#include "data/synth/path.h"
#include "rsd/data/frame.h"
#include "data/synth/world.h"

namespace rsd::data::synth {

constexpr double kFrameDt = 1.0 / kFrameRateHz;  // seconds per frame (rsd/data/frame.h)
constexpr double kGravity = 9.81;
constexpr double kEgoWheelbase = 2.875;       // Lincoln MKZ
constexpr double kEgoMaxSteerDegrees = 70.0;  // CARLA's MKZ physics control: steer 1 = this wheel angle

/// Fires once the ego has driven ego_s metres along its route and the clock reached `time`.
struct Trigger {
  double ego_s = -std::numeric_limits<double>::infinity();
  double time = 0.0;
  bool fired(double now, double ego_route_s) const { return now >= time && ego_route_s >= ego_s; }
};

/// A stop line on a path: arc length of the line and the signal group governing it.
struct StopLine {
  double s = 0.0;
  int group = 0;
};

struct VehicleAgent {
  int actor = -1;                            // index into ClipWorld::actors
  std::shared_ptr<const Path> path;
  LateralProfile lateral;
  double s = 0.0, v = 0.0;
  double desired_speed = 8.0;
  double max_accel = 2.0, comfort_decel = 3.0, headway = 1.2, min_gap = 2.5;
  Trigger start;                             // parked (v = 0) until it fires
  double start_speed = 0.0;                  // speed it has once the trigger fires
  std::vector<StopLine> stop_lines;
  double hard_brake_time = -1.0;             // HardBreakRoute: brake at this time...
  double hard_brake_decel = 7.0;             // ...this hard...
  double hard_brake_hold = 2.0;              // ...and stand still this long
  // State kept by the simulation.
  bool started = false;
  int phase = 0;                             // 0 driving, 1 hard braking, 2 holding, 3 done
  double hold_until = 0.0;
  double hold_s = std::numeric_limits<double>::infinity();  // where it means to stop
  double accel = 0.0;
};

struct WalkerAgent {
  int actor = -1;
  std::shared_ptr<const Path> path;
  double s = 0.0, speed = 1.3;
  Trigger start;
  bool started = false;
  double gait = 0.0;
};

/// Traffic-light states of the two signal groups (0: main road, 1: cross road) over time.
struct SignalPlan {
  struct Phase {
    double until = 0.0;   // seconds; the last phase lasts for ever
    int state[2] = {2, 0};
  };
  std::vector<Phase> phases;
  int state(int group, double time) const;
};

struct EgoAgent {
  std::shared_ptr<const Path> path;          // the route's centre line (lane centres)
  LateralProfile lateral;                    // lane changes on top of it
  double s = 0.0, v = 0.0;
  double desired_speed = 8.0;
  std::vector<StopLine> stop_lines;
  bool may_overtake = false;                 // may change lanes around `blocking` actors
  bool yields_to_emergency = false;          // moves aside for emergency vehicles
  double lane_width = 3.5;
  double left_limit = 0.0, right_limit = 0.0;  // allowed lateral offsets (left negative)
  // State kept by the expert.
  int overtaken = -1;                        // actor being overtaken
};

struct Simulation {
  ClipWorld world;
  std::vector<ActorState> initial;           // parallel to world.actors: static poses, lights
  EgoAgent ego;
  std::vector<VehicleAgent> vehicles;
  std::vector<WalkerAgent> walkers;
  SignalPlan signals;
  uint64_t noise_seed = 0;                   // IMU noise
};

/// Steps the simulation `frames` times from t = 0 and appends one FrameState per frame.
void simulate(Simulation& simulation, int frames);


// ---- shared by the expert and the NPCs (traffic_rules.cpp) ----

constexpr int kForecastSteps = 7;            // 0, 0.5, ..., 3.0 s
constexpr double kForecastDt = 0.5;

struct ForecastPose {
  Eigen::Vector2d position = Eigen::Vector2d::Zero();
  double yaw = 0.0;
};
using Forecast = std::array<ForecastPose, kForecastSteps>;

/// Where every actor (and the ego, last) is expected over the next 3 s.
struct Forecasts {
  std::vector<Forecast> actors;
  std::vector<double> actor_speeds;          // m/s now, along their heading
  Forecast ego;
  double ego_speed = 0.0;
};

/// Forecasts of every actor (ego left empty: the caller knows how its ego moves).
Forecasts forecast_actors(const Simulation& simulation, const std::vector<ActorState>& states);
/// The ego keeping its speed along its route (and lane changes).
Forecast forecast_on_route(const EgoAgent& ego);

// ---- one step of everything but the ego, in this order (simulate, and ClosedLoopWorld whose
// ego is driven from outside) ----

/// Fires triggers (by time and the ego's progress along its route) and writes every actor's pose,
/// speed and light state at `time` into `states` (parallel to world.actors).
void place_traffic(Simulation& simulation, std::vector<ActorState>& states, double time, double ego_route_s);
/// NPC vehicles choose their acceleration (and show brake lights) given the forecasts.
void decide_traffic(Simulation& simulation, const Forecasts& forecasts, double time, std::vector<ActorState>& states);
/// Moves NPC vehicles and walkers by one frame.
void advance_traffic(Simulation& simulation);

/// Advances speed and distance by one frame of constant acceleration, stopping at zero speed.
void advance_along(double accel, double* v, double* s);
/// A vehicle's pose on the flat ground of `world`.
Transform vehicle_transform(const ClipWorld& world, const ForecastPose& pose);

/// A vehicle following a path, asking what blocks it.
struct Follower {
  const Path* path = nullptr;
  const LateralProfile* lateral = nullptr;
  double s = 0.0, v = 0.0;
  double front = 2.4;          // centre to front bumper
  double half_width = 1.0;
  double margin = 0.5;         // extra lateral clearance
  double lookahead = 50.0;
  int forecast_steps = 1;      // how far ahead to trust forecasts (1: now only)
  int self = -1;               // own actor index, skipped (-1: the ego)
  bool include_ego = false;
};

struct Obstacle {
  double gap = 0.0;            // bumper to obstacle, metres along the path
  double speed = 0.0;          // its speed along the path
  double min_gap = 2.5;        // IDM jam distance for this obstacle
  int actor = -2;              // index, -1 the ego, -2 a stop line
  bool predicted = false;      // found in the forecast, not where it is now
};

/// Actors in the follower's corridor now or (forecast) soon, nearest first.
std::vector<Obstacle> obstacles_ahead(const Follower& follower, const Forecasts& forecasts,
                                      const ClipWorld& world, const EgoSpec& ego);

/// Intelligent Driver Model acceleration towards speed v0 with the obstacles ahead.
/// `binding` receives the index of the obstacle that brakes most (or -1).
double idm_acceleration(double v, double v0, double max_accel, double comfort_decel, double headway,
                        const std::vector<Obstacle>& obstacles, int* binding = nullptr);

/// The highest speed that respects the path's curvature ahead (2 m/s^2 lateral).
double curve_speed_limit(const Path& path, const LateralProfile& lateral, double s, double desired);

/// Pose (position, yaw) of a path follower with a lateral profile.
ForecastPose pose_on(const Path& path, const LateralProfile& lateral, double s);

/// Signed curvature of that pose (1/m, positive turning right).
double curvature_on(const Path& path, const LateralProfile& lateral, double s);

}  // namespace rsd::data::synth
