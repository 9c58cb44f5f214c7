// The CUDA kernels of voxel pooling: thread mappings around the bodies of voxel_pool_cell.h, which
// the CPU loops share. No libtorch here (Debian's libtorch has no CUDA to compile against); the
// launchers take raw device pointers and a stream (voxel_pool_cuda.h).
//
// Forward: one thread per (cell, group of Vec channels); consecutive threads take consecutive
// channel groups of a cell, so feature rows are read coalesced. Every output element has one
// owner: no atomics, no memset.
// Backward: one warp per pixel. Lane l owns channels [l*Vec, l*Vec + Vec) (and further groups of
// 32*Vec when C is larger); the partial dot products of depth_grad are summed across the warp by
// a fixed xor butterfly, so the result does not depend on scheduling.
// Half and bfloat16 are storage formats: the bodies run with Acc = float, so every sum, the warp
// reduction included, is in fp32 and each result is rounded once. Channels are read one element
// at a time (Vec is channels per thread, not a vector load), so 2-byte types need no alignment
// beyond their own.
// Not done here (documented in docs/ops.md): splitting very long intervals into several work
// items, sharing a point's index loads across the lanes of a warp, packed half2 arithmetic.
#include <cuda_bf16.h>
#include <cuda_fp16.h>
#include <cuda_runtime.h>

#include "ops/cuda/voxel_pool_cuda.h"
#include "ops/voxel_pool_cell.h"

namespace rsd::ops::detail {

// Explicit conversions: __half and __nv_bfloat16 have several conversion operators (or none,
// under __CUDA_NO_HALF_CONVERSIONS__ / __CUDA_NO_BFLOAT16_CONVERSIONS__).
template <>
struct AccumulatorCast<__half, float> {
  static __host__ __device__ __forceinline__ float widen(__half value) { return __half2float(value); }
  static __host__ __device__ __forceinline__ __half narrow(float value) {
    return __float2half_rn(value);
  }
};

template <>
struct AccumulatorCast<__nv_bfloat16, float> {
  static __host__ __device__ __forceinline__ float widen(__nv_bfloat16 value) {
    return __bfloat162float(value);
  }
  static __host__ __device__ __forceinline__ __nv_bfloat16 narrow(float value) {
    return __float2bfloat16_rn(value);
  }
};

}  // namespace rsd::ops::detail

namespace rsd::ops::cuda {
namespace {

constexpr int kThreads = 256;
constexpr int kWarp = 32;

int blocks_for(int64_t threads) {
  const int64_t blocks = (threads + kThreads - 1) / kThreads;
  // Grid-stride loops cover the rest; 65535 * 256 threads keep any GPU busy.
  return static_cast<int>(blocks < 65535 ? (blocks > 0 ? blocks : 1) : 65535);
}

template <typename T, typename Acc, int Vec>
__global__ void voxel_pool_forward_kernel(detail::PoolIndexView index, const T* depth,
                                          const T* feat, int64_t channels, T* out) {
  const int64_t groups = channels / Vec;
  const int64_t total = index.cells * groups;
  for (int64_t i = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; i < total;
       i += static_cast<int64_t>(gridDim.x) * blockDim.x) {
    const int64_t cell = i / groups;
    const int64_t c0 = (i - cell * groups) * Vec;
    detail::pool_cell<T, Acc, Vec>(index, depth, feat, channels, cell, c0,
                                 out + detail::output_offset(index, channels, cell, c0),
                                 index.plane);
  }
}

// Sums a lane's partial dot product over the warp (every lane of the warp works on the same
// pixel, so all of them arrive here together) and lets lane 0 write or add it. Everything is in
// the accumulator type, depth_grad included: with C > 32*Vec the passes add into it, and a 16-bit
// depth_grad would round every pass (the caller rounds it once at the end).
template <typename Acc>
struct WarpDepthGradSink {
  Acc* depth_grad;
  bool assign;
  unsigned lane;
  __device__ void outside(int64_t point) const {
    if (assign && lane == 0) depth_grad[point] = Acc(0);
  }
  __device__ void operator()(int64_t point, Acc dot) const {
#pragma unroll
    for (int offset = kWarp / 2; offset > 0; offset /= 2) {
      dot += __shfl_xor_sync(0xffffffffu, dot, offset);
    }
    if (lane == 0) depth_grad[point] = assign ? dot : depth_grad[point] + dot;
  }
};

template <typename T, typename Acc, int Vec>
__global__ void voxel_pool_backward_kernel(detail::PoolIndexView index, const T* depth,
                                           const T* feat, int64_t channels, const T* grad_rows,
                                           Acc* depth_grad, T* feat_grad) {
  const int64_t thread = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x;
  const unsigned lane = threadIdx.x % kWarp;
  const int64_t warps = static_cast<int64_t>(gridDim.x) * blockDim.x / kWarp;
  const int64_t passes = (channels + kWarp * Vec - 1) / (kWarp * Vec);
  // The loop bound is the same for the whole warp, so the warp stays converged for the shuffles.
  for (int64_t pixel = thread / kWarp; pixel < index.total_pixels; pixel += warps) {
    for (int64_t pass = 0; pass < passes; ++pass) {
      const int64_t c0 = (pass * kWarp + lane) * Vec;
      const bool active = c0 < channels;
      const int64_t channel = active ? c0 : 0;
      WarpDepthGradSink<Acc> sink{depth_grad, pass == 0, lane};
      detail::unpool_pixel<T, Acc, Vec>(index, depth, feat, channels, grad_rows + channel, channels,
                                      pixel, channel, active, feat_grad, sink);
    }
  }
}

// Acc = T for float and double; float for the 16-bit types.
template <typename Acc, typename T>
int launch_forward(const detail::PoolIndexView& index, const T* depth, const T* feat,
                   int64_t channels, T* out, cudaStream_t stream) {
  if (index.cells == 0 || channels == 0) return cudaSuccess;
  if (channels % 4 == 0) {
    voxel_pool_forward_kernel<T, Acc, 4><<<blocks_for(index.cells * channels / 4), kThreads, 0, stream>>>(
        index, depth, feat, channels, out);
  } else {
    voxel_pool_forward_kernel<T, Acc, 1><<<blocks_for(index.cells * channels), kThreads, 0, stream>>>(
        index, depth, feat, channels, out);
  }
  return cudaGetLastError();
}

template <typename Acc, typename T>
int launch_backward(const detail::PoolIndexView& index, const T* depth, const T* feat,
                    int64_t channels, const T* grad_rows, Acc* depth_grad, T* feat_grad,
                    cudaStream_t stream) {
  if (index.total_pixels == 0 || channels == 0) return cudaSuccess;
  const int blocks = blocks_for(index.total_pixels * kWarp);
  if (channels % 4 == 0) {
    voxel_pool_backward_kernel<T, Acc, 4><<<blocks, kThreads, 0, stream>>>(
        index, depth, feat, channels, grad_rows, depth_grad, feat_grad);
  } else {
    voxel_pool_backward_kernel<T, Acc, 1><<<blocks, kThreads, 0, stream>>>(
        index, depth, feat, channels, grad_rows, depth_grad, feat_grad);
  }
  return cudaGetLastError();
}

// The untyped 16-bit pointers of the header, as the CUDA type `format` names.
template <typename T>
int forward_16_bit(const detail::PoolIndexView& index, const void* depth, const void* feat,
                   int64_t channels, void* out, cudaStream_t stream) {
  return launch_forward<float>(index, static_cast<const T*>(depth), static_cast<const T*>(feat),
                               channels, static_cast<T*>(out), stream);
}

template <typename T>
int backward_16_bit(const detail::PoolIndexView& index, const void* depth, const void* feat,
                    int64_t channels, const void* grad_rows, float* depth_grad, void* feat_grad,
                    cudaStream_t stream) {
  return launch_backward<float>(index, static_cast<const T*>(depth), static_cast<const T*>(feat),
                                channels, static_cast<const T*>(grad_rows), depth_grad,
                                static_cast<T*>(feat_grad), stream);
}

}  // namespace

int pool_forward(const detail::PoolIndexView& index, const float* depth, const float* feat,
                 int64_t channels, float* out, CUstream_st* stream) {
  return launch_forward<float>(index, depth, feat, channels, out, stream);
}
int pool_forward(const detail::PoolIndexView& index, const double* depth, const double* feat,
                 int64_t channels, double* out, CUstream_st* stream) {
  return launch_forward<double>(index, depth, feat, channels, out, stream);
}
int pool_forward(const detail::PoolIndexView& index, Float16 format, const void* depth,
                 const void* feat, int64_t channels, void* out, CUstream_st* stream) {
  return format == Float16::bfloat16
             ? forward_16_bit<__nv_bfloat16>(index, depth, feat, channels, out, stream)
             : forward_16_bit<__half>(index, depth, feat, channels, out, stream);
}
int pool_backward(const detail::PoolIndexView& index, const float* depth, const float* feat,
                  int64_t channels, const float* grad_rows, float* depth_grad, float* feat_grad,
                  CUstream_st* stream) {
  return launch_backward<float>(index, depth, feat, channels, grad_rows, depth_grad, feat_grad,
                                stream);
}
int pool_backward(const detail::PoolIndexView& index, const double* depth, const double* feat,
                  int64_t channels, const double* grad_rows, double* depth_grad,
                  double* feat_grad, CUstream_st* stream) {
  return launch_backward<double>(index, depth, feat, channels, grad_rows, depth_grad, feat_grad,
                                 stream);
}
int pool_backward(const detail::PoolIndexView& index, Float16 format, const void* depth,
                  const void* feat, int64_t channels, const void* grad_rows, float* depth_grad,
                  void* feat_grad, CUstream_st* stream) {
  return format == Float16::bfloat16
             ? backward_16_bit<__nv_bfloat16>(index, depth, feat, channels, grad_rows, depth_grad,
                                              feat_grad, stream)
             : backward_16_bit<__half>(index, depth, feat, channels, grad_rows, depth_grad,
                                       feat_grad, stream);
}

const char* error_text(int code) { return cudaGetErrorString(static_cast<cudaError_t>(code)); }

}  // namespace rsd::ops::cuda
