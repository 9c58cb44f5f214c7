// The CPU launcher of voxel pooling: the counting sort that builds the index, and the threaded
// forward and backward around the per-instruction-set kernels. Raw pointers only; the tensors,
// checks and autograd live in src/ops/voxel_pool*.cpp.
//
// Threads: at::parallel_for over ranges balanced by work (points per cell range, kept points per
// pixel range), one range per intra-op thread. This unit is compiled with -fopenmp: ATen's
// parallel_for is a header template whose `#pragma omp parallel` is ignored, and the loop runs on
// one thread, in any unit compiled without it.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "ops/voxel_pool_cell.h"

namespace rsd::ops::cpu {

// ----- kernel variants -----------------------------------------------------------------------

/// The instruction-set variants this CPU can run, fastest first ("avx512", "avx2", "baseline").
std::vector<std::string> available_variants();
/// Selects the variant used from now on: "auto" (the fastest available) or one of
/// available_variants(); throws rsd::Error for anything else.
void select_variant(const std::string& name);
std::string selected_variant();
/// Channels per backward pass for C channels: the width of the gradient tile pool_backward
/// needs (cells * width values) unless the gradient is already channel-last.
int64_t backward_pass_width(bool double_precision, int64_t channels);

// ----- index build ---------------------------------------------------------------------------

struct FrustumShape {
  int64_t batch = 0;
  int64_t cameras = 0;     // per sample
  int64_t depth_bins = 0;
  int64_t pixels = 0;      // fH * fW
  int64_t points() const { return batch * cameras * depth_bins * pixels; }
};

/// Stable counting sort of frustum points by cell, O(P): per-range histograms, a prefix sum, then a
/// scatter in frustum order, so points of a cell stay in frustum order whatever the thread count.
class CellCountingSort {
 public:
  /// Pass 1: assigns every point (x, y, z rows of `points`, P x 3) its global cell
  /// b*cells_per_sample + flat cell, or -1, into cell_of[P], and counts points per cell.
  /// `ranges` > 0 fixes the number of point ranges (tests); 0 takes one per intra-op thread, fewer
  /// when the histograms would grow large.
  template <typename Scalar>
  CellCountingSort(const Scalar* points, const FrustumShape& shape, const detail::GridParams& grid,
                   int32_t* cell_of, int64_t ranges = 0);
  ~CellCountingSort();
  CellCountingSort(const CellCountingSort&) = delete;
  CellCountingSort& operator=(const CellCountingSort&) = delete;

  int64_t kept() const { return kept_; }
  int64_t total_cells() const { return total_cells_; }

  /// Pass 2: cell_ptr[total_cells + 1]; point_depth[kept] and point_feat[kept] (the frustum point
  /// and its feature row, grouped by cell); pixel_kept_prefix[B*N*fH*fW + 1], the running count of
  /// kept points per pixel, which balances the backward.
  void scatter(int32_t* cell_ptr, int32_t* point_depth, int32_t* point_feat,
               int32_t* pixel_kept_prefix);

 private:
  struct Histograms;
  FrustumShape shape_;
  int64_t total_cells_ = 0;
  int64_t kept_ = 0;
  const int32_t* cell_of_ = nullptr;
  std::unique_ptr<Histograms> histograms_;
};

// ----- pooling -------------------------------------------------------------------------------

/// out (B, Z*C, Y, X) = the pooled features; every element is written.
template <typename T>
void pool_forward(const detail::PoolIndexView& index, const T* depth, const T* feat,
                  int64_t channels, T* out);

/// depth_grad (P) and feat_grad (B*N*fH*fW, C) from grad, the gradient of the output. grad is
/// either (B, Z*C, Y, X) contiguous (grad_channel_last = false; grad_tile must then hold
/// cells * backward_pass_width() elements), or channel-last rows grad[cell * C + c] (grad_tile
/// unused).
template <typename T>
void pool_backward(const detail::PoolIndexView& index, const int32_t* pixel_kept_prefix,
                   const T* depth, const T* feat, int64_t channels, const T* grad,
                   bool grad_channel_last, T* grad_tile, T* depth_grad, T* feat_grad);

}  // namespace rsd::ops::cpu
