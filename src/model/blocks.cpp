#include "rsd/model/blocks.h"

#include <torch/nn.h>
#include <torch/nn/functional/activation.h>
#include <torch/nn/init.h>

#include "rsd/util/error.h"

namespace rsd::model {
namespace {

torch::nn::Conv2d conv(int64_t in, int64_t out, int64_t kernel, int64_t stride) {
  return torch::nn::Conv2d(
      torch::nn::Conv2dOptions(in, out, kernel).stride(stride).padding(kernel / 2).bias(false));
}

}  // namespace

ResidualBlockImpl::ResidualBlockImpl(ResidualBlockOptions options) : options_(options) {
  RSD_CHECK(options_.in_channels() > 0 && options_.planes() > 0, "residual block channels ",
            options_.in_channels(), " -> ", options_.planes());
  RSD_CHECK(options_.stride() == 1 || options_.stride() == 2, "residual block stride ",
            options_.stride(), " (1 or 2)");
  const int64_t in = options_.in_channels();
  const int64_t planes = options_.planes();
  const int64_t stride = options_.stride();
  if (options_.bottleneck()) {
    conv1_ = register_module("conv1", conv(in, planes, 1, 1));
    bn1_ = register_module("bn1", torch::nn::BatchNorm2d(planes));
    conv2_ = register_module("conv2", conv(planes, planes, 3, stride));
    bn2_ = register_module("bn2", torch::nn::BatchNorm2d(planes));
    conv3_ = register_module("conv3", conv(planes, options_.out_channels(), 1, 1));
    bn3_ = register_module("bn3", torch::nn::BatchNorm2d(options_.out_channels()));
  } else {
    conv1_ = register_module("conv1", conv(in, planes, 3, stride));
    bn1_ = register_module("bn1", torch::nn::BatchNorm2d(planes));
    conv2_ = register_module("conv2", conv(planes, planes, 3, 1));
    bn2_ = register_module("bn2", torch::nn::BatchNorm2d(planes));
  }
  if (stride != 1 || in != options_.out_channels()) {
    downsample_ = register_module(
        "downsample", torch::nn::Sequential(conv(in, options_.out_channels(), 1, stride),
                                            torch::nn::BatchNorm2d(options_.out_channels())));
  }
  init_conv_bn(*this);
}

torch::Tensor ResidualBlockImpl::forward(const torch::Tensor& x) {
  torch::Tensor out = torch::relu(bn1_(conv1_(x)));
  out = bn2_(conv2_(out));
  if (options_.bottleneck()) out = bn3_(conv3_(torch::relu(out)));
  const torch::Tensor identity = downsample_ ? downsample_->forward(x) : x;
  return torch::relu(out + identity);
}

AttentionBlockImpl::AttentionBlockImpl(int64_t channels, int64_t heads,
                                       int64_t feed_forward_multiplier) {
  RSD_CHECK(channels > 0 && heads > 0 && channels % heads == 0, "attention channels ", channels,
            " must be a positive multiple of heads ", heads);
  RSD_CHECK_GE(feed_forward_multiplier, 1, "attention feed-forward multiplier");
  const int64_t inner = channels * feed_forward_multiplier;
  attention_ = register_module("attention", torch::nn::MultiheadAttention(channels, heads));
  attention_norm_ = register_module(
      "attention_norm", torch::nn::LayerNorm(torch::nn::LayerNormOptions({channels})));
  feed_forward_ = register_module(
      "feed_forward", torch::nn::Sequential(torch::nn::Linear(channels, inner), torch::nn::ReLU(),
                                            torch::nn::Linear(inner, channels)));
  feed_forward_norm_ = register_module(
      "feed_forward_norm", torch::nn::LayerNorm(torch::nn::LayerNormOptions({channels})));
}

torch::Tensor AttentionBlockImpl::forward(const torch::Tensor& residual, const torch::Tensor& query,
                                          const torch::Tensor& key, const torch::Tensor& value) {
  const auto attended = attention_->forward(query, key, value, /*key_padding_mask=*/{},
                                            /*need_weights=*/false);
  const torch::Tensor x = attention_norm_(residual + std::get<0>(attended));
  return feed_forward_norm_(x + feed_forward_->forward(x));
}

torch::nn::Sequential make_residual_stage(int64_t& in_channels, int64_t planes, int64_t blocks,
                                          int64_t stride, bool bottleneck) {
  RSD_CHECK_GE(blocks, 1, "residual blocks in a stage");
  torch::nn::Sequential stage;
  for (int64_t i = 0; i < blocks; ++i) {
    ResidualBlock block(ResidualBlockOptions(in_channels, planes)
                            .stride(i == 0 ? stride : 1)
                            .bottleneck(bottleneck));
    in_channels = block->options().out_channels();
    stage->push_back(block);
  }
  return stage;
}

torch::nn::Sequential conv_bn_relu(int64_t in_channels, int64_t out_channels, int64_t kernel,
                                   int64_t stride) {
  torch::nn::Sequential layers;
  append_conv_bn_relu(layers, in_channels, out_channels, kernel, stride);
  return layers;
}

void append_conv_bn_relu(torch::nn::Sequential& layers, int64_t in_channels, int64_t out_channels,
                         int64_t kernel, int64_t stride) {
  auto convolution = conv(in_channels, out_channels, kernel, stride);
  auto norm = torch::nn::BatchNorm2d(out_channels);
  init_conv_bn(*convolution);
  init_conv_bn(*norm);
  layers->push_back(convolution);
  layers->push_back(norm);
  layers->push_back(torch::nn::ReLU());
}

namespace {

void init_one(torch::nn::Module& module) {
  if (auto* conv2d = module.as<torch::nn::Conv2d>()) {
    torch::nn::init::kaiming_normal_(conv2d->weight, 0.0, torch::kFanOut, torch::kReLU);
    if (conv2d->bias.defined()) conv2d->bias.zero_();
  } else if (auto* norm = module.as<torch::nn::BatchNorm2d>()) {
    norm->weight.fill_(1.0);
    norm->bias.zero_();
  }
}

}  // namespace

void init_conv_bn(torch::nn::Module& module) {
  torch::NoGradGuard no_grad;
  // The module itself is visited apart: it may still be under construction, not yet owned by the
  // shared_ptr that modules(include_self = true) needs.
  init_one(module);
  for (auto& child : module.modules(/*include_self=*/false)) init_one(*child);
}

}  // namespace rsd::model
