// Pictures of one evaluated frame (private to src/eval): the BEV with risk heatmaps, boxes and
// trajectories, and the front camera with the trajectories projected into it.
#pragma once

#include <torch/types.h>

#include <Eigen/Core>
#include <opencv2/core.hpp>
#include <string>
#include <vector>

#include "data/bev_picture.h"
#include "rsd/eval/collision.h"
#include "rsd/geometry/grid_spec.h"

namespace rsd::eval::detail {

/// What the BEV picture shows, everything in the (augmented) ego frame of the frame.
struct BevScene {
  torch::Tensor teacher_risk;  // (Y, X) in [0, 1]; undefined: no teacher label
  torch::Tensor student_risk;  // (Y, X) in [0, 1]; undefined: no RiskHead
  std::vector<Footprint> ground_truth_boxes;
  std::vector<Footprint> predicted_boxes;
  std::vector<Eigen::Vector2d> ground_truth_trajectory;  // valid steps only
  std::vector<Eigen::Vector2d> predicted_trajectory;
  Footprint ego;
  std::vector<std::string> caption;  // text lines above the picture
};

/// One panel per available risk map (teacher, student; a plain one without either), side by
/// side, x forward pointing up, `cell_pixels` pixels per grid cell. GT green, prediction red.
cv::Mat render_bev(const BevScene& scene, const GridSpec& grid, int cell_pixels);

/// What the camera picture shows: one camera of a batch entry, as batch.h documents it.
struct CameraScene {
  torch::Tensor image;       // (3, H, W) normalised with ImageNet's mean and std, RGB
  torch::Tensor intrinsics;  // (3, 3) of the original image
  torch::Tensor img_aug;     // (3, 3) original -> network-input pixels
  torch::Tensor cam2ego;     // (4, 4) camera (OpenCV axes) -> ego frame
  std::vector<Eigen::Vector2d> ground_truth_trajectory;  // on the ground (z = 0), valid steps only
  std::vector<Eigen::Vector2d> predicted_trajectory;
  std::vector<std::string> caption;  // text lines above the picture
};

/// The camera image with both trajectories projected (uv = img_aug K q / q.z with
/// q = cam2ego^-1 p); points behind the camera are left out.
cv::Mat render_camera(const CameraScene& scene);

/// Writes `picture` as PNG; throws rsd::Error naming the path on failure.
using data::detail::write_png;

}  // namespace rsd::eval::detail
