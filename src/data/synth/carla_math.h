// CARLA's left-handed geometry as Bench2Drive's tools compute it (tools/utils.py): x forward,
// y right, z up, metres; rotations [pitch, roll, yaw] in degrees, yaw positive clockwise seen from
// above. The synthetic world is simulated in these conventions so that the annotation is written
// exactly as the real collector writes it.
#pragma once

#include <Eigen/Core>

#include <array>

namespace rsd::data::synth {

struct Rotation {
  double pitch = 0.0;  // degrees
  double roll = 0.0;
  double yaw = 0.0;
};

struct Transform {
  Eigen::Vector3d location = Eigen::Vector3d::Zero();
  Rotation rotation;
};

/// tools/utils.py get_matrix: the 4x4 matrix taking points of the transformed frame into its
/// parent (columns = the frame's x, y, z axes and origin in the parent).
Eigen::Matrix4d get_matrix(const Transform& transform);

/// Inverse of a rigid 4x4 transform.
Eigen::Matrix4d rigid_inverse(const Eigen::Matrix4d& matrix);

Eigen::Vector3d apply(const Eigen::Matrix4d& matrix, const Eigen::Vector3d& point);

/// `child` expressed in its parent, moved into the parent's parent. Exact when the parent has no
/// pitch or roll (every actor of the synthetic world stands on flat ground).
Transform compose(const Transform& parent, const Transform& child);

/// The 8 world vertices of an actor's box in calculate_cube_vertices order: (+x+y+z), (+x+y-z),
/// (+x-y+z), (+x-y-z), (-x+y+z), (-x+y-z), (-x-y+z), (-x-y-z) around bbx_loc, then the actor
/// transform.
std::array<Eigen::Vector3d, 8> world_vertices(const Transform& actor, const Eigen::Vector3d& bbx_loc,
                                               const Eigen::Vector3d& extent);

/// Degrees wrapped into [-180, 180).
double wrap_degrees(double degrees);

double radians(double degrees);
double degrees(double radians);

}  // namespace rsd::data::synth
