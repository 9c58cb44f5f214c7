#include "data/synth/carla_math.h"

#include <cmath>

namespace rsd::data::synth {

double radians(double degrees) { return degrees * M_PI / 180.0; }
double degrees(double radians) { return radians * 180.0 / M_PI; }

Eigen::Matrix4d get_matrix(const Transform& transform) {
  const double cy = std::cos(radians(transform.rotation.yaw));
  const double sy = std::sin(radians(transform.rotation.yaw));
  const double cr = std::cos(radians(transform.rotation.roll));
  const double sr = std::sin(radians(transform.rotation.roll));
  const double cp = std::cos(radians(transform.rotation.pitch));
  const double sp = std::sin(radians(transform.rotation.pitch));
  const Eigen::Vector3d& l = transform.location;
  Eigen::Matrix4d m;
  m << cp * cy, cy * sp * sr - sy * cr, -cy * sp * cr - sy * sr, l.x(),
       sy * cp, sy * sp * sr + cy * cr, -sy * sp * cr + cy * sr, l.y(),
       sp, -cp * sr, cp * cr, l.z(),
       0.0, 0.0, 0.0, 1.0;
  return m;
}

Eigen::Matrix4d rigid_inverse(const Eigen::Matrix4d& matrix) {
  Eigen::Matrix4d inverse = Eigen::Matrix4d::Identity();
  const Eigen::Matrix3d rotation_t = matrix.topLeftCorner<3, 3>().transpose();
  inverse.topLeftCorner<3, 3>() = rotation_t;
  inverse.topRightCorner<3, 1>() = -rotation_t * matrix.topRightCorner<3, 1>();
  return inverse;
}

Eigen::Vector3d apply(const Eigen::Matrix4d& matrix, const Eigen::Vector3d& point) {
  return matrix.topLeftCorner<3, 3>() * point + matrix.topRightCorner<3, 1>();
}

Transform compose(const Transform& parent, const Transform& child) {
  Transform out;
  out.location = apply(get_matrix(parent), child.location);
  out.rotation.pitch = child.rotation.pitch;
  out.rotation.roll = child.rotation.roll;
  out.rotation.yaw = wrap_degrees(parent.rotation.yaw + child.rotation.yaw);
  return out;
}

std::array<Eigen::Vector3d, 8> world_vertices(const Transform& actor, const Eigen::Vector3d& bbx_loc,
                                               const Eigen::Vector3d& extent) {
  static constexpr int kSigns[8][3] = {{1, 1, 1},   {1, 1, -1},  {1, -1, 1},  {1, -1, -1},
                                       {-1, 1, 1},  {-1, 1, -1}, {-1, -1, 1}, {-1, -1, -1}};
  const Eigen::Matrix4d to_world = get_matrix(actor);
  std::array<Eigen::Vector3d, 8> vertices;
  for (int i = 0; i < 8; ++i) {
    const Eigen::Vector3d local(bbx_loc.x() + kSigns[i][0] * extent.x(),
                                bbx_loc.y() + kSigns[i][1] * extent.y(),
                                bbx_loc.z() + kSigns[i][2] * extent.z());
    vertices[i] = apply(to_world, local);
  }
  return vertices;
}

double wrap_degrees(double degrees) {
  double wrapped = std::fmod(degrees + 180.0, 360.0);
  if (wrapped < 0.0) wrapped += 360.0;
  return wrapped - 180.0;
}

}  // namespace rsd::data::synth
