// RiskDistillationLoss: the RiskHead's logits against the teacher's cached risk maps, over the
// frames that have teacher labels.
#pragma once

#include <torch/arg.h>
#include <torch/nn/module.h>
#include <torch/nn/pimpl.h>
#include <torch/types.h>

#include <string>

#include "rsd/model/focal_loss.h"

namespace rsd::model {

enum class RiskLossType {
  l1,     // mean |sigmoid(logit) - target| over cells (the paper's loss)
  mse,    // mean (sigmoid(logit) - target)^2 over cells
  focal,  // CenterNet's penalty-reduced focal loss on the target map
  kl,     // KL(target / sum(target) || softmax(logits over cells)), per frame
};

/// "l1" | "mse" | "focal" | "kl". Throws rsd::ConfigError listing them.
RiskLossType parse_risk_loss_type(const std::string& name);
const char* to_string(RiskLossType type);

struct RiskDistillationLossOptions {
  TORCH_ARG(RiskLossType, type) = RiskLossType::l1;
  /// focal: positives are cells whose target reaches focal.positive_threshold. CenterNet's
  /// threshold 1 suits maps whose risky objects peak at 1; lower it for maps whose peaks carry
  /// the risk score.
  TORCH_ARG(FocalLossOptions, focal) = {};
};

/// Frames without teacher labels (mask false) contribute nothing: their targets are never read
/// into the result (they may hold anything, NaN included). With no labelled frame in the batch
/// the loss is 0 and still has a graph (zero gradients), so a training step needs no special case.
class RiskDistillationLossImpl : public torch::nn::Module {
 public:
  explicit RiskDistillationLossImpl(RiskDistillationLossOptions options = {});

  /// logits (B, 1, Y, X) from RiskHead; target (B, 1, Y, X) or (B, Y, X) risk map in [0, 1] on
  /// the same grid; mask (B) bool or float, true for frames with teacher labels -> scalar.
  ///   l1, mse: per-frame mean over cells, averaged over labelled frames;
  ///   focal:   summed over labelled frames' cells, divided by their positives (at least 1);
  ///   kl:      per-frame KL divergence, averaged over labelled frames whose target map has
  ///            positive mass (an all-zero map has no distribution to match and is skipped).
  torch::Tensor forward(const torch::Tensor& logits, const torch::Tensor& target,
                        const torch::Tensor& mask) const;

  const RiskDistillationLossOptions& options() const { return options_; }

 private:
  RiskDistillationLossOptions options_;
};
TORCH_MODULE(RiskDistillationLoss);

}  // namespace rsd::model
