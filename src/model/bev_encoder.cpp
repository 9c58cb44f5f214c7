#include "rsd/model/bev_encoder.h"

#include <torch/nn.h>
#include <torch/nn/functional/upsampling.h>

#include "rsd/model/blocks.h"
#include "rsd/util/error.h"

namespace rsd::model {

BevEncoderImpl::BevEncoderImpl(BevEncoderOptions options) : options_(std::move(options)) {
  const auto& blocks = options_.blocks();
  RSD_CHECK(!blocks.empty(), "BEV encoder needs at least one scale (blocks)");
  RSD_CHECK(options_.in_channels() > 0 && options_.channels() > 0 && options_.out_channels() > 0,
            "BEV encoder channels must be positive");
  RSD_CHECK_GE(blocks[0], 0, "BEV encoder blocks[0]");
  for (size_t i = 1; i < blocks.size(); ++i) {
    RSD_CHECK_GE(blocks[i], 1, "BEV encoder blocks[", i, "] (a coarser scale needs a block)");
  }
  stem_ = register_module("stem", conv_bn_relu(options_.in_channels(), options_.channels(), 3));
  scales_ = register_module("scales", torch::nn::ModuleList());
  fuse_ = register_module("fuse", torch::nn::ModuleList());
  int64_t channels = options_.channels();
  std::vector<int64_t> scale_channels;
  for (size_t i = 0; i < blocks.size(); ++i) {
    const int64_t planes = options_.channels() << i;
    if (blocks[i] == 0) {
      scales_->push_back(torch::nn::Sequential());
    } else {
      scales_->push_back(
          make_residual_stage(channels, planes, blocks[i], i == 0 ? 1 : 2, /*bottleneck=*/false));
    }
    scale_channels.push_back(channels);
  }
  for (size_t i = 0; i + 1 < blocks.size(); ++i) {
    fuse_->push_back(
        conv_bn_relu(scale_channels[i] + scale_channels[i + 1], scale_channels[i], 3));
  }
  out_ = register_module("out", conv_bn_relu(scale_channels[0], options_.out_channels(), 3));
}

torch::Tensor BevEncoderImpl::forward(const torch::Tensor& bev) {
  RSD_CHECK(bev.dim() == 4 && bev.size(1) == options_.in_channels(),
            "BEV encoder input must be (B, ", options_.in_channels(), ", Y, X), got ", bev.sizes());
  namespace F = torch::nn::functional;
  std::vector<torch::Tensor> features;
  torch::Tensor x = stem_->forward(bev);
  for (const auto& scale : *scales_) {
    auto* stage = scale->as<torch::nn::Sequential>();
    if (!stage->is_empty()) x = stage->forward(x);
    features.push_back(x);
  }
  torch::Tensor fused = features.back();
  for (size_t i = features.size() - 1; i-- > 0;) {
    const torch::Tensor up = F::interpolate(
        fused, F::InterpolateFuncOptions()
                   .size(std::vector<int64_t>{features[i].size(2), features[i].size(3)})
                   .mode(torch::kBilinear)
                   .align_corners(false));
    fused = fuse_[i]->as<torch::nn::Sequential>()->forward(torch::cat({up, features[i]}, 1));
  }
  return out_->forward(fused);
}

}  // namespace rsd::model
