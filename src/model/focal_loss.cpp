#include "rsd/model/focal_loss.h"

#include "rsd/util/error.h"

namespace rsd::model {

FocalTerms penalty_reduced_focal_terms(const torch::Tensor& logits, const torch::Tensor& target,
                                       const FocalLossOptions& options) {
  RSD_CHECK(logits.sizes() == target.sizes(), "focal loss: logits ", logits.sizes(),
            " vs target ", target.sizes());
  const torch::Tensor t = target.to(logits.dtype());
  const torch::Tensor p = torch::sigmoid(logits);
  const torch::Tensor log_p = torch::log_sigmoid(logits);
  const torch::Tensor log_not_p = torch::log_sigmoid(-logits);
  const torch::Tensor positive = (t >= options.positive_threshold).to(logits.dtype());
  const torch::Tensor positive_term = -torch::pow(1.0 - p, options.alpha) * log_p;
  const torch::Tensor negative_term =
      -torch::pow((1.0 - t).clamp_min(0.0), options.beta) * torch::pow(p, options.alpha) * log_not_p;
  return {positive * positive_term + (1.0 - positive) * negative_term, positive};
}

torch::Tensor penalty_reduced_focal_loss(const torch::Tensor& logits, const torch::Tensor& target,
                                         const FocalLossOptions& options) {
  const FocalTerms terms = penalty_reduced_focal_terms(logits, target, options);
  return terms.loss.sum() / terms.positives.sum().clamp_min(1.0);
}

}  // namespace rsd::model
