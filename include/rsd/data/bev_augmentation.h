// BEV augmentation: one similarity transform of the ego frame applied to everything that lives in
// it (camera extrinsics, boxes, waypoints, ego status, risk targets), so that the scene stays
// consistent while the model sees it rotated, scaled and mirrored.
#pragma once

#include <Eigen/Core>
#include <torch/types.h>

#include <cstdint>
#include <random>

#include "rsd/data/augment_options.h"
#include "rsd/data/frame.h"
#include "rsd/geometry/grid_spec.h"

namespace rsd::data {

/// p_aug = scale * Rz(angle) * F * p with F = diag(1, -1, 1) when flip_y, else identity: the
/// mirror first, then the rotation, then the uniform scale (z included, so that the transform
/// maps camera rays onto camera rays). Points, sizes and velocities scale alike.
struct BevAugmentation {
  double angle = 0.0;  // radians, counter-clockwise seen from above
  double scale = 1.0;
  bool flip_y = false;

  /// Draws one augmentation from `rng` (three draws, always in the same order).
  static BevAugmentation sample(const BevAugmentOptions& options, std::mt19937_64& rng);

  /// The 4x4 homogeneous matrix A (ego -> augmented ego).
  Eigen::Matrix4d matrix() const;
  bool is_identity() const { return angle == 0.0 && scale == 1.0 && !flip_y; }

  Eigen::Vector3d point(const Eigen::Vector3d& p) const;
  /// Free vectors (velocities, accelerations): the linear part of A.
  Eigen::Vector3d vector(const Eigen::Vector3d& v) const;
  Eigen::Vector2d vector(const Eigen::Vector2d& v) const;
  /// A heading: mirrored (-yaw), then rotated (+angle); wrapped to (-pi, pi].
  double yaw(double yaw) const;
  /// Centre, size (x scale), heading and velocity of a box.
  Box box(const Box& box) const;
  /// Speed and acceleration scale, vectors rotate and mirror; the yaw rate and the steering
  /// angle change sign under the mirror (the angular velocity is a pseudo-vector).
  EgoStatus ego_status(const EgoStatus& status) const;
  /// The mirror swaps left and right commands.
  Command command(Command command) const;
  /// A heatmap (Y, X) on `grid` (the risk target) resampled into the augmented frame: each
  /// output cell centre q takes the bilinear value at A^-1 q (zero outside the grid), and every
  /// local maximum (a positive cell not below its 8 neighbours) keeps its exact value at the cell
  /// holding its moved centre. Bilinear weights alone would flatten a one-cell peak of 1 to less
  /// than 1 whenever A moves cell centres off cell centres, and a focal loss whose positives are
  /// the cells at 1 would find none. Same dtype and device as `map`.
  torch::Tensor heatmap(const torch::Tensor& map, const GridSpec& grid) const;
};

}  // namespace rsd::data
