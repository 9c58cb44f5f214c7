// Which BEV cell a coordinate falls in (private to librsd): the one rule (floor, half-open
// [min, max)) behind GridAxis::cell_of / GridSpec::flat_cell and the voxel-pooling counting sort,
// whose hot loop calls it once per frustum point and axis. Inline and free of everything but
// <cmath>, so the pooling's shared bodies (ops/voxel_pool_cell.h, compiled by nvcc too) use it;
// the tensor form of the device sort (ops/voxel_pool_index.cpp) follows it operation for
// operation.
#pragma once

#include <cmath>
#include <cstdint>

#if defined(__CUDACC__)
#define RSD_GRID_CELL_HOST_DEVICE __host__ __device__
#else
#define RSD_GRID_CELL_HOST_DEVICE
#endif

namespace rsd {

/// The cell of `value` on an axis of `cells` cells of `step` from `min` to `max`:
/// floor((value - min) / step), computed in double whatever the value's type; -1 unless
/// min <= value < max (NaN included) and the index is below `cells` (the last border can round to
/// it).
template <typename Scalar>
RSD_GRID_CELL_HOST_DEVICE inline int64_t axis_cell_index(Scalar value, double min, double max,
                                                         double step, int64_t cells) {
  const auto v = static_cast<double>(value);
  if (!(v >= min && v < max)) return -1;
  const auto index = static_cast<int64_t>(std::floor((v - min) / step));
  return index < cells ? index : -1;
}

/// The flat index (iz * ny + iy) * nx + ix of a cell, or -1 when any axis cell is -1.
RSD_GRID_CELL_HOST_DEVICE inline int64_t flat_cell_index(int64_t ix, int64_t iy, int64_t iz,
                                                         int64_t nx, int64_t ny) {
  if (ix < 0 || iy < 0 || iz < 0) return -1;
  return (iz * ny + iy) * nx + ix;
}

}  // namespace rsd

#undef RSD_GRID_CELL_HOST_DEVICE
