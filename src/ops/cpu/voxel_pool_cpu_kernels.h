// The CPU loops of voxel pooling for one range of cells or pixels, built once per instruction set
// (voxel_pool_cpu_kernels.inl compiled with baseline x86-64, AVX2+FMA and AVX-512 flags) and
// chosen at run time by the CPU launcher (voxel_pool_cpu.cpp), which owns the threads.
#pragma once

#include <cstdint>

#include "ops/voxel_pool_cell.h"

namespace rsd::ops::cpu {

constexpr int64_t kForwardBlock = 16;  // cells staged per block of the CPU forward

template <typename T>
struct KernelTable {
  const char* name;  // "avx512", "avx2", "baseline"
  /// Values of T per vector register.
  int64_t vector_width;
  /// Most channels per backward pass (4 vector registers' worth: the feature row, the gradient
  /// accumulator and the products must stay in registers); the launcher gathers a channel-last
  /// gradient tile this wide (or narrower) before each pass.
  int64_t backward_tile;

  /// Forward of cells [cell_begin, cell_end), every channel (main tiles, then narrower ones).
  /// Cells run in blocks of kForwardBlock staged in `stage` (channels * kForwardBlock values),
  /// then copied out as whole runs of each channel plane: storing a cell's C outputs straight
  /// into (B, Z*C, Y, X) touches C lines a plane apart, which alias in every cache level.
  void (*forward_cells)(const detail::PoolIndexView& index, const T* depth, const T* feat,
                        int64_t channels, int64_t cell_begin, int64_t cell_end, T* stage,
                        T* out);

  /// Copies channels [c0, c0 + width) of the (B, Z*C, Y, X) gradient into the channel-last
  /// tile[cell * width + v] for cells [cell_begin, cell_end).
  void (*gather_grad_tile)(const T* grad, int64_t channels, int64_t plane, int64_t c0,
                           int64_t width, int64_t cell_begin, int64_t cell_end, T* tile);

  /// Backward of pixels [pixel_begin, pixel_end) for channels [c0, c0 + width), width <=
  /// backward_tile, in one walk over each pixel's points when width is a multiple of
  /// vector_width. feat_grad of those channels is written; depth_grad is written when
  /// `first_pass`, else the pass's partial dot products are added to it.
  void (*backward_pixels)(const detail::PoolIndexView& index, const T* depth, const T* feat,
                          int64_t channels, const T* grad_col, int64_t grad_stride, int64_t c0,
                          int64_t width, bool first_pass, int64_t pixel_begin, int64_t pixel_end,
                          T* depth_grad, T* feat_grad);
};

struct KernelSet {
  KernelTable<float> f32;
  KernelTable<double> f64;
};

// One per instruction set. The caller checks (cpuid) that this CPU can run the set before calling
// into it: these units are compiled with the set's flags, the launcher's unit is not.
const KernelSet* kernels_baseline();
const KernelSet* kernels_avx2();
const KernelSet* kernels_avx512();

}  // namespace rsd::ops::cpu
