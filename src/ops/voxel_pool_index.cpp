// build_voxel_pool_index: the CPU counting sort (ops/cpu/voxel_pool_cpu.cpp) or, on any device,
// the same index from ATen ops around a stable sort (the CUDA path; on CPU it cross-checks the
// counting sort in the tests).
#include <torch/torch.h>

#include "ops/cpu/voxel_pool_cpu.h"
#include "rsd/geometry/grid_spec.h"
#include "rsd/ops/voxel_pool.h"
#include "rsd/util/error.h"

namespace rsd::ops {
namespace {

constexpr int64_t kInt32Limit = int64_t{1} << 31;

VoxelPoolIndex empty_index(const torch::Tensor& points, const GridSpec& grid) {
  VoxelPoolIndex index;
  index.batch = points.size(0);
  index.cameras = points.size(1);
  index.depth_bins = points.size(2);
  index.height = points.size(3);
  index.width = points.size(4);
  index.nz = grid.nz();
  index.ny = grid.ny();
  index.nx = grid.nx();
  return index;
}

detail::GridParams grid_params(const GridSpec& grid) {
  detail::GridParams params{};
  const GridAxis* axes[3] = {&grid.x(), &grid.y(), &grid.z()};
  for (int i = 0; i < 3; ++i) {
    params.min[i] = axes[i]->min;
    params.max[i] = axes[i]->max;
    params.step[i] = axes[i]->step;
    params.cells[i] = axes[i]->cells();
  }
  return params;
}

// ranges: see cpu::CellCountingSort (0: one per thread).
VoxelPoolIndex build_by_counting_sort(const torch::Tensor& points, const GridSpec& grid,
                                      int64_t ranges) {
  RSD_CHECK(points.device().is_cpu(), "voxel_pool index: the counting sort runs on CPU tensors; "
            "points are on ", points.device());
  VoxelPoolIndex index = empty_index(points, grid);
  const torch::Tensor contiguous = points.contiguous();
  const auto int32 = torch::TensorOptions().dtype(torch::kInt32).device(points.device());
  index.cell_of = torch::empty({index.batch, index.cameras, index.depth_bins, index.height,
                                index.width},
                               int32);
  cpu::FrustumShape shape;
  shape.batch = index.batch;
  shape.cameras = index.cameras;
  shape.depth_bins = index.depth_bins;
  shape.pixels = index.height * index.width;
  const detail::GridParams params = grid_params(grid);
  auto sort = [&]() {
    if (contiguous.scalar_type() == torch::kDouble) {
      return std::make_unique<cpu::CellCountingSort>(contiguous.data_ptr<double>(), shape, params,
                                                     index.cell_of.data_ptr<int32_t>(), ranges);
    }
    return std::make_unique<cpu::CellCountingSort>(contiguous.data_ptr<float>(), shape, params,
                                                   index.cell_of.data_ptr<int32_t>(), ranges);
  }();
  index.cell_ptr = torch::empty({sort->total_cells() + 1}, int32);
  index.point_depth = torch::empty({sort->kept()}, int32);
  index.point_feat = torch::empty({sort->kept()}, int32);
  index.pixel_kept_prefix = torch::empty({index.batch * index.cameras * shape.pixels + 1}, int32);
  sort->scatter(index.cell_ptr.data_ptr<int32_t>(), index.point_depth.data_ptr<int32_t>(),
                index.point_feat.data_ptr<int32_t>(), index.pixel_kept_prefix.data_ptr<int32_t>());
  return index;
}

// axis_cell_index (geometry/grid_cell.h) with tensor ops in double, operation for operation. The
// divisor is a full tensor, not a scalar: some backends turn division by a scalar into
// multiplication by its reciprocal, which rounds differently at cell borders.
std::pair<torch::Tensor, torch::Tensor> axis_cells(const torch::Tensor& values,
                                                   const GridAxis& axis) {
  const torch::Tensor scaled = (values - axis.min) / torch::full_like(values, axis.step);
  const torch::Tensor cell = torch::floor(scaled);
  const torch::Tensor valid = (values >= axis.min) & (values < axis.max) &
                              (cell < static_cast<double>(axis.cells()));
  return {valid, torch::where(valid, cell, torch::zeros_like(cell)).to(torch::kLong)};
}

VoxelPoolIndex build_by_device_sort(const torch::Tensor& points, const GridSpec& grid) {
  VoxelPoolIndex index = empty_index(points, grid);
  const int64_t pixels = index.height * index.width;
  const int64_t images = index.batch * index.cameras;
  const int64_t per_sample = index.cameras * index.depth_bins * pixels;
  const int64_t cells_per_sample = index.cells_per_sample();
  const int64_t total_cells = index.batch * cells_per_sample;
  const auto long_options = torch::TensorOptions().dtype(torch::kLong).device(points.device());

  const torch::Tensor xyz = points.reshape({index.batch, per_sample, 3}).to(torch::kDouble);
  const auto [valid_x, x] = axis_cells(xyz.select(2, 0), grid.x());
  const auto [valid_y, y] = axis_cells(xyz.select(2, 1), grid.y());
  const auto [valid_z, z] = axis_cells(xyz.select(2, 2), grid.z());
  const torch::Tensor valid = (valid_x & valid_y & valid_z).reshape({-1});
  const torch::Tensor sample_offset =
      (torch::arange(index.batch, long_options) * cells_per_sample).unsqueeze(1);
  const torch::Tensor cell = ((z * index.ny + y) * index.nx + x + sample_offset).reshape({-1});

  index.cell_of = torch::where(valid, cell, torch::full_like(cell, -1))
                      .to(torch::kInt32)
                      .reshape({index.batch, index.cameras, index.depth_bins, index.height,
                                index.width});
  // Points outside the grid sort after every cell; the stable sort keeps frustum order in a cell.
  const torch::Tensor key = torch::where(valid, cell, torch::full_like(cell, total_cells));
  const auto [sorted_key, order] = torch::sort(key, /*stable=*/c10::optional<bool>(true), /*dim=*/0, /*descending=*/false);
  const int64_t kept = valid.sum().item<int64_t>();
  const torch::Tensor kept_points = order.slice(0, 0, kept);
  index.point_depth = kept_points.to(torch::kInt32);
  index.point_feat = (torch::div(kept_points, index.depth_bins * pixels, "floor") * pixels +
                      torch::remainder(kept_points, pixels))
                         .to(torch::kInt32);
  const torch::Tensor counts = torch::bincount(sorted_key.slice(0, 0, kept), {}, total_cells);
  index.cell_ptr = torch::cat({torch::zeros({1}, long_options), counts.cumsum(0)}).to(torch::kInt32);
  const torch::Tensor kept_per_pixel =
      valid.reshape({images, index.depth_bins, pixels}).sum({1}, false, torch::kLong).reshape({-1});
  index.pixel_kept_prefix =
      torch::cat({torch::zeros({1}, long_options), kept_per_pixel.cumsum(0)}).to(torch::kInt32);
  return index;
}

// Meta points carry no coordinates, so no point can be sorted: the index has its shape fields,
// a cell map and prefix arrays of the right sizes, and no kept point (how many points fall into
// the grid depends on data). Enough for voxel_pool's shape-only path.
VoxelPoolIndex build_shape_only(const torch::Tensor& points, const GridSpec& grid) {
  VoxelPoolIndex index = empty_index(points, grid);
  const auto int32 = torch::TensorOptions().dtype(torch::kInt32).device(points.device());
  index.cell_of = torch::empty({index.batch, index.cameras, index.depth_bins, index.height,
                                index.width},
                               int32);
  index.cell_ptr = torch::empty({index.batch * index.cells_per_sample() + 1}, int32);
  index.point_depth = torch::empty({0}, int32);
  index.point_feat = torch::empty({0}, int32);
  index.pixel_kept_prefix =
      torch::empty({index.batch * index.cameras * index.height * index.width + 1}, int32);
  return index;
}

}  // namespace

int64_t VoxelPoolIndex::bytes() const {
  int64_t total = 0;
  for (const torch::Tensor* t : {&cell_ptr, &point_depth, &point_feat, &cell_of, &pixel_kept_prefix}) {
    if (t->defined()) total += t->numel() * static_cast<int64_t>(t->element_size());
  }
  return total;
}

namespace {

void check_points(const torch::Tensor& points, const GridSpec& grid) {
  RSD_CHECK(points.defined(), "voxel_pool index: the points tensor is undefined");
  RSD_CHECK(points.dim() == 6 && points.size(5) == 3,
            "voxel_pool index: points must be (B, N, D, fH, fW, 3), got ", points.sizes());
  RSD_CHECK(points.scalar_type() == torch::kFloat || points.scalar_type() == torch::kDouble,
            "voxel_pool index: points must be float or double, got ", points.scalar_type());
  const int64_t total_points = points.numel() / 3;
  const int64_t total_cells = points.size(0) * grid.cells();
  RSD_CHECK(total_points < kInt32Limit && total_cells < kInt32Limit,
            "voxel_pool index: ", total_points, " frustum points and ", total_cells,
            " cells must each stay below 2^31 (int32 indices)");
}

}  // namespace

VoxelPoolIndex build_voxel_pool_index(const torch::Tensor& points, const GridSpec& grid,
                                      IndexSort sort) {
  check_points(points, grid);
  torch::NoGradGuard no_grad;
  if (points.is_meta()) return build_shape_only(points, grid);
  if (sort == IndexSort::automatic) {
    sort = points.device().is_cpu() ? IndexSort::counting_sort : IndexSort::device_sort;
  }
  if (sort == IndexSort::counting_sort) return build_by_counting_sort(points, grid, /*ranges=*/0);
  return build_by_device_sort(points, grid);
}

namespace detail {

VoxelPoolIndex build_voxel_pool_index_in_ranges(const torch::Tensor& points, const GridSpec& grid,
                                                int64_t ranges) {
  check_points(points, grid);
  RSD_CHECK_GT(ranges, 0, "voxel_pool index: counting sort ranges");
  torch::NoGradGuard no_grad;
  return build_by_counting_sort(points, grid, ranges);
}

}  // namespace detail

}  // namespace rsd::ops
