// The CenterNet/CenterPoint heat-map Gaussian on the BEV grid: the radius a box's footprint gets,
// and the splat of one Gaussian into a (Y, X) map. The detection targets (model/) and the teacher's
// risk rasteriser (teacher/) draw the same objects this way, so a risk map and a detection heatmap
// of one box agree cell for cell (up to the risk score that scales the peak).
//
// Inline: the three functions are a few lines each and this header stays libtorch + std only.
#pragma once

#include <torch/types.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>

#include "rsd/geometry/grid_spec.h"

namespace rsd {

/// CenterNet's gaussian_radius (xingyizhou/CenterNet, utils/image.py; CenterPoint uses it for BEV)
/// for a box of `length` x `width` cells: the three ways a corner-shifted box can keep
/// IoU >= min_overlap with the true box; the radius is the smallest shift any of them allows.
inline double gaussian_radius(double length, double width, double min_overlap) {
  const double b1 = length + width;
  const double c1 = width * length * (1.0 - min_overlap) / (1.0 + min_overlap);
  const double r1 = (b1 + std::sqrt(b1 * b1 - 4.0 * c1)) / 2.0;
  const double b2 = 2.0 * (length + width);
  const double c2 = (1.0 - min_overlap) * width * length;
  const double r2 = (b2 + std::sqrt(b2 * b2 - 16.0 * c2)) / 2.0;
  const double a3 = 4.0 * min_overlap;
  const double b3 = -2.0 * min_overlap * (length + width);
  const double c3 = (min_overlap - 1.0) * width * length;
  const double r3 = (b3 + std::sqrt(b3 * b3 - 4.0 * a3 * c3)) / 2.0;
  return std::min({r1, r2, r3});
}

/// The radius, in cells, of a box of `length` (along x) x `width` (along y) metres on `grid`:
/// max(min_radius, floor(gaussian_radius(length / x.step, width / y.step, min_overlap))).
inline int64_t gaussian_radius_cells(const GridSpec& grid, double length, double width,
                                     double min_overlap, int64_t min_radius) {
  const double radius =
      gaussian_radius(length / grid.x().step, width / grid.y().step, min_overlap);
  return std::max(min_radius, static_cast<int64_t>(radius));
}

/// Max-composites peak * exp(-(dx^2 + dy^2) / (2 sigma^2)), sigma = (2 * radius + 1) / 6, over the
/// cells within `radius` of (cx, cy) (clipped to the map) into map[y][x]. The centre cell gets
/// exactly `peak`.
inline void splat_gaussian(torch::TensorAccessor<float, 2> map, int64_t cx, int64_t cy,
                           int64_t radius, float peak) {
  const int64_t rows = map.size(0);
  const int64_t cols = map.size(1);
  const double sigma = static_cast<double>(2 * radius + 1) / 6.0;
  for (int64_t y = std::max<int64_t>(0, cy - radius); y <= std::min(rows - 1, cy + radius); ++y) {
    for (int64_t x = std::max<int64_t>(0, cx - radius); x <= std::min(cols - 1, cx + radius); ++x) {
      const double d2 = static_cast<double>((x - cx) * (x - cx) + (y - cy) * (y - cy));
      const double g = std::exp(-d2 / (2.0 * sigma * sigma));
      // CenterNet drops the tail below machine epsilon of the peak.
      if (g < std::numeric_limits<double>::epsilon()) continue;
      float& cell = map[y][x];
      cell = std::max(cell, static_cast<float>(peak * g));
    }
  }
}

}  // namespace rsd
