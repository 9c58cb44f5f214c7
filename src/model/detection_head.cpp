#include "rsd/model/detection_head.h"

#include <torch/nn.h>
#include <torch/nn/functional/pooling.h>

#include <cmath>

#include "rsd/model/blocks.h"
#include "rsd/util/error.h"

namespace rsd::model {
namespace {

// 3x3 conv + ReLU, then a 1x1 conv to `out` channels: one task branch of the head.
torch::nn::Sequential branch(int64_t hidden, int64_t out) {
  return torch::nn::Sequential(
      torch::nn::Conv2d(torch::nn::Conv2dOptions(hidden, hidden, 3).padding(1)), torch::nn::ReLU(),
      torch::nn::Conv2d(torch::nn::Conv2dOptions(hidden, out, 1)));
}

}  // namespace

DetectionHeadImpl::DetectionHeadImpl(DetectionHeadOptions options) : options_(options) {
  RSD_CHECK(options_.in_channels() > 0 && options_.num_classes() > 0 && options_.hidden() > 0,
            "detection head channels and classes must be positive");
  const int64_t hidden = options_.hidden();
  shared_ = register_module("shared", conv_bn_relu(options_.in_channels(), hidden, 3));
  heatmap_ = register_module("heatmap", branch(hidden, options_.num_classes()));
  offset_ = register_module("offset", branch(hidden, 2));
  z_ = register_module("z", branch(hidden, 1));
  size_ = register_module("size", branch(hidden, 3));
  yaw_ = register_module("yaw", branch(hidden, 2));
  velocity_ = register_module("velocity", branch(hidden, 2));
  torch::NoGradGuard no_grad;
  heatmap_[2]->as<torch::nn::Conv2d>()->bias.fill_(options_.heatmap_init_bias());
}

DetectionOutput DetectionHeadImpl::forward(const torch::Tensor& bev) {
  RSD_CHECK(bev.dim() == 4 && bev.size(1) == options_.in_channels(),
            "detection head input must be (B, ", options_.in_channels(), ", Y, X), got ",
            bev.sizes());
  const torch::Tensor x = shared_->forward(bev);
  // Concatenated in box_code order.
  return {heatmap_->forward(x),
          torch::cat({offset_->forward(x), z_->forward(x), size_->forward(x), yaw_->forward(x),
                      velocity_->forward(x)},
                     1)};
}

std::vector<std::vector<Detection>> decode_detections(const DetectionOutput& output,
                                                      const GridSpec& grid,
                                                      const std::vector<data::ObjectClass>& classes,
                                                      const DetectionDecodeOptions& options) {
  torch::NoGradGuard no_grad;
  const torch::Tensor& heatmap = output.heatmap;
  RSD_CHECK(heatmap.dim() == 4, "heatmap must be (B, K, Y, X), got ", heatmap.sizes());
  const int64_t batch = heatmap.size(0), num_classes = heatmap.size(1);
  const int64_t rows = heatmap.size(2), cols = heatmap.size(3);
  RSD_CHECK_EQ(num_classes, static_cast<int64_t>(classes.size()), "heatmap channels vs classes");
  RSD_CHECK(rows == grid.ny() && cols == grid.nx(), "heatmap ", rows, "x", cols,
            " does not match the grid ", grid.to_string());
  RSD_CHECK(output.regression.dim() == 4 && output.regression.size(1) == box_code::kChannels,
            "regression must be (B, ", box_code::kChannels, ", Y, X), got ",
            output.regression.sizes());
  RSD_CHECK(options.peak_kernel >= 1 && options.peak_kernel % 2 == 1, "peak_kernel ",
            options.peak_kernel, " must be odd");

  namespace F = torch::nn::functional;
  const torch::Tensor scores = torch::sigmoid(heatmap.to(torch::kFloat));
  const torch::Tensor window_max = F::max_pool2d(
      scores,
      F::MaxPool2dFuncOptions(options.peak_kernel).stride(1).padding(options.peak_kernel / 2));
  const torch::Tensor peaks = scores * (scores == window_max);
  const int64_t k = std::min(options.max_detections, num_classes * rows * cols);
  const auto [top_scores, top_index] = peaks.reshape({batch, -1}).topk(k, 1);
  const torch::Tensor regression =
      output.regression.to(torch::kFloat).reshape({batch, box_code::kChannels, rows * cols})
          .cpu();
  const torch::Tensor top_scores_cpu = top_scores.cpu();
  const torch::Tensor top_index_cpu = top_index.cpu();
  const auto score = top_scores_cpu.accessor<float, 2>();
  const auto index = top_index_cpu.accessor<int64_t, 2>();
  const auto code = regression.accessor<float, 3>();

  std::vector<std::vector<Detection>> out(static_cast<size_t>(batch));
  for (int64_t b = 0; b < batch; ++b) {
    for (int64_t i = 0; i < k; ++i) {
      if (score[b][i] < options.score_threshold || score[b][i] <= 0.0f) break;  // sorted
      const int64_t label = index[b][i] / (rows * cols);
      const int64_t cell = index[b][i] % (rows * cols);
      const int64_t iy = cell / cols, ix = cell % cols;
      Detection detection;
      detection.label = label;
      detection.score = score[b][i];
      data::Box& box = detection.box;
      box.object_class = classes[static_cast<size_t>(label)];
      box.center = {grid.x().min + (static_cast<double>(ix) + code[b][box_code::kOffsetX][cell]) *
                                       grid.x().step,
                    grid.y().min + (static_cast<double>(iy) + code[b][box_code::kOffsetY][cell]) *
                                       grid.y().step,
                    code[b][box_code::kZ][cell]};
      for (int64_t s = 0; s < 3; ++s) box.size[s] = std::exp(code[b][box_code::kLogSize + s][cell]);
      box.yaw = std::atan2(code[b][box_code::kSin][cell], code[b][box_code::kCos][cell]);
      box.velocity = {code[b][box_code::kVelocity][cell], code[b][box_code::kVelocity + 1][cell]};
      out[static_cast<size_t>(b)].push_back(std::move(detection));
    }
  }
  return out;
}

}  // namespace rsd::model
