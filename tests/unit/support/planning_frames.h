// Ego trajectories and planning frames the evaluation tests build the same way.
#pragma once

#include <Eigen/Core>

#include <utility>
#include <vector>

#include "rsd/eval/planning_metrics.h"

namespace rsd::test {

/// Six waypoints 0.5 s apart straight ahead at `speed` m/s (4 m/s: (2(k+1), 0)).
inline std::vector<Eigen::Vector2d> straight_ahead(double speed = 4.0) {
  std::vector<Eigen::Vector2d> points;
  for (int k = 0; k < 6; ++k) points.emplace_back(speed * 0.5 * (k + 1), 0.0);
  return points;
}

/// A frame of the predicted and the ground-truth trajectory, every waypoint valid.
inline eval::PlanningFrame planning_frame(std::vector<Eigen::Vector2d> predicted,
                                          std::vector<Eigen::Vector2d> target) {
  eval::PlanningFrame frame;
  frame.valid.assign(predicted.size(), true);
  frame.predicted = std::move(predicted);
  frame.target = std::move(target);
  return frame;
}

}  // namespace rsd::test
