// BEV pictures (private to librsd): where an ego-frame point lands in a picture of the grid, a risk
// map as a colour image, footprints drawn on it, and the PNG writer. Shared by eval's frame
// pictures (src/eval/frame_pictures.cpp) and `rsd_cache_risk inspect` (src/teacher/inspect.cpp),
// so that both show a frame the same way round.
//
// Orientation: x forward points up and y left points left, so the picture's row 0 is the grid's
// front edge (x max) and its column 0 the left edge (y max); `cell_pixels` pixels per grid cell.
#pragma once

#include <torch/types.h>

#include <Eigen/Core>
#include <cmath>
#include <cstdint>
#include <filesystem>
#include <opencv2/core.hpp>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>
#include <string>
#include <vector>

#include "rsd/geometry/grid_spec.h"
#include "rsd/util/error.h"

namespace rsd::data::detail {

/// Maps ego-frame ground points (metres) to pixels of a BEV picture of `grid`.
class BevProjection {
 public:
  BevProjection(const GridSpec& grid, int cell_pixels) : grid_(grid), cell_pixels_(cell_pixels) {
    RSD_CHECK(cell_pixels >= 1, "BEV pictures need at least one pixel per cell, got ",
              cell_pixels);
  }

  cv::Point2d operator()(const Eigen::Vector2d& point) const {
    return {(grid_.y().max - point.y()) / grid_.y().step * cell_pixels_,
            (grid_.x().max - point.x()) / grid_.x().step * cell_pixels_};
  }
  /// The nearest whole pixel.
  cv::Point pixel(const Eigen::Vector2d& point) const {
    const cv::Point2d exact = (*this)(point);
    return {static_cast<int>(std::lround(exact.x)), static_cast<int>(std::lround(exact.y))};
  }
  /// The whole grid: Y cells wide, X cells high.
  cv::Size size() const {
    return {static_cast<int>(grid_.ny()) * cell_pixels_,
            static_cast<int>(grid_.nx()) * cell_pixels_};
  }
  int cell_pixels() const { return cell_pixels_; }

 private:
  GridSpec grid_;
  int cell_pixels_;
};

/// A (Y, X) map (any float dtype, any device) clamped to [0, 1] as an 8-bit INFERNO colour picture
/// in BEV orientation, `cell_pixels` pixels per cell.
inline cv::Mat bev_heatmap(const torch::Tensor& map, int cell_pixels) {
  RSD_CHECK(map.dim() == 2, "a BEV map must be (Y, X), got ", map.sizes());
  // (Y, X) -> (X, Y), both flipped: rows x descending, columns y descending.
  const torch::Tensor picture_order = map.detach()
                                          .to(torch::kCPU, torch::kFloat)
                                          .t()
                                          .flip({0, 1})
                                          .clamp(0.0, 1.0)
                                          .mul(255.0)
                                          .round()
                                          .to(torch::kUInt8)
                                          .contiguous();
  const cv::Mat gray(static_cast<int>(picture_order.size(0)),
                     static_cast<int>(picture_order.size(1)), CV_8UC1,
                     picture_order.data_ptr<uint8_t>());
  cv::Mat colour;
  cv::applyColorMap(gray, colour, cv::COLORMAP_INFERNO);
  cv::Mat scaled;
  cv::resize(colour, scaled, cv::Size(), cell_pixels, cell_pixels, cv::INTER_NEAREST);
  return scaled;
}

/// The closed outline through `corners` (ego frame, in order), one pixel wide, anti-aliased.
inline void draw_bev_outline(cv::Mat& picture, const std::vector<Eigen::Vector2d>& corners,
                             const BevProjection& to_pixel, const cv::Scalar& colour) {
  std::vector<cv::Point> polygon;
  polygon.reserve(corners.size());
  for (const Eigen::Vector2d& corner : corners) polygon.push_back(to_pixel.pixel(corner));
  cv::polylines(picture, polygon, true, colour, 1, cv::LINE_AA);
}

/// Writes `picture` as PNG, creating its folder; throws rsd::Error naming the path on failure.
inline void write_png(const std::string& path, const cv::Mat& picture) {
  const std::filesystem::path parent = std::filesystem::path(path).parent_path();
  if (!parent.empty()) std::filesystem::create_directories(parent);
  bool written = false;
  try {
    written = cv::imwrite(path, picture);
  } catch (const cv::Exception& error) {
    throw Error("cannot write picture " + path + ": " + error.what());
  }
  if (!written) throw Error("cannot write picture " + path);
}

}  // namespace rsd::data::detail
