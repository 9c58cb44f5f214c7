// The arithmetic of voxel pooling, shared word for word by the CPU loops (src/ops/cpu/) and the
// CUDA kernels (src/ops/cuda/): a frustum point's cell, one output cell's forward sum and one image
// pixel's backward.
//
// Compiled by the host compiler and by nvcc, so it holds raw pointers and PODs only: no ATen, no
// exceptions, no std:: calls that are not device-callable. The loops around these bodies (which
// thread owns which cell or pixel, channel tiles, reductions across CUDA lanes) stay in the
// launchers.
//
// Determinism: each output element has exactly one owner and every sum runs in a fixed order
// (points of a cell in frustum order; a pixel's depth bins in order; dot products by a fixed
// pairwise tree), so results are bitwise identical across runs and thread counts.
#pragma once

#include <cstdint>

#include "geometry/grid_cell.h"

#if defined(__CUDACC__)
#define RSD_HOST_DEVICE __host__ __device__
#define RSD_INLINE __forceinline__
#else
#define RSD_HOST_DEVICE
#define RSD_INLINE inline __attribute__((always_inline))
#endif

// Full unrolling of the channel loops on the device (their trip counts are template constants).
// Host compilers are left to vectorise them instead: GCC's `#pragma GCC unroll` unrolls them into
// scalar code before the vectoriser sees them.
#if defined(__CUDA_ARCH__)
#define RSD_UNROLL _Pragma("unroll")
#else
#define RSD_UNROLL
#endif

namespace rsd::ops::detail {

/// The pooling index (VoxelPoolIndex) as raw pointers, plus the sizes the bodies need.
/// Cells are global: cell = b*Z*Y*X + (z*Y + y)*X + x. Frustum points are flat over
/// (B, N, D, fH, fW); pixels (feature rows) are flat over (B, N, fH, fW).
struct PoolIndexView {
  const int32_t* cell_ptr = nullptr;     // [cells + 1] CSR offsets into point_depth/point_feat
  const int32_t* point_depth = nullptr;  // [K] frustum point of each kept point, by cell
  const int32_t* point_feat = nullptr;   // [K] its feature row
  const int32_t* cell_of = nullptr;      // [P] cell of each frustum point, -1 outside the grid
  int64_t cells = 0;                     // B*Z*Y*X
  int64_t total_pixels = 0;              // B*N*fH*fW, feature rows
  int64_t plane = 0;                     // Y*X, one output channel plane
  int64_t depth_bins = 0;                // D
  int64_t pixels = 0;                    // fH*fW, pixels of one camera image
};

/// The BEV grid as the cell assignment needs it; index 0, 1, 2 = x, y, z.
struct GridParams {
  double min[3];
  double max[3];
  double step[3];
  int64_t cells[3];
};

/// The cell (z*Y + y)*X + x within its sample of the point xyz[0..3), or -1 outside the grid:
/// rsd::GridSpec::flat_cell exactly (floor per axis, computed in double).
template <typename Scalar>
RSD_HOST_DEVICE RSD_INLINE int64_t point_cell(const Scalar* xyz, const GridParams& grid) {
  int64_t axis_cells[3];
  RSD_UNROLL
  for (int axis = 0; axis < 3; ++axis) {
    axis_cells[axis] = axis_cell_index(xyz[axis], grid.min[axis], grid.max[axis], grid.step[axis],
                                       grid.cells[axis]);
  }
  return flat_cell_index(axis_cells[0], axis_cells[1], axis_cells[2], grid.cells[0],
                         grid.cells[1]);
}

/// Stored type T <-> accumulator type Acc. Plain conversions for float and double (the CPU path);
/// the CUDA unit specialises it for __half and __nv_bfloat16, whose implicit conversions are
/// ambiguous (several conversion operators) or compiled out (__CUDA_NO_HALF_CONVERSIONS__), and
/// which this header cannot name (it is read by the host compiler too).
template <typename T, typename Acc>
struct AccumulatorCast {
  static RSD_HOST_DEVICE RSD_INLINE Acc widen(T value) { return Acc(value); }
  static RSD_HOST_DEVICE RSD_INLINE T narrow(Acc value) { return T(value); }
};

/// Sums values[0..N) by a fixed pairwise tree: the part above the largest power of two P <= N
/// is folded onto the start, then the upper half onto the lower half, repeatedly. Every level is
/// a loop of compile-time length over whole vectors where the widths allow (so it vectorises),
/// and unlike a compiler-reassociated sum the order is fixed by the source. Overwrites the values.
RSD_HOST_DEVICE constexpr int largest_power_of_two_at_most(int n) {
  int power = 1;
  while (power * 2 <= n) power *= 2;
  return power;
}

template <int N, typename Acc>
RSD_HOST_DEVICE RSD_INLINE Acc tree_sum(Acc* values) {
  static_assert(N > 0, "tree_sum of nothing");
  constexpr int power = largest_power_of_two_at_most(N);
  if constexpr (N == 1) {
    return values[0];
  } else if constexpr (power != N) {
    RSD_UNROLL
    for (int i = 0; i < N - power; ++i) values[i] += values[power + i];
    return tree_sum<power>(values);
  } else {
    RSD_UNROLL
    for (int i = 0; i < N / 2; ++i) values[i] += values[i + N / 2];
    return tree_sum<N / 2>(values);
  }
}

/// Forward of one cell for channels [c0, c0 + CT): the sum over the cell's points k of
/// depth[point_depth[k]] * feat[point_feat[k], c], accumulated in Acc, written to
/// target[v * target_stride] for v < CT (every cell is written, empty ones as zeros: no memset).
template <typename T, typename Acc, int CT>
RSD_HOST_DEVICE RSD_INLINE void pool_cell(const PoolIndexView& index, const T* depth,
                                          const T* feat, int64_t channels, int64_t cell,
                                          int64_t c0, T* target, int64_t target_stride) {
  using Cast = AccumulatorCast<T, Acc>;
  Acc acc[CT];
  RSD_UNROLL
  for (int v = 0; v < CT; ++v) acc[v] = Acc(0);
  const int32_t end = index.cell_ptr[cell + 1];
  for (int32_t k = index.cell_ptr[cell]; k < end; ++k) {
    const Acc weight = Cast::widen(depth[index.point_depth[k]]);
    const T* row = feat + static_cast<int64_t>(index.point_feat[k]) * channels + c0;
    RSD_UNROLL
    for (int v = 0; v < CT; ++v) acc[v] += weight * Cast::widen(row[v]);
  }
  RSD_UNROLL
  for (int v = 0; v < CT; ++v) target[v * target_stride] = Cast::narrow(acc[v]);
}

/// Where channel c of `cell` lives in the (B, Z*C, Y, X) output: cell = bz*plane + yx with
/// bz = b*Z + z, and the output channel of sample b is z*C + c.
RSD_HOST_DEVICE RSD_INLINE int64_t output_offset(const PoolIndexView& index, int64_t channels,
                                                 int64_t cell, int64_t c) {
  const int64_t bz = cell / index.plane;
  return (bz * channels + c) * index.plane + (cell - bz * index.plane);
}

/// Backward of one pixel (a feature row) for channels [c0, c0 + CT). The pixel owns its D
/// frustum points; for each point p inside the grid, with g = the output gradient of its cell:
///   feat_grad[pixel, c] = sum_p depth[p] * g[c]              (written here)
///   depth_grad[p]      += sum_{c in tile} g[c] * feat[pixel, c] (handed to `sink` per point, as Acc)
/// `grad_col` points at channel c0 of cell 0 of a channel-last gradient whose rows (cells) are
/// `grad_stride` apart. Points outside the grid are reported with sink.outside(p).
/// `active` = false runs the same control flow without touching memory (CUDA lanes past the
/// last channel must still join their warp's reductions); the sink then receives zeros.
template <typename T, typename Acc, int CT, typename DotSink>
RSD_HOST_DEVICE RSD_INLINE void unpool_pixel(const PoolIndexView& index, const T* depth,
                                             const T* feat, int64_t channels,
                                             const T* grad_col, int64_t grad_stride,
                                             int64_t pixel, int64_t c0, bool active,
                                             T* feat_grad, DotSink& sink) {
  const int64_t camera = pixel / index.pixels;  // b*N + n
  const int64_t first_point = camera * index.depth_bins * index.pixels + (pixel - camera * index.pixels);
  using Cast = AccumulatorCast<T, Acc>;
  Acc row[CT];
  Acc acc[CT];
  RSD_UNROLL
  for (int v = 0; v < CT; ++v) {
    row[v] = active ? Cast::widen(feat[pixel * channels + c0 + v]) : Acc(0);
    acc[v] = Acc(0);
  }
  for (int64_t d = 0; d < index.depth_bins; ++d) {
    const int64_t point = first_point + d * index.pixels;
    const int32_t cell = index.cell_of[point];
    if (cell < 0) {
      sink.outside(point);
      continue;
    }
    const T* g = grad_col + static_cast<int64_t>(cell) * grad_stride;
    const Acc weight = Cast::widen(depth[point]);
    Acc products[CT];
    RSD_UNROLL
    for (int v = 0; v < CT; ++v) {
      const Acc gv = active ? Cast::widen(g[v]) : Acc(0);
      products[v] = gv * row[v];
      acc[v] += weight * gv;
    }
    sink(point, tree_sum<CT>(products));
  }
  if (active) {
    T* target = feat_grad + pixel * channels + c0;
    RSD_UNROLL
    for (int v = 0; v < CT; ++v) target[v] = Cast::narrow(acc[v]);
  }
}

}  // namespace rsd::ops::detail
