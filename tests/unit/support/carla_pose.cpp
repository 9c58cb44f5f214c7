#include "support/carla_pose.h"

#include <cmath>

namespace rsd::test {

Eigen::Matrix4d carla_get_matrix(const Eigen::Vector3d& location,
                                 const Eigen::Vector3d& rotation_deg) {
  constexpr double kPi = 3.14159265358979323846;
  const auto radians = [&](int i) { return rotation_deg[i] * kPi / 180; };
  const double cp = std::cos(radians(0)), sp = std::sin(radians(0));  // pitch
  const double cr = std::cos(radians(1)), sr = std::sin(radians(1));  // roll
  const double cy = std::cos(radians(2)), sy = std::sin(radians(2));  // yaw
  Eigen::Matrix4d m;
  m << cp * cy, cy * sp * sr - sy * cr, -cy * sp * cr - sy * sr, location[0],
       sy * cp, sy * sp * sr + cy * cr, -sy * sp * cr + cy * sr, location[1],
       sp, -cp * sr, cp * cr, location[2],
       0, 0, 0, 1;
  return m;
}

}  // namespace rsd::test
