// The planning collision metric of ST-P3 as VAD and Bench2DriveZoo compute it (metric_stp3.py,
// PlanningMetric.get_label / evaluate_single_coll / evaluate_coll): the other agents' annotated
// boxes at each future step are rasterised into an occupancy grid, and a trajectory is checked
// against the grid of the same step, by one cell for its point (obj_col) and by a fixed ego box
// (obj_box_col). Steps where the ground-truth trajectory's box itself collides are not counted.
// docs/metrics.md defines it; the reference's choices, its quirks included, are kept so that the
// numbers compare with the ones it prints.
//
// Frames: inputs are in librsd's ego frame (x forward, y left, metres). The reference works in
// Bench2Drive's LiDAR frame (x right, y forward, origin at the LIDAR_TOP mount, at x = kStp3LidarX
// in the ego frame); positions of agents are converted here. Trajectories are displacements from
// the current pose, which both frames share up to the axis swap.
#pragma once

#include <Eigen/Core>
#include <cstdint>
#include <vector>

#include "rsd/eval/collision.h"

namespace rsd::eval {

/// X_BOUND = Y_BOUND = [-50, 50, 0.5]: 200 x 200 cells of 0.5 m centred on the LiDAR.
inline constexpr int64_t kStp3GridCells = 200;
inline constexpr double kStp3CellSize = 0.5;
/// The reference's ego box (ego_length, ego_width: a nuScenes car, not Bench2Drive's ego), placed
/// kStp3EgoForwardOffset ahead of the trajectory point, axis-aligned (it is not turned with the
/// trajectory).
inline constexpr double kStp3EgoLength = 4.084;
inline constexpr double kStp3EgoWidth = 1.85;
inline constexpr double kStp3EgoForwardOffset = 0.5;
/// Bench2Drive's LIDAR_TOP is mounted 0.39 m behind the ego actor's origin (lidar2ego).
inline constexpr double kStp3LidarX = -0.39;

/// The occupied cells of one future step. Row r, column c is the cell the reference indexes as
/// segmentation[t, r, c]: row 0 lies 50 m ahead of the LiDAR, column 0 50 m to its left.
class Stp3Occupancy {
 public:
  Stp3Occupancy();

  /// Rasterises an agent's box (ego frame) as get_birds_eye_view_label does: its corners in grid
  /// coordinates rounded half to even (np.round), then filled as OpenCV's fillPoly fills a polygon
  /// with integer vertices (8-connected outline and scanline interior; cells off the grid
  /// dropped). A box with a non-finite coordinate is ignored.
  void add(const Footprint& agent);

  /// False outside the grid.
  bool occupied(int64_t row, int64_t col) const;
  int64_t occupied_cells() const;

 private:
  std::vector<uint8_t> cells_;  // row-major
};

/// The cells a trajectory point is checked at. `box`: evaluate_single_coll's 32 cells of the ego
/// box (8 rows by 4 columns; rows and columns truncated toward zero, then clamped to the grid as
/// the reference does, so a box leaving the grid is checked on its border cells). `centre_row`,
/// `centre_col`: evaluate_coll's cell for obj_col, which the reference computes with half the grid
/// offset (`-bx/2`), reading the cell 25.125 m ahead of and 25.125 m left of the point (minus
/// truncation); `centre_inside` is false when that cell is off the grid.
struct Stp3Cells {
  std::vector<std::pair<int64_t, int64_t>> box;
  int64_t centre_row = 0;
  int64_t centre_col = 0;
  bool centre_inside = false;
};
Stp3Cells stp3_cells(const Eigen::Vector2d& point);

/// For each step k, whether the ego box at trajectory[k] covers an occupied cell of occupancy[k]
/// (evaluate_single_coll). Needs one grid per point.
std::vector<bool> stp3_box_collisions(const std::vector<Eigen::Vector2d>& trajectory,
                                      const std::vector<Stp3Occupancy>& occupancy);

/// evaluate_coll for one frame, per step k: gt_box_col[k] whether the ground truth's box
/// collides (the step is then not counted); obj_col[k] whether the predicted point's cell is
/// occupied and obj_box_col[k] whether the predicted box collides, both false where
/// gt_box_col[k].
struct Stp3Collisions {
  std::vector<bool> obj_col;
  std::vector<bool> obj_box_col;
  std::vector<bool> gt_box_col;
};
Stp3Collisions stp3_collisions(const std::vector<Eigen::Vector2d>& predicted,
                               const std::vector<Eigen::Vector2d>& target,
                               const std::vector<Stp3Occupancy>& occupancy);

}  // namespace rsd::eval
