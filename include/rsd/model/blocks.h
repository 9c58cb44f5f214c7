// Convolutional building blocks shared by the image and BEV encoders.
//
// ResidualBlock keeps torchvision's submodule names (conv1, bn1, conv2, bn2, conv3, bn3,
// downsample.0, downsample.1) so that converted torchvision ResNet weights load by name
// (docs/model.md).
#pragma once

#include <torch/arg.h>
#include <torch/nn/module.h>
#include <torch/nn/modules/batchnorm.h>
#include <torch/nn/modules/container/sequential.h>
#include <torch/nn/modules/activation.h>
#include <torch/nn/modules/conv.h>
#include <torch/nn/modules/normalization.h>
#include <torch/nn/pimpl.h>
#include <torch/types.h>

#include <cstdint>

namespace rsd::model {

struct ResidualBlockOptions {
  ResidualBlockOptions(int64_t in_channels, int64_t planes)
      : in_channels_(in_channels), planes_(planes) {}

  int64_t expansion() const { return bottleneck_ ? 4 : 1; }
  int64_t out_channels() const { return planes_ * expansion(); }

  TORCH_ARG(int64_t, in_channels);
  /// Inner width; the block outputs planes * expansion() channels.
  TORCH_ARG(int64_t, planes);
  /// Spatial stride of the block (1 or 2), applied by the 3x3 convolution (ResNet v1.5).
  TORCH_ARG(int64_t, stride) = 1;
  /// false: BasicBlock (two 3x3 convs, expansion 1); true: Bottleneck (1x1, 3x3, 1x1; expansion 4).
  TORCH_ARG(bool, bottleneck) = false;
};

/// A ResNet residual block with batch norm; a 1x1 projection shortcut when the stride or the
/// channel count changes.
class ResidualBlockImpl : public torch::nn::Module {
 public:
  explicit ResidualBlockImpl(ResidualBlockOptions options);

  /// x (N, in_channels, H, W) -> (N, out_channels, ceil(H / stride), ceil(W / stride)).
  torch::Tensor forward(const torch::Tensor& x);

  const ResidualBlockOptions& options() const { return options_; }

 private:
  ResidualBlockOptions options_;
  torch::nn::Conv2d conv1_{nullptr}, conv2_{nullptr}, conv3_{nullptr};
  torch::nn::BatchNorm2d bn1_{nullptr}, bn2_{nullptr}, bn3_{nullptr};
  torch::nn::Sequential downsample_{nullptr};
};
TORCH_MODULE(ResidualBlock);

/// A post-norm transformer layer (DETR): attention, then a feed-forward network, each added to its
/// input and layer-normalised. Tensors are sequence-first, (L, B, channels), as
/// torch::nn::MultiheadAttention in libtorch 1.13 expects.
class AttentionBlockImpl : public torch::nn::Module {
 public:
  AttentionBlockImpl(int64_t channels, int64_t heads, int64_t feed_forward_multiplier = 2);

  /// residual (Lq, B, C); query (Lq, B, C) (the residual plus a positional encoding, or the
  /// residual itself); key (Lk, B, C); value (Lk, B, C) -> (Lq, B, C).
  torch::Tensor forward(const torch::Tensor& residual, const torch::Tensor& query,
                        const torch::Tensor& key, const torch::Tensor& value);

 private:
  torch::nn::MultiheadAttention attention_{nullptr};
  torch::nn::LayerNorm attention_norm_{nullptr}, feed_forward_norm_{nullptr};
  torch::nn::Sequential feed_forward_{nullptr};
};
TORCH_MODULE(AttentionBlock);

/// `blocks` residual blocks, the first with `stride`, as one Sequential (children "0", "1", ...).
/// `in_channels` is updated to the stage's output channels.
torch::nn::Sequential make_residual_stage(int64_t& in_channels, int64_t planes, int64_t blocks,
                                          int64_t stride, bool bottleneck);

/// Conv(kernel, stride, padding kernel/2, no bias) -> BatchNorm -> ReLU, as a Sequential.
torch::nn::Sequential conv_bn_relu(int64_t in_channels, int64_t out_channels, int64_t kernel = 3,
                                   int64_t stride = 1);

/// Appends the three layers of conv_bn_relu to `layers` (a Sequential cannot hold a Sequential).
void append_conv_bn_relu(torch::nn::Sequential& layers, int64_t in_channels, int64_t out_channels,
                         int64_t kernel = 3, int64_t stride = 1);

/// He (fan-out, ReLU) initialisation of every convolution in `module`, BatchNorm weight 1 and bias
/// 0 (torchvision's ResNet initialisation).
void init_conv_bn(torch::nn::Module& module);

}  // namespace rsd::model
