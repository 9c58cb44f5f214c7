// Pieces shared by the built-in RiskHead variants (private to the library).
#pragma once

#include <torch/nn/modules/container/sequential.h>
#include <torch/nn/modules/conv.h>
#include <torch/types.h>

#include <cstdint>

namespace rsd::model {

/// map (B, C, Y', X') resized bilinearly to (rows, cols); returned unchanged when it has that size.
torch::Tensor resize_to(const torch::Tensor& map, int64_t rows, int64_t cols);

/// 1x1 convolution to one logit whose bias starts at init_bias (the sparse-risk prior).
torch::nn::Conv2d logit_layer(int64_t in_channels, double init_bias);

/// map (B, C, Y, X) average-pooled by `factor` (ceil mode: a window cut by the border averages the
/// cells it has); the map itself for factor 1.
torch::Tensor average_pool(const torch::Tensor& map, int64_t factor);

/// The end of the pooled variants: the coarse context (B, C', Y', X') upsampled to the full
/// projection (B, C, Y, X), concatenated with it, fused and turned into the logit (B, 1, Y, X).
torch::Tensor fuse_with_context(torch::nn::Sequential& fuse, torch::nn::Conv2d& logit,
                                const torch::Tensor& full, const torch::Tensor& context);

}  // namespace rsd::model
