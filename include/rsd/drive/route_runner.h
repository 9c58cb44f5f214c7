// One closed-loop route driven by an agent: the 10 Hz loop of annotation -> frame reader ->
// (rendered cameras) -> agent -> controls -> world.step, until the world ends the route.
#pragma once

#include <string>
#include <vector>

#include "rsd/data/synth/closed_loop.h"
#include "rsd/drive/driving_agent.h"
#include "rsd/drive/driving_score.h"

namespace rsd::drive {

struct RouteRunOptions {
  data::synth::ClosedLoopOptions world;
  std::vector<std::string> cameras;  // Bench2Drive names, the model's order; empty: the six
  /// > 0: render straight into this network input, placed as the loader places world-size images
  /// (data::ImageSource::placed); 0: render world.image_width x image_height images.
  int64_t input_width = 0, input_height = 0;
  /// > 0: each rendered image goes through a JPEG encode and decode at this quality first, as
  /// the training clips' images did (Bench2Drive writes quality 20); 0: none.
  int jpeg_quality = 0;
  std::string strip_path;            // the route's picture (PNG); empty: none
  int strip_panels = 4;
  /// When set, every tick is recorded here (for replaying it through another driver, e.g. the
  /// CARLA agent's test): NNNNN.json (the annotation), NNNNN_<CAMERA>.png (the images the agent
  /// saw, when it looks), NNNNN_decision.json (waypoints, control).
  std::string record_dir;
};

/// Seconds spent per part of the loop, summed over the route's ticks.
struct TickTiming {
  double simulate = 0.0;  // annotation, frame reader, world.step
  double render = 0.0;    // the cameras
  double agent = 0.0;     // the agent's decision (the model's forward, the controller)
  int ticks = 0;

  TickTiming& operator+=(const TickTiming& other) {
    simulate += other.simulate;
    render += other.render;
    agent += other.agent;
    ticks += other.ticks;
    return *this;
  }
};

struct RouteRun {
  data::synth::RouteOutcome outcome;
  RouteScore score;
  TickTiming timing;
};

/// Drives `route` with `agent` (reset first). Throws what the world, the reader or the agent throw,
/// with the route's name prepended.
RouteRun drive_route(const data::synth::RouteSpec& route, DrivingAgent& agent, const RouteRunOptions& options);

}  // namespace rsd::drive
