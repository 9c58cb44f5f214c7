// The CUDA launchers of voxel pooling: raw device pointers, the shared index view and a stream.
// No libtorch and no CUDA header here, so that both nvcc (voxel_pool_cuda.cu) and the host
// compiler (voxel_pool_cuda_dispatch.cpp, built when libtorch has CUDA) read the same
// declarations. Each returns the cudaError_t of its launch (0: success).
#pragma once

#include <cstdint>

#include "ops/voxel_pool_cell.h"

struct CUstream_st;  // cudaStream_t is CUstream_st*

namespace rsd::ops::cuda {

/// The 16-bit float formats the kernels take besides float and double: storage only, every sum
/// runs in float. Their data travel as untyped pointers because this header can name neither
/// __half / __nv_bfloat16 (CUDA headers) nor at::Half / at::BFloat16 (libtorch); the bits are
/// the same (IEEE binary16, and the upper half of a binary32).
enum class Float16 { half, bfloat16 };

/// out (B, Z*C, Y, X): one thread per (cell, channel group), every element written.
int pool_forward(const detail::PoolIndexView& index, const float* depth, const float* feat,
                 int64_t channels, float* out, CUstream_st* stream);
int pool_forward(const detail::PoolIndexView& index, const double* depth, const double* feat,
                 int64_t channels, double* out, CUstream_st* stream);
int pool_forward(const detail::PoolIndexView& index, Float16 format, const void* depth,
                 const void* feat, int64_t channels, void* out, CUstream_st* stream);

/// depth_grad (P) and feat_grad (B*N*fH*fW, C) from the channel-last output gradient
/// grad_rows[cell * C + c]: one warp per pixel, depth_grad reduced across its lanes in a fixed
/// butterfly order (deterministic, no atomics).
int pool_backward(const detail::PoolIndexView& index, const float* depth, const float* feat,
                  int64_t channels, const float* grad_rows, float* depth_grad, float* feat_grad,
                  CUstream_st* stream);
int pool_backward(const detail::PoolIndexView& index, const double* depth, const double* feat,
                  int64_t channels, const double* grad_rows, double* depth_grad,
                  double* feat_grad, CUstream_st* stream);
/// 16-bit depth, feat, grad_rows and feat_grad, but depth_grad in float: the partial dot products
/// of several 32*Vec-channel passes add up there; the caller rounds it to 16 bits once.
int pool_backward(const detail::PoolIndexView& index, Float16 format, const void* depth,
                  const void* feat, int64_t channels, const void* grad_rows, float* depth_grad,
                  void* feat_grad, CUstream_st* stream);

/// cudaGetErrorString of a code returned above.
const char* error_text(int code);

}  // namespace rsd::ops::cuda
