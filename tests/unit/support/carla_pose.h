// CARLA's pose matrix, written independently of librsd so that tests can build Bench2Drive
// annotations (and check the synthetic ones) from a right-handed truth.
#pragma once

#include <Eigen/Core>

namespace rsd::test {

/// Bench2Drive tools/utils.py get_matrix(location, rotation): the 4 x 4 pose of CARLA's
/// left-handed frames, rotation = (pitch, roll, yaw) in degrees.
Eigen::Matrix4d carla_get_matrix(const Eigen::Vector3d& location,
                                 const Eigen::Vector3d& rotation_deg);

}  // namespace rsd::test
