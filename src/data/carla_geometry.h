// CARLA's transforms and the one reflection that turns its left-handed frames into ours.
// Formulas from Bench2Drive's tools/utils.py and Bench2DriveZoo's prepare_B2D.py
// (docs/data.md, "Reading an annotation").
#pragma once

#include <Eigen/Core>
#include <Eigen/Geometry>

#include <cmath>

namespace rsd::data::detail {

/// diag(1, -1, 1, 1): CARLA (x, y, z) <-> ours (x, -y, z), for worlds and ego frames alike.
inline Eigen::Matrix4d left_to_right() {
  return Eigen::Vector4d(1.0, -1.0, 1.0, 1.0).asDiagonal();
}

/// Points of the OpenCV camera frame (x right, y down, z forward) in UE's camera frame
/// (x forward, y right, z up): Bench2DriveZoo's stand_to_ue4_rotate.
inline Eigen::Matrix4d opencv_to_ue_camera() {
  Eigen::Matrix4d m;
  m << 0, 0, 1, 0,
       1, 0, 0, 0,
       0, -1, 0, 0,
       0, 0, 0, 1;
  return m;
}

/// CARLA's get_matrix(location, [pitch, roll, yaw]) (degrees; the JSON's rotation order).
inline Eigen::Matrix4d carla_matrix(const Eigen::Vector3d& location,
                                    const Eigen::Vector3d& pitch_roll_yaw_deg) {
  constexpr double kDeg = M_PI / 180.0;
  const double cp = std::cos(pitch_roll_yaw_deg[0] * kDeg), sp = std::sin(pitch_roll_yaw_deg[0] * kDeg);
  const double cr = std::cos(pitch_roll_yaw_deg[1] * kDeg), sr = std::sin(pitch_roll_yaw_deg[1] * kDeg);
  const double cy = std::cos(pitch_roll_yaw_deg[2] * kDeg), sy = std::sin(pitch_roll_yaw_deg[2] * kDeg);
  Eigen::Matrix4d m;
  m << cp * cy, cy * sp * sr - sy * cr, -cy * sp * cr - sy * sr, location[0],
       sy * cp, sy * sp * sr + cy * cr, -sy * sp * cr + cy * sr, location[1],
       sp, -cp * sr, cp * cr, location[2],
       0, 0, 0, 1;
  return m;
}

/// An accelerometer reading (CARLA's left-handed frame) in ours: (ax, -ay, az).
inline Eigen::Vector3d acceleration_to_right_handed(const Eigen::Vector3d& a) { return {a.x(), -a.y(), a.z()}; }

/// A gyroscope reading in ours: a pseudo-vector, so under the y reflection its x and z components
/// change sign (-wx, wy, -wz), and a left turn has a positive yaw rate.
inline Eigen::Vector3d angular_velocity_to_right_handed(const Eigen::Vector3d& w) { return {-w.x(), w.y(), -w.z()}; }

/// CARLA's steer (positive = right) as ours (positive = left).
inline double steer_to_right_handed(double steer) { return -steer; }

/// Inverse of a rigid transform [R t; 0 1].
inline Eigen::Matrix4d rigid_inverse(const Eigen::Matrix4d& m) {
  Eigen::Matrix4d inverse = Eigen::Matrix4d::Identity();
  inverse.topLeftCorner<3, 3>() = m.topLeftCorner<3, 3>().transpose();
  inverse.topRightCorner<3, 1>() = -m.topLeftCorner<3, 3>().transpose() * m.topRightCorner<3, 1>();
  return inverse;
}

/// True when the top-left 3x3 of `m` is a rotation (orthonormal, det +1) within `tolerance`.
inline bool is_rotation(const Eigen::Matrix4d& m, double tolerance = 1e-3) {
  const Eigen::Matrix3d r = m.topLeftCorner<3, 3>();
  return (r * r.transpose() - Eigen::Matrix3d::Identity()).cwiseAbs().maxCoeff() < tolerance &&
         std::fabs(r.determinant() - 1.0) < tolerance;
}

}  // namespace rsd::data::detail
