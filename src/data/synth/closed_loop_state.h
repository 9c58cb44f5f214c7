// The state behind rsd::data::synth::ClosedLoopWorld, shared by its stepping (closed_loop.cpp) and
// its pictures (closed_loop_strip.cpp).
#pragma once

#include <memory>
#include <set>
#include <string>
#include <vector>

#include "data/synth/rasterizer.h"
#include "data/synth/scene_render.h"
#include "data/synth/traffic.h"
#include "rsd/data/synth/closed_loop.h"

namespace rsd::data::synth {

/// The ego as the bicycle model moves it (map frame, CARLA's left-handed axes).
struct FreeEgo {
  Eigen::Vector2d position = Eigen::Vector2d::Zero();
  double yaw = 0.0;          // radians, increasing = turning right
  double v = 0.0;
  double steer = 0.0;        // applied steer (rate limited), CARLA sign
  double curvature = 0.0;    // 1/m of the last step, positive = right
  double accel = 0.0;        // m/s^2 of the last step
  VehicleControl control;    // the last control as given
};

struct ClosedLoopWorld::Impl {
  RouteSpec route;
  ClosedLoopOptions options;
  Simulation sim;                        // sim.ego: the expert's state, kept on the real ego
  std::vector<ActorState> states;
  FreeEgo ego;
  int tick = 0;
  bool finished = false;
  double still_time = 0.0;
  std::set<std::string> contacts;        // objects touching the ego at the last tick
  std::vector<bool> lines_passed;        // parallel to sim.ego.stop_lines
  Eigen::Vector2d origin = Eigen::Vector2d::Zero();  // route frame: start position and heading (map)
  double origin_yaw = 0.0;
  RouteOutcome outcome;
  std::unique_ptr<SceneRenderer> renderer;
  mutable Rasterizer raster;

  /// Map frame -> route frame (right-handed, start at the origin heading +x).
  Eigen::Vector2d to_route(const Eigen::Vector2d& map) const;
  Eigen::Vector2d from_route(const Eigen::Vector2d& route_point) const;
  /// Ego frame of the current tick (right-handed) -> map frame.
  Eigen::Vector2d ego_to_map(const Eigen::Vector2d& ego_point) const;
  Eigen::Vector2d map_to_ego(const Eigen::Vector2d& map) const;
};

}  // namespace rsd::data::synth
