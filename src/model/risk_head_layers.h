// Pieces shared by the built-in RiskHead variants (private to the library).
#pragma once

#include <torch/nn/modules/conv.h>
#include <torch/types.h>

#include <cstdint>

namespace rsd::model {

/// map (B, C, Y', X') resized bilinearly to (rows, cols); returned unchanged when it has that size.
torch::Tensor resize_to(const torch::Tensor& map, int64_t rows, int64_t cols);

/// 1x1 convolution to one logit whose bias starts at init_bias (the sparse-risk prior).
torch::nn::Conv2d logit_layer(int64_t in_channels, double init_bias);

}  // namespace rsd::model
