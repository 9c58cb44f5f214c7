#include "rsd/teacher/rasterizer.h"

#include <torch/torch.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <map>

#include "rsd/util/error.h"

namespace rsd::teacher {

double gaussian_radius(double height, double width, double min_overlap) {
  // CenterNet (xingyizhou/CenterNet, utils/image.py): the three ways a corner-shifted box can keep
  // IoU >= min_overlap; the radius is the smallest shift that any of them allows.
  const double a1 = 1.0;
  const double b1 = height + width;
  const double c1 = width * height * (1.0 - min_overlap) / (1.0 + min_overlap);
  const double r1 = (b1 + std::sqrt(b1 * b1 - 4.0 * a1 * c1)) / 2.0;
  const double a2 = 4.0;
  const double b2 = 2.0 * (height + width);
  const double c2 = (1.0 - min_overlap) * width * height;
  const double r2 = (b2 + std::sqrt(b2 * b2 - 4.0 * a2 * c2)) / 2.0;
  const double a3 = 4.0 * min_overlap;
  const double b3 = -2.0 * min_overlap * (height + width);
  const double c3 = (min_overlap - 1.0) * width * height;
  const double r3 = (b3 + std::sqrt(b3 * b3 - 4.0 * a3 * c3)) / 2.0;
  return std::min({r1, r2, r3});
}

RiskRasterizer::RiskRasterizer(GridSpec grid, RasterizeOptions options)
    : grid_(std::move(grid)), options_(options) {
  RSD_CHECK_GE(options_.min_radius, 0, "rasterize min_radius");
  RSD_CHECK(options_.min_overlap > 0.0 && options_.min_overlap < 1.0,
            "rasterize min_overlap must be in (0, 1), got ", options_.min_overlap);
}

int RiskRasterizer::radius_cells(double length, double width) const {
  // Box length runs along x, width along y: the footprint in cells of each axis.
  const double height_cells = length / grid_.x().step;
  const double width_cells = width / grid_.y().step;
  const double radius = gaussian_radius(height_cells, width_cells, options_.min_overlap);
  return std::max(options_.min_radius, static_cast<int>(radius));
}

torch::Tensor RiskRasterizer::rasterize(const std::vector<data::Box>& boxes,
                                        const std::vector<ObjectRisk>& risks) const {
  torch::Tensor map = torch::zeros({grid_.ny(), grid_.nx()}, torch::kFloat32);
  float* data = map.data_ptr<float>();
  std::map<std::string, const data::Box*> by_id;
  for (const auto& box : boxes) by_id.emplace(box.id, &box);
  for (const auto& risk : risks) {
    const auto it = by_id.find(risk.object_id);
    RSD_CHECK(it != by_id.end(), "risk for object id ", risk.object_id,
              " which is not among the frame's boxes");
    const auto score = static_cast<float>(std::clamp(risk.score, 0.0, 1.0));
    if (score <= 0.0f) continue;
    if (options_.mode == RasterizeMode::gaussian) {
      draw_gaussian(data, *it->second, score);
    } else {
      draw_footprint(data, *it->second, score);
    }
  }
  return map;
}

void RiskRasterizer::draw_gaussian(float* map, const data::Box& box, float score) const {
  const int64_t cx = grid_.x().cell_of(box.center.x());
  const int64_t cy = grid_.y().cell_of(box.center.y());
  if (cx < 0 || cy < 0) return;
  const int radius = radius_cells(box.size.x(), box.size.y());
  const double sigma = (2.0 * radius + 1.0) / 6.0;
  const int64_t nx = grid_.nx();
  const int64_t ny = grid_.ny();
  for (int64_t iy = std::max<int64_t>(0, cy - radius); iy <= std::min(ny - 1, cy + radius); ++iy) {
    for (int64_t ix = std::max<int64_t>(0, cx - radius); ix <= std::min(nx - 1, cx + radius); ++ix) {
      const double d2 = static_cast<double>((ix - cx) * (ix - cx) + (iy - cy) * (iy - cy));
      const double g = std::exp(-d2 / (2.0 * sigma * sigma));
      // CenterNet drops the tail below machine epsilon of the peak.
      if (g < std::numeric_limits<double>::epsilon()) continue;
      float& cell = map[iy * nx + ix];
      cell = std::max(cell, static_cast<float>(score * g));
    }
  }
}

void RiskRasterizer::draw_footprint(float* map, const data::Box& box, float score) const {
  const int64_t cx = grid_.x().cell_of(box.center.x());
  const int64_t cy = grid_.y().cell_of(box.center.y());
  if (cx < 0 || cy < 0) return;
  const int64_t nx = grid_.nx();
  const double c = std::cos(box.yaw);
  const double s = std::sin(box.yaw);
  const double half_length = 0.5 * box.size.x();
  const double half_width = 0.5 * box.size.y();
  // The cells under the footprint's bounding circle, kept when their centre is inside the box.
  const double reach = std::hypot(half_length, half_width);
  const int64_t x0 = std::max<int64_t>(0, grid_.x().cell_of(std::max(grid_.x().min, box.center.x() - reach)));
  const int64_t y0 = std::max<int64_t>(0, grid_.y().cell_of(std::max(grid_.y().min, box.center.y() - reach)));
  const auto last_cell = [](const GridAxis& axis, double value) {
    const int64_t cell = axis.cell_of(std::min(value, axis.max - 0.5 * axis.step));
    return cell < 0 ? axis.cells() - 1 : cell;
  };
  const int64_t x1 = last_cell(grid_.x(), box.center.x() + reach);
  const int64_t y1 = last_cell(grid_.y(), box.center.y() + reach);
  for (int64_t iy = y0; iy <= y1; ++iy) {
    for (int64_t ix = x0; ix <= x1; ++ix) {
      const double dx = grid_.x().center(ix) - box.center.x();
      const double dy = grid_.y().center(iy) - box.center.y();
      const double along = c * dx + s * dy;
      const double across = -s * dx + c * dy;
      if (std::abs(along) <= half_length && std::abs(across) <= half_width) {
        float& cell = map[iy * nx + ix];
        cell = std::max(cell, score);
      }
    }
  }
  float& center = map[cy * nx + cx];
  center = std::max(center, score);
}

}  // namespace rsd::teacher
