// Voxel pooling, the "splat" of lift-splat: sums the lifted camera features depth x context into
// the BEV grid, without ever materialising the (B, N, D, fH, fW, C) frustum.
//
//   // once per geometry (every step in training, once in inference):
//   rsd::ops::VoxelPoolIndex index = rsd::ops::build_voxel_pool_index(points, grid);
//   // every step:
//   torch::Tensor bev = rsd::ops::voxel_pool(depth, feat, index);   // differentiable
//
// bev[b, z*C + c, y, x] = sum over frustum points p of sample b in cell (z, y, x) of
//                         depth[p] * feat[pixel of p, c]
// Cells follow rsd::GridSpec (floor assignment, half-open ranges); with Z > 1 the height bins are
// collapsed into channels, z-major (as LSS/BEVDet do).
//
// Design (docs/ops.md, "How it works"): the index is a stable counting sort of the frustum
// points by cell (CSR over all cells) plus a per-point cell map; the forward is owner-computes over
// cells, the backward owner-computes over pixels through the cell map (no sort, no atomics). Both
// are deterministic: bitwise identical across runs and thread counts. The CPU kernels are built for
// baseline x86-64, AVX2 and AVX-512 and picked at run time; the CUDA kernels share their per-cell
// and per-pixel bodies (docs/ops.md).
#pragma once

#include <torch/types.h>

#include <cstdint>
#include <string>
#include <vector>

namespace rsd {
class GridSpec;
}

namespace rsd::ops {

/// Which frustum points land in which BEV cell: a few int32 tensors on the device of the points,
/// reusable for any depth/feat of the same geometry (build once for fixed cameras).
struct VoxelPoolIndex {
  /// (B*Z*Y*X + 1) CSR offsets: the kept points of global cell g = b*Z*Y*X + (z*Y + y)*X + x are
  /// entries [cell_ptr[g], cell_ptr[g + 1]) of point_depth / point_feat; empty cells included.
  torch::Tensor cell_ptr;
  /// (K) flat index into depth (B, N, D, fH, fW) of each kept point; within a cell in frustum order.
  torch::Tensor point_depth;
  /// (K) its feature row: flat index into feat viewed as (B*N*fH*fW, C).
  torch::Tensor point_feat;
  /// (B, N, D, fH, fW) the global cell of every frustum point, -1 outside the grid (the backward
  /// walks pixels through it).
  torch::Tensor cell_of;
  /// (B*N*fH*fW + 1) running count of kept points per pixel, to balance the backward's threads.
  torch::Tensor pixel_kept_prefix;

  int64_t batch = 0, cameras = 0, depth_bins = 0, height = 0, width = 0;  // the frustum
  int64_t nz = 0, ny = 0, nx = 0;                                         // the grid

  bool defined() const { return cell_ptr.defined(); }
  /// K, the number of frustum points inside the grid.
  int64_t kept() const { return point_depth.defined() ? point_depth.size(0) : 0; }
  /// Cells of one sample, Z*Y*X.
  int64_t cells_per_sample() const { return nz * ny * nx; }
  /// Bytes held by the index tensors.
  int64_t bytes() const;
};

/// How build_voxel_pool_index sorts.
enum class IndexSort {
  automatic,      // counting sort on CPU, device_sort on CUDA
  counting_sort,  // the O(P) stable counting sort; CPU only
  device_sort,    // ATen ops on the points' device (a stable sort): the CUDA path, runs anywhere
};

/// Builds the index from ego-frame frustum points (B, N, D, fH, fW, 3), float or double, metres,
/// x forward / y left / z up (as LiftSplat computes them). Both sorts give identical indices.
/// Throws rsd::Error on a wrong shape or dtype, or when B*N*D*fH*fW or B*Z*Y*X reaches 2^31.
/// Points on the meta device give a shape-only index (no point kept) for voxel_pool on meta.
VoxelPoolIndex build_voxel_pool_index(const torch::Tensor& points, const GridSpec& grid,
                                      IndexSort sort = IndexSort::automatic);

/// depth (B, N, D, fH, fW), feat (B, N, fH, fW, C) channel-last, of one dtype and on the device of
/// the index -> BEV features (B, Z*C, Y, X), contiguous, of that dtype. Differentiable in depth and
/// feat (once: a second derivative throws). Non-contiguous inputs are made contiguous first (a
/// copy; produce channel-last feat directly to avoid it). On the meta device it checks the inputs
/// and returns an output (and gradients) of the right shape and dtype without data.
/// Dtypes: float and double are summed in their own precision; half and bfloat16 are accepted
/// too, summed in fp32 and rounded once per output element (and per gradient element), so they
/// match the fp32 op on the same inputs to the 16-bit rounding of the result: a relative error
/// of about 2^-11 (half) or 2^-8 (bfloat16) of the element's magnitude. The CPU computes them by
/// widening to float (a copy of depth and feat); CUDA has native 16-bit kernels.
torch::Tensor voxel_pool(const torch::Tensor& depth, const torch::Tensor& feat,
                         const VoxelPoolIndex& index);

/// The CUDA kernels were compiled into this build (nvcc was found: RSD_WITH_CUDA).
bool voxel_pool_cuda_compiled();
/// CUDA tensors can be pooled: the kernels are compiled and linked, libtorch has CUDA and a GPU
/// is present.
bool voxel_pool_cuda_available();

/// The CPU kernel variants this CPU can run, fastest first ("avx512", "avx2", "baseline"). The
/// fastest is used unless set_voxel_pool_cpu_variant chose another (tests, benchmarks). Variants
/// differ in rounding (FMA, tile widths), each is deterministic.
std::vector<std::string> voxel_pool_cpu_variants();
/// "auto" or one of voxel_pool_cpu_variants(); throws rsd::Error otherwise. Process-wide.
void set_voxel_pool_cpu_variant(const std::string& name);
std::string voxel_pool_cpu_variant();

namespace detail {
/// build_voxel_pool_index's CPU counting sort over exactly `ranges` (> 0) ranges of the frustum,
/// each with its own histogram, instead of one per intra-op thread: lets tests check that points
/// of a cell stay in frustum order across range boundaries on any machine. Same index as the
/// public function.
VoxelPoolIndex build_voxel_pool_index_in_ranges(const torch::Tensor& points, const GridSpec& grid,
                                                int64_t ranges);
}  // namespace detail

}  // namespace rsd::ops
