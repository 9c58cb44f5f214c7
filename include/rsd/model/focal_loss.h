// CenterNet's penalty-reduced focal loss on Gaussian heatmap targets, shared by the detection
// heatmaps and the focal variant of the risk distillation loss.
#pragma once

#include <torch/types.h>

namespace rsd::model {

struct FocalLossOptions {
  double alpha = 2.0;  // focusing exponent on (1 - p) at positives and p at negatives
  double beta = 4.0;   // penalty reduction (1 - target)^beta near positives
  /// Cells whose target is at least this are positives (CenterNet: exactly 1, the Gaussian peaks).
  double positive_threshold = 1.0;
};

struct FocalTerms {
  torch::Tensor loss;       // per element, same shape as the logits, not normalised
  torch::Tensor positives;  // per element, float 1 at positives, 0 elsewhere
};

/// Per element, with p = sigmoid(logit) and t the target in [0, 1]:
///   positives (t >= positive_threshold):  -(1 - p)^alpha * log(p)
///   negatives:                            -(1 - t)^beta * p^alpha * log(1 - p)
/// Logs are computed as log-sigmoids (no clamping, finite for any logit).
FocalTerms penalty_reduced_focal_terms(const torch::Tensor& logits, const torch::Tensor& target,
                                       const FocalLossOptions& options = {});

/// CenterNet's normalisation: the sum of the terms over all elements divided by the number of
/// positives (at least 1). A scalar.
torch::Tensor penalty_reduced_focal_loss(const torch::Tensor& logits, const torch::Tensor& target,
                                         const FocalLossOptions& options = {});

}  // namespace rsd::model
