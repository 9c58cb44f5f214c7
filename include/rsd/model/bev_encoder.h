// BevEncoder: residual blocks over the pooled BEV grid at several scales, fused back (top-down)
// to the grid resolution.
#pragma once

#include <torch/arg.h>
#include <torch/nn/module.h>
#include <torch/nn/modules/container/modulelist.h>
#include <torch/nn/modules/container/sequential.h>
#include <torch/nn/pimpl.h>
#include <torch/types.h>

#include <cstdint>
#include <vector>

namespace rsd::model {

struct BevEncoderOptions {
  /// Input channels: LiftSplat's context_channels * nz.
  explicit BevEncoderOptions(int64_t in_channels) : in_channels_(in_channels) {}
  TORCH_ARG(int64_t, in_channels);
  /// Channels at the grid resolution; scale i has channels * 2^i.
  TORCH_ARG(int64_t, channels) = 128;
  /// Residual blocks per scale; scale i works at stride 2^i of the grid (its first block
  /// downsamples). blocks[0] may be 0 (no full-resolution blocks); the others must be >= 1.
  TORCH_ARG(std::vector<int64_t>, blocks) = std::vector<int64_t>{2, 2};
  /// Channels of the output the heads see.
  TORCH_ARG(int64_t, out_channels) = 128;
};

class BevEncoderImpl : public torch::nn::Module {
 public:
  explicit BevEncoderImpl(BevEncoderOptions options);

  /// bev (B, in_channels, Y, X) pooled features on the grid (row iy <-> y, column ix <-> x) ->
  /// (B, out_channels, Y, X) at the same resolution. Y and X need not be powers of two.
  torch::Tensor forward(const torch::Tensor& bev);

  const BevEncoderOptions& options() const { return options_; }

 private:
  BevEncoderOptions options_;
  torch::nn::Sequential stem_{nullptr};
  torch::nn::ModuleList scales_{nullptr};  // one residual stage per scale (empty: identity)
  torch::nn::ModuleList fuse_{nullptr};    // fuse[i]: upsampled scale i+1 + scale i -> scale i
  torch::nn::Sequential out_{nullptr};
};
TORCH_MODULE(BevEncoder);

}  // namespace rsd::model
