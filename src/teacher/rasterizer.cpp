#include "rsd/teacher/rasterizer.h"

#include <torch/torch.h>

#include <algorithm>
#include <cmath>
#include <map>

#include "rsd/geometry/gaussian_heatmap.h"
#include "rsd/util/error.h"

namespace rsd::teacher {

RiskRasterizer::RiskRasterizer(GridSpec grid, RasterizeOptions options)
    : grid_(std::move(grid)), options_(options) {
  RSD_CHECK_GE(options_.min_radius, 0, "rasterize min_radius");
  RSD_CHECK(options_.min_overlap > 0.0 && options_.min_overlap < 1.0,
            "rasterize min_overlap must be in (0, 1), got ", options_.min_overlap);
}

int RiskRasterizer::radius_cells(double length, double width) const {
  return static_cast<int>(
      gaussian_radius_cells(grid_, length, width, options_.min_overlap, options_.min_radius));
}

torch::Tensor RiskRasterizer::rasterize(const std::vector<data::Box>& boxes,
                                        const std::vector<ObjectRisk>& risks) const {
  torch::Tensor map = torch::zeros({grid_.ny(), grid_.nx()}, torch::kFloat32);
  std::map<std::string, const data::Box*> by_id;
  for (const auto& box : boxes) by_id.emplace(box.id, &box);
  for (const auto& risk : risks) {
    const auto it = by_id.find(risk.object_id);
    RSD_CHECK(it != by_id.end(), "risk for object id ", risk.object_id,
              " which is not among the frame's boxes");
    const auto score = static_cast<float>(std::clamp(risk.score, 0.0, 1.0));
    if (score <= 0.0f) continue;
    if (options_.mode == RasterizeMode::gaussian) {
      draw_gaussian(map, *it->second, score);
    } else {
      draw_footprint(map, *it->second, score);
    }
  }
  return map;
}

void RiskRasterizer::draw_gaussian(torch::Tensor& map, const data::Box& box, float score) const {
  const int64_t cx = grid_.x().cell_of(box.center.x());
  const int64_t cy = grid_.y().cell_of(box.center.y());
  if (cx < 0 || cy < 0) return;
  splat_gaussian(map.accessor<float, 2>(), cx, cy, radius_cells(box.size.x(), box.size.y()), score);
}

void RiskRasterizer::draw_footprint(torch::Tensor& map, const data::Box& box, float score) const {
  const int64_t cx = grid_.x().cell_of(box.center.x());
  const int64_t cy = grid_.y().cell_of(box.center.y());
  if (cx < 0 || cy < 0) return;
  auto cells = map.accessor<float, 2>();
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
        float& cell = cells[iy][ix];
        cell = std::max(cell, score);
      }
    }
  }
  float& center = cells[cy][cx];
  center = std::max(center, score);
}

}  // namespace rsd::teacher
