// The per-range CPU loops around the shared bodies of voxel_pool_cell.h, compiled once per
// instruction set. Before including this file, a unit defines
//   RSD_CPU_VARIANT        the set's name (namespace and KernelTable::name): baseline, avx2, avx512
//   RSD_CPU_VECTOR_BYTES   its vector register width in bytes (16, 32, 64)
// Channel tiles are compile-time constants, so the accumulators live in vector registers and the
// channel loops vectorise. With VW values per register, the forward takes up to 8 VW channels per
// walk over a cell's points (C = 80 floats: one walk with AVX-512, 64 + 16 with AVX2), the backward
// up to 4 VW per walk over a pixel's points; channels past the last multiple of VW run in
// narrower power-of-two tiles.
//
// Every function here is internal to its unit (anonymous namespace) or always inlined, so the
// linker can never hand one instruction set's copy of a function to another set's caller; for the
// same reason no std:: function templates are used.
#include <utility>  // std::integer_sequence (a type only)

#include "ops/cpu/voxel_pool_cpu_kernels.h"

#define RSD_CPU_STRINGIFY_(x) #x
#define RSD_CPU_STRINGIFY(x) RSD_CPU_STRINGIFY_(x)

namespace rsd::ops::cpu {
namespace RSD_CPU_VARIANT {
namespace {

using detail::PoolIndexView;

template <typename T>
constexpr int kVectorWidth = RSD_CPU_VECTOR_BYTES / static_cast<int>(sizeof(T));
template <typename T>
constexpr int kForwardWide = 8 * kVectorWidth<T>;
template <typename T>
constexpr int kBackwardWide = 4 * kVectorWidth<T>;

constexpr int64_t min3(int64_t a, int64_t b, int64_t c) {
  const int64_t ab = a < b ? a : b;
  return ab < c ? ab : c;
}

// ----- forward -------------------------------------------------------------------------------

// Channels [c0, c0 + remaining) of one cell with tiles of W, W/2, ..., 1 (remaining < 2W),
// into stage[c * kForwardBlock].
template <typename T, int W>
RSD_INLINE void forward_rest(const PoolIndexView& index, const T* depth, const T* feat,
                             int64_t channels, int64_t cell, int64_t c0, int64_t remaining,
                             T* stage) {
  if (remaining >= W) {
    detail::pool_cell<T, T, W>(index, depth, feat, channels, cell, c0, stage + c0 * kForwardBlock,
                               kForwardBlock);
    c0 += W;
    remaining -= W;
  }
  if constexpr (W > 1) {
    if (remaining > 0) forward_rest<T, W / 2>(index, depth, feat, channels, cell, c0, remaining, stage);
  }
}

// Every channel of cells [cell_begin, cell_end): tiles of kForwardWide, then one of `Multiple`
// (C mod kForwardWide rounded down to whole vectors), then the rest.
template <typename T, int Multiple>
void forward_cells_with(const PoolIndexView& index, const T* depth, const T* feat,
                        int64_t channels, int64_t cell_begin, int64_t cell_end, T* stage, T* out) {
  constexpr int kWide = kForwardWide<T>;
  for (int64_t cell = cell_begin; cell < cell_end;) {
    // A block of cells in one (b, z) plane: their outputs are adjacent in every channel plane.
    const int64_t yx = cell % index.plane;
    const int64_t count = min3(kForwardBlock, cell_end - cell, index.plane - yx);
    for (int64_t i = 0; i < count; ++i) {
      int64_t c0 = 0;
      for (; c0 + kWide <= channels; c0 += kWide) {
        detail::pool_cell<T, T, kWide>(index, depth, feat, channels, cell + i, c0,
                                       stage + c0 * kForwardBlock + i, kForwardBlock);
      }
      if constexpr (Multiple > 0) {
        detail::pool_cell<T, T, Multiple>(index, depth, feat, channels, cell + i, c0,
                                          stage + c0 * kForwardBlock + i, kForwardBlock);
        c0 += Multiple;
      }
      if (c0 < channels) {
        forward_rest<T, kVectorWidth<T> / 2>(index, depth, feat, channels, cell + i, c0,
                                             channels - c0, stage + i);
      }
    }
    T* target = out + detail::output_offset(index, channels, cell, 0);
    for (int64_t c = 0; c < channels; ++c) {
      const T* source = stage + c * kForwardBlock;
      T* plane_run = target + c * index.plane;
      for (int64_t i = 0; i < count; ++i) plane_run[i] = source[i];
    }
    cell += count;
  }
}

template <typename T, int... M>
RSD_INLINE void forward_cells_dispatch(std::integer_sequence<int, M...>, int64_t multiple,
                                       const PoolIndexView& index, const T* depth, const T* feat,
                                       int64_t channels, int64_t cell_begin, int64_t cell_end,
                                       T* stage, T* out) {
  (void)((multiple == M ? (forward_cells_with<T, M * kVectorWidth<T>>(
                               index, depth, feat, channels, cell_begin, cell_end, stage, out),
                           true)
                        : false) ||
         ...);
}

template <typename T>
void forward_cells(const PoolIndexView& index, const T* depth, const T* feat, int64_t channels,
                   int64_t cell_begin, int64_t cell_end, T* stage, T* out) {
  const int64_t multiple = (channels % kForwardWide<T>) / kVectorWidth<T>;
  forward_cells_dispatch<T>(std::make_integer_sequence<int, 8>{}, multiple, index, depth, feat,
                            channels, cell_begin, cell_end, stage, out);
}

// ----- backward ------------------------------------------------------------------------------

// Hands a pixel's per-point partial dot products to depth_grad: the first tile of the first pass
// assigns (zero for points outside the grid), later tiles add in channel order.
template <typename T>
struct DepthGradSink {
  T* depth_grad;
  bool assign;
  RSD_INLINE void outside(int64_t point) const {
    if (assign) depth_grad[point] = T(0);
  }
  RSD_INLINE void operator()(int64_t point, T dot) const {
    depth_grad[point] = assign ? dot : depth_grad[point] + dot;
  }
};

// Channels [c0, c0 + remaining) of one pixel with tiles of W, W/2, ..., 1 (remaining < 2W).
template <typename T, int W>
RSD_INLINE void backward_rest(const PoolIndexView& index, const T* depth, const T* feat,
                              int64_t channels, const T* grad_col, int64_t grad_stride,
                              int64_t pixel, int64_t c0, int64_t remaining, bool assign,
                              T* depth_grad, T* feat_grad) {
  if (remaining >= W) {
    DepthGradSink<T> sink{depth_grad, assign};
    detail::unpool_pixel<T, T, W>(index, depth, feat, channels, grad_col, grad_stride, pixel, c0,
                                  true, feat_grad, sink);
    grad_col += W;
    c0 += W;
    remaining -= W;
    assign = false;
  }
  if constexpr (W > 1) {
    if (remaining > 0) {
      backward_rest<T, W / 2>(index, depth, feat, channels, grad_col, grad_stride, pixel, c0,
                              remaining, assign, depth_grad, feat_grad);
    }
  }
}

// Channels [c0, c0 + width) of pixels [pixel_begin, pixel_end): `Multiple` (width rounded down to
// whole vectors) in one walk, then the rest.
template <typename T, int Multiple>
void backward_pixels_with(const PoolIndexView& index, const T* depth, const T* feat,
                          int64_t channels, const T* grad_col, int64_t grad_stride, int64_t c0,
                          int64_t width, bool first_pass, int64_t pixel_begin, int64_t pixel_end,
                          T* depth_grad, T* feat_grad) {
  for (int64_t pixel = pixel_begin; pixel < pixel_end; ++pixel) {
    if constexpr (Multiple > 0) {
      DepthGradSink<T> sink{depth_grad, first_pass};
      detail::unpool_pixel<T, T, Multiple>(index, depth, feat, channels, grad_col, grad_stride,
                                           pixel, c0, true, feat_grad, sink);
    }
    if (width > Multiple) {
      backward_rest<T, kVectorWidth<T> / 2>(index, depth, feat, channels, grad_col + Multiple,
                                            grad_stride, pixel, c0 + Multiple, width - Multiple,
                                            first_pass && Multiple == 0, depth_grad, feat_grad);
    }
  }
}

template <typename T, int... M>
RSD_INLINE void backward_pixels_dispatch(std::integer_sequence<int, M...>, int64_t multiple,
                                         const PoolIndexView& index, const T* depth,
                                         const T* feat, int64_t channels, const T* grad_col,
                                         int64_t grad_stride, int64_t c0, int64_t width,
                                         bool first_pass, int64_t pixel_begin, int64_t pixel_end,
                                         T* depth_grad, T* feat_grad) {
  (void)((multiple == M ? (backward_pixels_with<T, M * kVectorWidth<T>>(
                               index, depth, feat, channels, grad_col, grad_stride, c0, width,
                               first_pass, pixel_begin, pixel_end, depth_grad, feat_grad),
                           true)
                        : false) ||
         ...);
}

template <typename T>
void backward_pixels(const PoolIndexView& index, const T* depth, const T* feat, int64_t channels,
                     const T* grad_col, int64_t grad_stride, int64_t c0, int64_t width,
                     bool first_pass, int64_t pixel_begin, int64_t pixel_end, T* depth_grad,
                     T* feat_grad) {
  const int64_t multiple = width / kVectorWidth<T>;  // <= 4: width <= kBackwardWide
  backward_pixels_dispatch<T>(std::make_integer_sequence<int, 5>{}, multiple, index, depth, feat,
                              channels, grad_col, grad_stride, c0, width, first_pass, pixel_begin,
                              pixel_end, depth_grad, feat_grad);
}

// Blocks of cells of one (b, z) plane, so that each channel plane is read sequentially.
template <typename T>
void gather_grad_tile(const T* grad, int64_t channels, int64_t plane, int64_t c0, int64_t width,
                      int64_t cell_begin, int64_t cell_end, T* tile) {
  constexpr int64_t kBlock = 64;
  for (int64_t cell = cell_begin; cell < cell_end;) {
    const int64_t bz = cell / plane;
    const int64_t yx = cell - bz * plane;
    const int64_t count = min3(kBlock, cell_end - cell, plane - yx);
    for (int64_t v = 0; v < width; ++v) {
      const T* source = grad + (bz * channels + c0 + v) * plane + yx;
      T* target = tile + cell * width + v;
      for (int64_t i = 0; i < count; ++i) target[i * width] = source[i];
    }
    cell += count;
  }
}

template <typename T>
KernelTable<T> make_table() {
  return KernelTable<T>{RSD_CPU_STRINGIFY(RSD_CPU_VARIANT), kVectorWidth<T>, kBackwardWide<T>,
                        &forward_cells<T>, &gather_grad_tile<T>, &backward_pixels<T>};
}

}  // namespace
}  // namespace RSD_CPU_VARIANT

#define RSD_CPU_ENTRY_(variant) kernels_##variant
#define RSD_CPU_ENTRY(variant) RSD_CPU_ENTRY_(variant)

const KernelSet* RSD_CPU_ENTRY(RSD_CPU_VARIANT)() {
  static const KernelSet set{RSD_CPU_VARIANT::make_table<float>(),
                             RSD_CPU_VARIANT::make_table<double>()};
  return &set;
}

}  // namespace rsd::ops::cpu
