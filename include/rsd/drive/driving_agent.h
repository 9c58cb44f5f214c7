// Who drives a closed-loop route: each tick an agent sees what the sensors give (the annotation as
// the frame reader reads it, and the camera images when it looks at them) and answers with a plan
// and a control. The model, the built-in expert and the reference planners are agents.
#pragma once

#include <Eigen/Core>
#include <torch/types.h>

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "rsd/data/frame.h"
#include "rsd/data/frame_sample.h"
#include "rsd/drive/waypoint_controller.h"
#include "rsd/geometry/grid_spec.h"

namespace rsd::data::synth {
class ClosedLoopWorld;
}

namespace rsd::drive {

struct Observation {
  const data::Frame* frame = nullptr;   // this tick, as the frame reader reads its annotation
  std::vector<data::BgrImage> images;   // one per frame->cameras; empty unless needs_images()
  data::ImageSource image_source = data::ImageSource::stored;  // full images, or the network input
  int tick = 0;
  /// The simulator itself, for privileged agents (the expert); null under a real simulator.
  data::synth::ClosedLoopWorld* world = nullptr;
};

struct Decision {
  std::vector<Eigen::Vector2d> waypoints;  // ego frame (x forward, y left), 0.5 s apart
  Control control;
  torch::Tensor risk;                      // (Y, X) risk in [0, 1] on risk_grid; undefined: none
  std::optional<GridSpec> risk_grid;
};

class DrivingAgent {
 public:
  virtual ~DrivingAgent();
  /// "model", "expert", "constant_velocity", ... (reports).
  virtual std::string name() const = 0;
  /// Whether decide() needs the camera images (rendering them costs most of a tick).
  virtual bool needs_images() const { return false; }
  /// Called before the first tick of each route.
  virtual void reset() {}
  virtual Decision decide(const Observation& observation) = 0;
};

/// The route's next target point of an observation (ego frame), or a point ahead when the
/// annotation has none: what the controller steers to when the plan is unsure.
Eigen::Vector2d route_target(const data::Frame& frame);

/// Keeps the speed it had at the route's first tick, and its current yaw rate unless
/// `straight_line` (then it drives straight ahead): the lower reference. `steps` waypoints.
std::unique_ptr<DrivingAgent> make_constant_velocity_agent(bool straight_line, int steps = 6,
                                                           WaypointControllerOptions controller = {});

/// The built-in rule-based expert of the synthetic world (privileged: needs Observation::world),
/// through the same controller: the upper reference.
std::unique_ptr<DrivingAgent> make_expert_agent(int steps = 6, WaypointControllerOptions controller = {});

}  // namespace rsd::drive
