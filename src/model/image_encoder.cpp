#include "rsd/model/image_encoder.h"

#include <torch/nn.h>
#include <torch/nn/functional/pooling.h>
#include <torch/nn/functional/upsampling.h>

#include <vector>

#include "rsd/model/blocks.h"
#include "rsd/util/error.h"
#include "rsd/util/logging.h"

namespace rsd::model {
namespace {

struct ResNetLayout {
  std::vector<int64_t> blocks;
  bool bottleneck;
};

ResNetLayout layout_of(int64_t depth) {
  switch (depth) {
    case 18: return {{2, 2, 2, 2}, false};
    case 34: return {{3, 4, 6, 3}, false};
    case 50: return {{3, 4, 6, 3}, true};
    default:
      throw ConfigError("image encoder depth " + std::to_string(depth) +
                        " is not supported (18, 34 or 50)");
  }
}

bool is_fpn_tensor(const std::string& name) {
  return name.rfind("lateral", 0) == 0 || name.rfind("fuse.", 0) == 0;
}

}  // namespace

ImageEncoderImpl::ImageEncoderImpl(ImageEncoderOptions options) : options_(std::move(options)) {
  const ResNetLayout layout = layout_of(options_.depth());
  RSD_CHECK(options_.width() > 0 && options_.out_channels() > 0 && options_.in_channels() > 0,
            "image encoder channels must be positive");
  RSD_CHECK(options_.frozen_stages() >= 0 && options_.frozen_stages() <= 5,
            "image encoder frozen_stages ", options_.frozen_stages(), " (0..5)");
  const int64_t width = options_.width();
  conv1_ = register_module(
      "conv1", torch::nn::Conv2d(torch::nn::Conv2dOptions(options_.in_channels(), width, 7)
                                     .stride(2)
                                     .padding(3)
                                     .bias(false)));
  bn1_ = register_module("bn1", torch::nn::BatchNorm2d(width));
  int64_t channels = width;
  layer1_ = register_module(
      "layer1", make_residual_stage(channels, width, layout.blocks[0], 1, layout.bottleneck));
  layer2_ = register_module(
      "layer2", make_residual_stage(channels, width * 2, layout.blocks[1], 2, layout.bottleneck));
  layer3_ = register_module(
      "layer3", make_residual_stage(channels, width * 4, layout.blocks[2], 2, layout.bottleneck));
  const int64_t channels16 = channels;
  layer4_ = register_module(
      "layer4", make_residual_stage(channels, width * 8, layout.blocks[3], 2, layout.bottleneck));
  const int64_t out = options_.out_channels();
  lateral16_ = register_module(
      "lateral16", torch::nn::Conv2d(torch::nn::Conv2dOptions(channels16, out, 1)));
  lateral32_ = register_module(
      "lateral32", torch::nn::Conv2d(torch::nn::Conv2dOptions(channels, out, 1)));
  fuse_ = register_module("fuse", conv_bn_relu(out, out, 3));
  init_conv_bn(*this);

  if (!options_.pretrained().empty()) load_pretrained(options_.pretrained());
  freeze_stages();
}

torch::Tensor ImageEncoderImpl::forward(const torch::Tensor& images) {
  RSD_CHECK(images.dim() == 4 && images.size(1) == options_.in_channels(),
            "image encoder input must be (N, ", options_.in_channels(), ", H, W), got ",
            images.sizes());
  namespace F = torch::nn::functional;
  torch::Tensor x = torch::relu(bn1_(conv1_(images)));
  x = F::max_pool2d(x, F::MaxPool2dFuncOptions(3).stride(2).padding(1));
  x = layer2_->forward(layer1_->forward(x));
  const torch::Tensor c16 = layer3_->forward(x);
  const torch::Tensor c32 = layer4_->forward(c16);
  const torch::Tensor top = F::interpolate(
      lateral32_(c32), F::InterpolateFuncOptions()
                           .size(std::vector<int64_t>{c16.size(2), c16.size(3)})
                           .mode(torch::kBilinear)
                           .align_corners(false));
  return fuse_->forward(lateral16_(c16) + top);
}

WeightsLoadReport ImageEncoderImpl::load_pretrained(const std::string& path) {
  const NamedTensors tensors = read_named_tensors(path);
  WeightsLoadReport report = load_named_tensors(*this, tensors, path);
  std::string missing_backbone;
  for (const auto& name : report.missing) {
    if (!is_fpn_tensor(name)) missing_backbone += (missing_backbone.empty() ? "" : ", ") + name;
  }
  if (!missing_backbone.empty()) {
    throw CheckpointError("pretrained weights " + path + " lack backbone tensors of ResNet-" +
                          std::to_string(options_.depth()) + ": " + missing_backbone);
  }
  logging::info("image encoder: loaded " + std::to_string(report.loaded.size()) +
                " tensors from " + path + " (" + std::to_string(report.unexpected.size()) +
                " unused)");
  return report;
}

std::vector<torch::nn::Module*> ImageEncoderImpl::frozen_modules() {
  // frozen_stages 1 covers the stem (conv1 + bn1); each further stage adds one residual layer.
  const std::vector<torch::nn::Module*> in_order = {conv1_.get(),  bn1_.get(),    layer1_.get(),
                                                    layer2_.get(), layer3_.get(), layer4_.get()};
  const int64_t count = options_.frozen_stages() == 0 ? 0 : options_.frozen_stages() + 1;
  return {in_order.begin(), in_order.begin() + count};
}

void ImageEncoderImpl::freeze_stages() {
  for (torch::nn::Module* module : frozen_modules()) {
    for (auto& parameter : module->parameters()) parameter.set_requires_grad(false);
  }
  train(is_training());
}

void ImageEncoderImpl::train(bool on) {
  torch::nn::Module::train(on);
  if (!on) return;
  for (torch::nn::Module* module : frozen_modules()) module->eval();
}

}  // namespace rsd::model
