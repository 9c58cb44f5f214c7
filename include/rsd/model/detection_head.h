// DetectionHead: CenterPoint-style BEV detection. One heatmap per class marks object centres; a
// dense regression map gives, at each centre cell, the box relative to that cell.
#pragma once

#include <torch/arg.h>
#include <torch/nn/module.h>
#include <torch/nn/modules/container/sequential.h>
#include <torch/nn/pimpl.h>
#include <torch/types.h>

#include <cstdint>
#include <vector>

#include "rsd/data/frame.h"
#include "rsd/geometry/grid_spec.h"

namespace rsd::model {

/// Channels of the regression map (and of DetectionTargets::regression), in this order.
namespace box_code {
constexpr int64_t kOffsetX = 0;  // centre x within its cell, in cells: [0, 1)
constexpr int64_t kOffsetY = 1;  // centre y within its cell, in cells: [0, 1)
constexpr int64_t kZ = 2;        // centre z, metres
constexpr int64_t kLogSize = 3;  // log(length), log(width), log(height), metres: channels 3..5
constexpr int64_t kSin = 6;      // sin(yaw)
constexpr int64_t kCos = 7;      // cos(yaw)
constexpr int64_t kVelocity = 8; // vx, vy, m/s, ego frame: channels 8..9
constexpr int64_t kChannels = 10;
}  // namespace box_code

struct DetectionOutput {
  torch::Tensor heatmap;     // (B, K, Y, X) logits; sigmoid gives the centre probability per class
  torch::Tensor regression;  // (B, box_code::kChannels, Y, X), see box_code
};

struct DetectionHeadOptions {
  DetectionHeadOptions(int64_t in_channels, int64_t num_classes)
      : in_channels_(in_channels), num_classes_(num_classes) {}
  TORCH_ARG(int64_t, in_channels);
  TORCH_ARG(int64_t, num_classes);
  TORCH_ARG(int64_t, hidden) = 64;
  /// Initial heatmap logit: -log((1 - p) / p) for a prior centre probability p = 0.1 (CenterNet).
  TORCH_ARG(double, heatmap_init_bias) = -2.19;
};

class DetectionHeadImpl : public torch::nn::Module {
 public:
  explicit DetectionHeadImpl(DetectionHeadOptions options);

  /// bev (B, in_channels, Y, X) on the grid -> heatmap logits and regression at the same Y, X.
  DetectionOutput forward(const torch::Tensor& bev);

  const DetectionHeadOptions& options() const { return options_; }

 private:
  DetectionHeadOptions options_;
  torch::nn::Sequential shared_{nullptr};
  torch::nn::Sequential heatmap_{nullptr}, offset_{nullptr}, z_{nullptr}, size_{nullptr},
      yaw_{nullptr}, velocity_{nullptr};
};
TORCH_MODULE(DetectionHead);

struct DetectionDecodeOptions {
  int64_t max_detections = 100;  // top-k peaks per frame, over all classes
  double score_threshold = 0.1;  // minimum sigmoid score
  int64_t peak_kernel = 3;       // max-pool window that defines a peak
};

struct Detection {
  data::Box box;     // object_class, center, size (exp of the log sizes), yaw, velocity
  int64_t label = 0; // index into the class list
  double score = 0.0;
};

/// Boxes from a DetectionOutput on `grid`: peaks of sigmoid(heatmap) (cells equal to the max of
/// their peak_kernel window), the top max_detections per frame, those scoring at least
/// score_threshold, best first. `classes[label]` names each heatmap channel.
std::vector<std::vector<Detection>> decode_detections(const DetectionOutput& output,
                                                      const GridSpec& grid,
                                                      const std::vector<data::ObjectClass>& classes,
                                                      const DetectionDecodeOptions& options = {});

}  // namespace rsd::model
