// Small fixtures several test files build the same way: a tiny BEV grid and object boxes (a
// whole tiny E2E model and its data: tiny_e2e.h).
#pragma once

#include <Eigen/Core>

#include "rsd/data/frame.h"
#include "rsd/geometry/grid_spec.h"

namespace rsd::test {

/// 16 x 16 cells of 0.5 m around the ego (x and y in [-4, 4)), one z slice over [-2, 2).
GridSpec tiny_grid();

/// An object of `object_class`: box centre (x, y, z) and size (length along its heading, width,
/// height) in metres, heading `yaw`, velocity (vx, vy) in m/s; everything in the ego frame.
data::Box make_box(data::ObjectClass object_class, const Eigen::Vector3d& center,
                   const Eigen::Vector3d& size, double yaw,
                   const Eigen::Vector2d& velocity = Eigen::Vector2d::Zero());

}  // namespace rsd::test
