// ImageEncoder: a ResNet-18/34/50 backbone and a two-level FPN that fuses strides 16 and 32 into
// one stride-16 feature map, the input of the LSS lift.
#pragma once

#include <torch/arg.h>
#include <torch/nn/module.h>
#include <torch/nn/modules/batchnorm.h>
#include <torch/nn/modules/container/sequential.h>
#include <torch/nn/modules/conv.h>
#include <torch/nn/pimpl.h>
#include <torch/types.h>

#include <cstdint>
#include <string>
#include <vector>

#include "rsd/model/weights.h"

namespace rsd::model {

struct ImageEncoderOptions {
  /// ResNet depth: 18 or 34 (BasicBlock) or 50 (Bottleneck).
  TORCH_ARG(int64_t, depth) = 18;
  /// Stem channels (64 for torchvision's ResNets); stage i has width * 2^i planes.
  TORCH_ARG(int64_t, width) = 64;
  TORCH_ARG(int64_t, in_channels) = 3;
  /// Channels of the stride-16 output.
  TORCH_ARG(int64_t, out_channels) = 128;
  /// 0: train everything; 1: freeze the stem (conv1, bn1); 1 + k: the stem and residual stages
  /// layer1..layerk (at most 5). Frozen parameters get requires_grad false and their batch norms
  /// stay in eval mode (running statistics frozen) even in train().
  TORCH_ARG(int64_t, frozen_stages) = 0;
  /// Weights file to load at construction (read_named_tensors formats); empty: random
  /// initialisation. Every backbone tensor must be in it; the FPN's may be absent.
  TORCH_ARG(std::string, pretrained) = "";
};

class ImageEncoderImpl : public torch::nn::Module {
 public:
  explicit ImageEncoderImpl(ImageEncoderOptions options = {});

  /// images (N, in_channels, H, W), normalised as the (pretrained) weights expect (torchvision:
  /// RGB in [0, 1], then ImageNet mean/std) -> features (N, out_channels, ceil(H/16), ceil(W/16)).
  /// N is batch * cameras.
  torch::Tensor forward(const torch::Tensor& images);

  /// Loads backbone weights by name (torchvision's names: conv1.weight, layer1.0.bn1.running_mean,
  /// ...). Throws rsd::CheckpointError when a backbone tensor is missing or has another shape;
  /// names the backbone lacks (fc.*) are ignored.
  WeightsLoadReport load_pretrained(const std::string& path);

  /// Sets the training mode, keeping frozen stages' batch norms in eval mode.
  void train(bool on = true) override;

  /// The output stride (16).
  static constexpr int64_t stride() { return 16; }

  const ImageEncoderOptions& options() const { return options_; }

 private:
  void freeze_stages();
  // The stem and residual stages that frozen_stages freezes, in order.
  std::vector<torch::nn::Module*> frozen_modules();

  ImageEncoderOptions options_;
  torch::nn::Conv2d conv1_{nullptr};
  torch::nn::BatchNorm2d bn1_{nullptr};
  torch::nn::Sequential layer1_{nullptr}, layer2_{nullptr}, layer3_{nullptr}, layer4_{nullptr};
  torch::nn::Conv2d lateral16_{nullptr}, lateral32_{nullptr};
  torch::nn::Sequential fuse_{nullptr};
};
TORCH_MODULE(ImageEncoder);

}  // namespace rsd::model
