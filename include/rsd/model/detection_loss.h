// The DetectionHead's training loss: focal loss on the heatmaps plus L1 on the box regression at
// the ground-truth centre cells (CenterPoint).
#pragma once

#include <torch/types.h>

#include <vector>

#include "rsd/model/detection_head.h"
#include "rsd/model/detection_targets.h"
#include "rsd/model/focal_loss.h"

namespace rsd::model {

struct DetectionLossOptions {
  double heatmap_weight = 1.0;
  double regression_weight = 0.25;  // CenterPoint's bbox loss weight
  /// Per regression channel (box_code order): offset x, y, z, log l, w, h, sin, cos, vx, vy.
  std::vector<double> code_weights = {1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 0.2, 0.2};
  FocalLossOptions focal;
};

struct DetectionLosses {
  torch::Tensor heatmap;     // focal loss, normalised by the number of heatmap peaks
  torch::Tensor regression;  // sum over channels of code_weight * |pred - target|, averaged over objects
  torch::Tensor total;       // heatmap_weight * heatmap + regression_weight * regression
};

/// Scalars. A batch without objects gives a zero regression loss that keeps its graph.
DetectionLosses detection_loss(const DetectionOutput& output, const DetectionTargets& targets,
                               const DetectionLossOptions& options = {});

}  // namespace rsd::model
