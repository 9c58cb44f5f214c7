#include "rsd/teacher/camera_projection.h"

#include <Eigen/Dense>

#include <algorithm>
#include <cmath>
#include <sstream>
#include <vector>

namespace rsd::teacher {
namespace {

constexpr double kNearPlane = 0.01;  // metres in front of the camera

Eigen::Vector3d to_camera(const Eigen::Vector3d& point_ego, const data::Camera& camera) {
  const Eigen::Matrix4d ego2cam = camera.cam2ego.inverse();
  return ego2cam.topLeftCorner<3, 3>() * point_ego + ego2cam.topRightCorner<3, 1>();
}

Eigen::Vector2d to_pixel(const Eigen::Vector3d& point_cam, const data::Camera& camera) {
  const Eigen::Vector3d homogeneous = camera.intrinsics * point_cam;
  return homogeneous.head<2>() / homogeneous.z();
}

}  // namespace

double Box2D::area() const { return std::max(0.0, width()) * std::max(0.0, height()); }

std::string Box2D::to_string() const {
  std::ostringstream text;
  text << "[" << std::lround(x1) << ", " << std::lround(y1) << ", " << std::lround(x2) << ", "
       << std::lround(y2) << "]";
  return text.str();
}

double iou(const Box2D& a, const Box2D& b) {
  const double inter_w = std::min(a.x2, b.x2) - std::max(a.x1, b.x1);
  const double inter_h = std::min(a.y2, b.y2) - std::max(a.y1, b.y1);
  if (inter_w <= 0.0 || inter_h <= 0.0) return 0.0;
  const double intersection = inter_w * inter_h;
  const double union_area = a.area() + b.area() - intersection;
  return union_area > 0.0 ? intersection / union_area : 0.0;
}

std::optional<Eigen::Vector2d> project_point(const Eigen::Vector3d& point_ego,
                                             const data::Camera& camera) {
  const Eigen::Vector3d point_cam = to_camera(point_ego, camera);
  if (point_cam.z() <= kNearPlane) return std::nullopt;
  return to_pixel(point_cam, camera);
}

std::array<Eigen::Vector3d, 8> box_corners(const data::Box& box) {
  const Eigen::Vector3d half = 0.5 * box.size;
  const double c = std::cos(box.yaw);
  const double s = std::sin(box.yaw);
  std::array<Eigen::Vector3d, 8> corners;
  for (int i = 0; i < 8; ++i) {
    // Bit 2 flips x, bit 1 flips y, bit 0 flips z: the corner order of Bench2Drive's world_cord.
    const double lx = (i & 4) ? -half.x() : half.x();
    const double ly = (i & 2) ? -half.y() : half.y();
    const double lz = (i & 1) ? -half.z() : half.z();
    corners[i] = box.center + Eigen::Vector3d(c * lx - s * ly, s * lx + c * ly, lz);
  }
  return corners;
}

std::optional<Box2D> project_box(const data::Box& box, const data::Camera& camera) {
  const auto corners = box_corners(box);
  std::array<Eigen::Vector3d, 8> in_camera;
  for (int i = 0; i < 8; ++i) in_camera[i] = to_camera(corners[i], camera);

  std::vector<Eigen::Vector3d> visible;
  for (int i = 0; i < 8; ++i) {
    if (in_camera[i].z() > kNearPlane) visible.push_back(in_camera[i]);
  }
  if (visible.empty()) return std::nullopt;
  // Edges (corners differing in one bit) crossing the near plane contribute their crossing point.
  for (int i = 0; i < 8; ++i) {
    for (int bit = 1; bit < 8; bit <<= 1) {
      const int j = i ^ bit;
      if (j < i) continue;
      const Eigen::Vector3d& a = in_camera[i];
      const Eigen::Vector3d& b = in_camera[j];
      if ((a.z() > kNearPlane) == (b.z() > kNearPlane)) continue;
      const double alpha = (kNearPlane - a.z()) / (b.z() - a.z());
      Eigen::Vector3d crossing = a + alpha * (b - a);
      crossing.z() = kNearPlane;
      visible.push_back(crossing);
    }
  }
  Box2D image_box{1e300, 1e300, -1e300, -1e300};
  for (const auto& point : visible) {
    const Eigen::Vector2d pixel = to_pixel(point, camera);
    image_box.x1 = std::min(image_box.x1, pixel.x());
    image_box.y1 = std::min(image_box.y1, pixel.y());
    image_box.x2 = std::max(image_box.x2, pixel.x());
    image_box.y2 = std::max(image_box.y2, pixel.y());
  }
  image_box.x1 = std::clamp(image_box.x1, 0.0, static_cast<double>(camera.width));
  image_box.x2 = std::clamp(image_box.x2, 0.0, static_cast<double>(camera.width));
  image_box.y1 = std::clamp(image_box.y1, 0.0, static_cast<double>(camera.height));
  image_box.y2 = std::clamp(image_box.y2, 0.0, static_cast<double>(camera.height));
  if (image_box.width() <= 0.0 || image_box.height() <= 0.0) return std::nullopt;
  return image_box;
}

}  // namespace rsd::teacher
