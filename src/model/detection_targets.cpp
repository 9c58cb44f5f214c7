#include "rsd/model/detection_targets.h"

#include <algorithm>
#include <cmath>

#include "rsd/geometry/gaussian_heatmap.h"
#include "rsd/model/detection_head.h"
#include "rsd/util/error.h"

namespace rsd::model {

DetectionTargets build_detection_targets(const GtBoxes& boxes, int64_t num_classes,
                                         const GridSpec& grid,
                                         const DetectionTargetOptions& options) {
  RSD_CHECK_GT(num_classes, 0, "detection classes");
  RSD_CHECK(options.min_overlap > 0.0 && options.min_overlap < 1.0, "min_overlap ",
            options.min_overlap, " must lie in (0, 1)");
  RSD_CHECK_GE(options.min_radius, 0, "min_radius");
  if (boxes.valid.is_meta()) {
    // Shapes only: which cells a box marks depends on its coordinates, which meta tensors lack.
    const auto meta = boxes.valid.options();
    const int64_t batch = boxes.valid.size(0), slots = boxes.valid.size(1);
    return {torch::zeros({batch, num_classes, grid.ny(), grid.nx()}, meta.dtype(torch::kFloat)),
            torch::zeros({batch, slots}, meta.dtype(torch::kLong)),
            torch::zeros({batch, slots, box_code::kChannels}, meta.dtype(torch::kFloat)),
            torch::zeros({batch, slots}, meta.dtype(torch::kBool))};
  }
  // The targets are drawn box by box on the CPU, then moved to the boxes' device.
  const GtBoxes cpu = boxes.to(torch::kCPU);
  const int64_t batch = cpu.batch_size(), slots = cpu.max_boxes();
  const int64_t rows = grid.ny(), cols = grid.nx();

  DetectionTargets targets;
  targets.heatmap = torch::zeros({batch, num_classes, rows, cols});
  targets.indices = torch::zeros({batch, slots}, torch::kLong);
  targets.regression = torch::zeros({batch, slots, box_code::kChannels});
  targets.mask = torch::zeros({batch, slots}, torch::kBool);
  auto heatmap = targets.heatmap.accessor<float, 4>();
  auto indices = targets.indices.accessor<int64_t, 2>();
  auto regression = targets.regression.accessor<float, 3>();
  auto mask = targets.mask.accessor<bool, 2>();
  // Named so that the accessors' tensors outlive them.
  const torch::Tensor center_f = cpu.center.to(torch::kFloat);
  const torch::Tensor size_f = cpu.size.to(torch::kFloat);
  const torch::Tensor yaw_f = cpu.yaw.to(torch::kFloat);
  const torch::Tensor velocity_f = cpu.velocity.to(torch::kFloat);
  const torch::Tensor label_l = cpu.label.to(torch::kLong);
  const torch::Tensor valid_b = cpu.valid.to(torch::kBool);
  const auto center = center_f.accessor<float, 3>();
  const auto size = size_f.accessor<float, 3>();
  const auto yaw = yaw_f.accessor<float, 2>();
  const auto velocity = velocity_f.accessor<float, 3>();
  const auto label = label_l.accessor<int64_t, 2>();
  const auto valid = valid_b.accessor<bool, 2>();

  for (int64_t b = 0; b < batch; ++b) {
    for (int64_t m = 0; m < slots; ++m) {
      if (!valid[b][m]) continue;
      const int64_t k = label[b][m];
      RSD_CHECK(k >= 0 && k < num_classes, "box label ", k, " outside [0, ", num_classes, ")");
      const int64_t ix = grid.x().cell_of(center[b][m][0]);
      const int64_t iy = grid.y().cell_of(center[b][m][1]);
      if (ix < 0 || iy < 0) continue;
      const int64_t radius = gaussian_radius_cells(grid, size[b][m][0], size[b][m][1],
                                                   options.min_overlap, options.min_radius);
      splat_gaussian(heatmap[b][k], ix, iy, radius, 1.0f);
      indices[b][m] = iy * cols + ix;
      mask[b][m] = true;
      auto code = regression[b][m];
      code[box_code::kOffsetX] =
          static_cast<float>((center[b][m][0] - grid.x().min) / grid.x().step - ix);
      code[box_code::kOffsetY] =
          static_cast<float>((center[b][m][1] - grid.y().min) / grid.y().step - iy);
      code[box_code::kZ] = center[b][m][2];
      for (int64_t s = 0; s < 3; ++s) {
        code[box_code::kLogSize + s] = std::log(std::max(size[b][m][s], 1e-3f));
      }
      code[box_code::kSin] = std::sin(yaw[b][m]);
      code[box_code::kCos] = std::cos(yaw[b][m]);
      code[box_code::kVelocity] = velocity[b][m][0];
      code[box_code::kVelocity + 1] = velocity[b][m][1];
    }
  }
  const auto device = boxes.valid.device();
  return {targets.heatmap.to(device), targets.indices.to(device), targets.regression.to(device),
          targets.mask.to(device)};
}

}  // namespace rsd::model
