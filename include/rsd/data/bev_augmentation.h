// BEV augmentation: one similarity transform of the ego frame applied to everything that lives in
// it (camera extrinsics, boxes, waypoints, ego status, risk targets), so that the scene stays
// consistent while the model sees it rotated, scaled and mirrored.
#pragma once

#include <Eigen/Core>

#include <cstdint>
#include <random>

#include "rsd/data/augment_options.h"
#include "rsd/data/frame.h"

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
};

}  // namespace rsd::data
