// Voxel pooling for CUDA tensors: device guard, current stream, channel-last gradient, then the
// launchers of voxel_pool_cuda.h. Built only when libtorch has CUDA (RSD_TORCH_HAS_CUDA).
#pragma once

#include <torch/types.h>

#include "ops/voxel_pool_cell.h"

namespace rsd::ops::cuda {

/// depth, feat contiguous on one GPU, float, double, half or bfloat16 (summed in float);
/// out (B, Z*C, Y, X) allocated by the caller.
void forward(const detail::PoolIndexView& index, const torch::Tensor& depth,
             const torch::Tensor& feat, int64_t channels, torch::Tensor& out);

/// grad_rows: the output gradient as contiguous channel-last rows (cells, C).
void backward(const detail::PoolIndexView& index, const torch::Tensor& depth,
              const torch::Tensor& feat, int64_t channels, const torch::Tensor& grad_rows,
              torch::Tensor& depth_grad, torch::Tensor& feat_grad);

}  // namespace rsd::ops::cuda
