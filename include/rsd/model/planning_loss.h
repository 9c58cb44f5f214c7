// Training losses of the PlanningHead: L1 to the expert waypoints, and an optional
// collision-aware term against the ground-truth boxes.
#pragma once

#include <torch/types.h>

#include "rsd/model/gt_boxes.h"

namespace rsd::model {

/// Mean |predicted - target| over the valid (waypoint, coordinate) pairs:
/// sum(|p - t| * mask) / (2 * max(sum(mask), 1)). predicted, target (B, T, 2) metres;
/// mask (B, T) bool or float (waypoints beyond the clip's end are 0). A batch without a valid
/// waypoint gives zero with a graph.
torch::Tensor planning_l1_loss(const torch::Tensor& predicted, const torch::Tensor& target,
                               const torch::Tensor& mask);

struct CollisionLossOptions {
  /// Seconds between waypoints (Bench2Drive: 5 frames at 10 Hz = 0.5 s); waypoint t is at
  /// (t + 1) * step_seconds.
  double step_seconds = 0.5;
  /// Clearance, metres: a waypoint closer than this to a box footprint is penalised. It stands
  /// in for the ego's half width.
  double margin = 1.0;
};

/// Penalises waypoints inside or near the ground-truth boxes' footprints at their time:
///   sum over valid (waypoint, box) of relu(margin - signed_distance(waypoint, footprint_t))
///   divided by max(number of valid waypoints, 1),
/// where footprint_t is the box's length x width rectangle (at its yaw) moved to
/// center + velocity * (t + 1) * step_seconds and signed_distance is negative inside it.
/// Simplifications: the ego is a point with clearance `margin`; boxes move at their current
/// velocity without turning; boxes of the current frame only (no future annotations).
/// predicted (B, T, 2) metres, ego frame; mask (B, T). Scalar.
torch::Tensor collision_loss(const torch::Tensor& predicted, const GtBoxes& boxes,
                             const torch::Tensor& mask, const CollisionLossOptions& options = {});

}  // namespace rsd::model
