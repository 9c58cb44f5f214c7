#include "rsd/data/bev_augmentation.h"

#include <cmath>

#include "data/random_draws.h"

namespace rsd::data {
namespace {

constexpr double kPi = 3.14159265358979323846;

double wrap_angle(double angle) {
  angle = std::remainder(angle, 2.0 * kPi);  // [-pi, pi]
  return angle <= -kPi ? angle + 2.0 * kPi : angle;
}

}  // namespace

BevAugmentation BevAugmentation::sample(const BevAugmentOptions& options, std::mt19937_64& rng) {
  BevAugmentation augmentation;
  const double angle_deg = detail::uniform(rng, -options.rotate_deg, options.rotate_deg);
  const double scale = detail::uniform(rng, options.scale_min, options.scale_max);
  const bool flip = detail::coin(rng);
  augmentation.angle = angle_deg * kPi / 180.0;
  augmentation.scale = scale;
  augmentation.flip_y = options.flip && flip;
  return augmentation;
}

Eigen::Matrix4d BevAugmentation::matrix() const {
  Eigen::Matrix4d m = Eigen::Matrix4d::Identity();
  const double c = std::cos(angle), s = std::sin(angle);
  const double mirror = flip_y ? -1.0 : 1.0;
  m(0, 0) = scale * c;
  m(0, 1) = -scale * s * mirror;
  m(1, 0) = scale * s;
  m(1, 1) = scale * c * mirror;
  m(2, 2) = scale;
  return m;
}

Eigen::Vector3d BevAugmentation::point(const Eigen::Vector3d& p) const {
  return matrix().topLeftCorner<3, 3>() * p;
}

Eigen::Vector3d BevAugmentation::vector(const Eigen::Vector3d& v) const { return point(v); }

Eigen::Vector2d BevAugmentation::vector(const Eigen::Vector2d& v) const {
  return matrix().topLeftCorner<2, 2>() * v;
}

double BevAugmentation::yaw(double yaw) const {
  return wrap_angle((flip_y ? -yaw : yaw) + angle);
}

Box BevAugmentation::box(const Box& box) const {
  Box out = box;
  out.center = point(box.center);
  out.size = box.size * scale;
  out.yaw = yaw(box.yaw);
  out.velocity = vector(box.velocity);
  return out;
}

EgoStatus BevAugmentation::ego_status(const EgoStatus& status) const {
  EgoStatus out = status;
  out.speed = status.speed * scale;
  out.acceleration = vector(status.acceleration);
  // A pseudo-vector: rotations act as on vectors, the mirror F as -F; scaling leaves angles alone.
  Eigen::Vector3d w = status.angular_velocity;
  if (flip_y) w = Eigen::Vector3d(-w.x(), w.y(), -w.z());
  const double c = std::cos(angle), s = std::sin(angle);
  out.angular_velocity = Eigen::Vector3d(c * w.x() - s * w.y(), s * w.x() + c * w.y(), w.z());
  if (flip_y) out.steer = -status.steer;
  return out;
}

Command BevAugmentation::command(Command command) const {
  if (!flip_y) return command;
  switch (command) {
    case Command::turn_left: return Command::turn_right;
    case Command::turn_right: return Command::turn_left;
    case Command::change_lane_left: return Command::change_lane_right;
    case Command::change_lane_right: return Command::change_lane_left;
    default: return command;
  }
}

}  // namespace rsd::data
