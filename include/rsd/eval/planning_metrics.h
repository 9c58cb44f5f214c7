// Open-loop planning metrics, accumulated frame by frame with memory that does not grow with the
// number of frames: L2 displacement in both conventions and collision rates, for all frames and for
// named groups of frames (per command, per ability, frames near a high-risk object).
// docs/metrics.md defines them exactly.
//
//   PlanningAccumulator planning(options);
//   for (each batch) planning.add_batch(output.waypoints, batch.future_waypoints,
//                                       batch.future_mask, obstacles, groups);
//   MetricSet metrics = planning.metrics();  // planning/all/l2/1s, planning/all/l2_avg/1s, ...
#pragma once

#include <torch/types.h>

#include <Eigen/Core>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "rsd/data/frame.h"
#include "rsd/eval/collision.h"
#include "rsd/eval/metric_set.h"

namespace rsd::eval {

struct PlanningMetricsOptions {
  double step_s = 0.5;  // seconds between waypoints (step k is at (k+1)*step_s)
  std::vector<double> horizons_s = {1.0, 2.0, 3.0};  // each a whole number of steps
  double ego_length = data::kEgoLength;              // ego footprint, metres
  double ego_width = data::kEgoWidth;
};

/// One frame: T predicted and ground-truth ego positions (current ego frame), which steps have a
/// ground truth, the other agents now, and the groups the frame belongs to besides "all".
struct PlanningFrame {
  std::vector<Eigen::Vector2d> predicted;
  std::vector<Eigen::Vector2d> target;
  std::vector<bool> valid;
  std::vector<MovingObstacle> obstacles;
  std::vector<std::string> groups;
};

class PlanningAccumulator {
 public:
  /// Throws rsd::ConfigError for a non-positive step or a horizon that is not a positive whole
  /// number of steps.
  explicit PlanningAccumulator(PlanningMetricsOptions options);

  /// Adds one frame. Every frame must have the same number of steps T; a horizon beyond T yields
  /// NaN metrics.
  void add(const PlanningFrame& frame);

  /// Adds B frames from tensors: predicted and target (B, T, 2), mask (B, T) bool; one obstacle
  /// list and one group list per frame.
  void add_batch(const torch::Tensor& predicted, const torch::Tensor& target,
                 const torch::Tensor& mask,
                 const std::vector<std::vector<MovingObstacle>>& obstacles,
                 const std::vector<std::vector<std::string>>& groups);

  /// planning/<group>/{frames, full_future_frames, l2/<h>, l2_avg/<h>, collision/<h>,
  /// collision_avg/<h>} for "all" first, then the other groups in name order;
  /// planning/all/gt_collision/<h> (the ground-truth trajectory against the same extrapolated
  /// obstacles: the floor the metric's noise sets). l2/<h> is UniAD's (the error at the horizon
  /// over every frame, a step without ground truth counting 0); l2_avg/<h> is VAD's and
  /// Bench2DriveZoo's (each full-future frame's mean error over the steps up to the horizon,
  /// averaged over those frames).
  MetricSet metrics() const;

  const PlanningMetricsOptions& options() const { return options_; }

 private:
  // Sums per step (index k) over the frames of one group.
  struct GroupSums {
    int64_t frames = 0;              // every frame added to the group
    int64_t full_future_frames = 0;  // frames whose T steps all have ground truth
    std::vector<double> l2;              // over the valid steps of every frame
    std::vector<double> l2_full_future;  // over the full-future frames only
    std::vector<int64_t> valid;
    std::vector<int64_t> collisions;
    std::vector<int64_t> target_collisions;
  };
  GroupSums& group(const std::string& name);
  void add_group_metrics(MetricSet& metrics, const std::string& name, const GroupSums& sums,
                         bool with_target_collisions) const;

  PlanningMetricsOptions options_;
  std::vector<int64_t> horizon_steps_;  // step index of each horizon
  int64_t steps_ = -1;                  // T, set by the first frame
  std::map<std::string, GroupSums> groups_;
};

}  // namespace rsd::eval
