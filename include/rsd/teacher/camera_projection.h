// Projection of ego-frame points and 3D boxes into a camera image. Camera frame = OpenCV axes
// (x right, y down, z along the optical axis); pixel = K * p_cam / p_cam.z with
// p_cam = inverse(cam2ego) * p_ego (data::Camera's intrinsics and cam2ego).
#pragma once

#include <Eigen/Core>

#include <array>
#include <optional>
#include <string>

#include "rsd/data/frame.h"

namespace rsd::teacher {

/// An axis-aligned image box in pixels: [x1, x2) x [y1, y2) with x1 <= x2 and y1 <= y2.
struct Box2D {
  double x1 = 0.0, y1 = 0.0, x2 = 0.0, y2 = 0.0;
  double width() const { return x2 - x1; }
  double height() const { return y2 - y1; }
  double area() const;
  Eigen::Vector2d center() const { return {0.5 * (x1 + x2), 0.5 * (y1 + y2)}; }
  std::string to_string() const;  // "[x1, y1, x2, y2]", rounded to pixels
};

/// Intersection over union; 0 when either box is empty.
double iou(const Box2D& a, const Box2D& b);

/// The pixel of an ego-frame point, or nullopt when it lies behind the camera (z <= 1 cm).
std::optional<Eigen::Vector2d> project_point(const Eigen::Vector3d& point_ego,
                                             const data::Camera& camera);

/// The 8 corners of a box in the ego frame: (+x+y+z), (+x+y-z), (+x-y+z), (+x-y-z), then -x.
std::array<Eigen::Vector3d, 8> box_corners(const data::Box& box);

/// The image box enclosing the projected 3D box, clipped to the image. Edges crossing the near
/// plane are cut there, so a box partly behind the camera still gets its visible extent. nullopt
/// when nothing of it is in front of the camera and inside the image.
std::optional<Box2D> project_box(const data::Box& box, const data::Camera& camera);

}  // namespace rsd::teacher
