// Open-loop planning metrics, accumulated frame by frame with memory that does not grow with the
// number of frames: L2 displacement in both conventions and collision rates, for all frames and for
// named groups of frames (per command, per ability, frames near a high-risk object).
// docs/metrics.md defines them exactly.
//
//   PlanningAccumulator planning(options);
//   for (each batch) planning.add_batch(output.waypoints, batch.future_waypoints,
//                                       batch.future_mask, frames);  // obstacles, futures, groups
//   MetricSet metrics = planning.metrics();  // planning/all/l2/1s, .../obj_box_col/1s, ...
#pragma once

#include <torch/types.h>

#include <Eigen/Core>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "rsd/data/frame.h"
#include "rsd/eval/collision.h"
#include "rsd/eval/metric_set.h"
#include "rsd/eval/stp3_collision.h"

namespace rsd::eval {

struct PlanningMetricsOptions {
  double step_s = 0.5;  // seconds between waypoints (step k is at (k+1)*step_s)
  std::vector<double> horizons_s = {1.0, 2.0, 3.0};  // each a whole number of steps
  double ego_length = data::kEgoLength;  // ego footprint of the constant-velocity variant, metres
  double ego_width = data::kEgoWidth;
};

/// One frame: T predicted and ground-truth ego positions (current ego frame), which steps have a
/// ground truth, the other agents, and the groups the frame belongs to besides "all".
struct PlanningFrame {
  std::vector<Eigen::Vector2d> predicted;
  std::vector<Eigen::Vector2d> target;
  std::vector<bool> valid;
  /// The road users now, with their velocities (the constant-velocity variant, collision_cv).
  std::vector<MovingObstacle> obstacles;
  /// T entries when known: at step k, the footprints of the road users as annotated at t_k (their
  /// real futures; the ST-P3 metric, obj_col and obj_box_col). Without them the frame is left out
  /// of that metric.
  std::optional<std::vector<std::vector<Footprint>>> agent_futures;
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

  /// Adds B frames from tensors: predicted and target (B, T, 2), mask (B, T) bool; `frames` holds
  /// one entry per frame with its obstacles, agent futures and groups (its trajectories and mask
  /// are filled from the tensors).
  void add_batch(const torch::Tensor& predicted, const torch::Tensor& target,
                 const torch::Tensor& mask, std::vector<PlanningFrame> frames);

  /// planning/<group>/{frames, full_future_frames, l2/<h>, l2_avg/<h>, obj_col/<h>,
  /// obj_box_col/<h>, collision_cv/<h>, collision_cv_avg/<h>} for "all" first, then the other
  /// groups in name order; planning/all/gt_box_col/<h> and planning/all/gt_collision_cv/<h> (the
  /// ground-truth trajectory under each collision metric).
  /// l2/<h> is UniAD's (the error at the horizon over every frame, a step without ground truth
  /// counting 0); l2_avg/<h> is VAD's and Bench2DriveZoo's (each full-future frame's mean error
  /// over the steps up to the horizon, averaged over those frames). obj_col/<h> and
  /// obj_box_col/<h> are VAD's and Bench2DriveZoo's ST-P3 collision rates against the agents'
  /// annotated futures (stp3_collision.h), averaged like l2_avg over the full-future frames with
  /// agent futures, a step where the ground truth collides counting 0; collision_cv/<h> (at the
  /// horizon) and collision_cv_avg/<h> (averaged up to it) are librsd's variant against agents
  /// extrapolated at constant velocity, over the frames with ground truth at that step.
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
    std::vector<int64_t> collisions;         // constant-velocity variant
    std::vector<int64_t> target_collisions;
    int64_t stp3_frames = 0;                 // full-future frames with agent futures
    std::vector<int64_t> obj_col;            // ST-P3, over those frames
    std::vector<int64_t> obj_box_col;
    std::vector<int64_t> gt_box_col;
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
