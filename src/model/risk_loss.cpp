#include "rsd/model/risk_loss.h"

#include "rsd/util/error.h"

namespace rsd::model {
namespace {

// sum_b weight_b * value_b / max(sum_b weight_b, 1): the mean over the selected frames, and a
// zero with a graph when none is selected.
torch::Tensor masked_mean(const torch::Tensor& per_frame, const torch::Tensor& weight) {
  return (per_frame * weight).sum() / weight.sum().clamp_min(1.0);
}

}  // namespace

RiskLossType parse_risk_loss_type(const std::string& name) {
  if (name == "l1") return RiskLossType::l1;
  if (name == "mse") return RiskLossType::mse;
  if (name == "focal") return RiskLossType::focal;
  if (name == "kl") return RiskLossType::kl;
  throw ConfigError("unknown risk loss '" + name + "'; known: l1, mse, focal, kl");
}

const char* to_string(RiskLossType type) {
  switch (type) {
    case RiskLossType::l1: return "l1";
    case RiskLossType::mse: return "mse";
    case RiskLossType::focal: return "focal";
    case RiskLossType::kl: return "kl";
  }
  return "?";
}

RiskDistillationLossImpl::RiskDistillationLossImpl(RiskDistillationLossOptions options)
    : options_(options) {}

torch::Tensor RiskDistillationLossImpl::forward(const torch::Tensor& logits,
                                                const torch::Tensor& target,
                                                const torch::Tensor& mask) const {
  RSD_CHECK(logits.dim() == 4 && logits.size(1) == 1, "risk logits must be (B, 1, Y, X), got ",
            logits.sizes());
  const torch::Tensor target4 = target.dim() == 3 ? target.unsqueeze(1) : target;
  RSD_CHECK(target4.sizes() == logits.sizes(), "risk target ", target.sizes(),
            " does not match the logits ", logits.sizes());
  const int64_t batch = logits.size(0);
  RSD_CHECK(mask.dim() == 1 && mask.size(0) == batch, "risk target mask must be (", batch,
            "), got ", mask.sizes());

  const torch::Tensor labelled = mask.to(logits.device()).to(torch::kBool);
  const torch::Tensor weight = labelled.to(logits.dtype());
  // Unlabelled frames' targets are replaced by zeros before any arithmetic (0 * NaN is NaN).
  const torch::Tensor clean = torch::where(labelled.view({batch, 1, 1, 1}),
                                           target4.to(logits.device(), logits.scalar_type()),
                                           torch::zeros({}, logits.options()));
  switch (options_.type()) {
    case RiskLossType::l1:
      return masked_mean((torch::sigmoid(logits) - clean).abs().flatten(1).mean(1), weight);
    case RiskLossType::mse:
      return masked_mean((torch::sigmoid(logits) - clean).square().flatten(1).mean(1), weight);
    case RiskLossType::focal: {
      const FocalTerms terms = penalty_reduced_focal_terms(logits, clean, options_.focal());
      const torch::Tensor frame_weight = weight.view({batch, 1, 1, 1});
      return (terms.loss * frame_weight).sum() /
             (terms.positives * frame_weight).sum().clamp_min(1.0);
    }
    case RiskLossType::kl: {
      const torch::Tensor mass = clean.flatten(1).sum(1);                 // (B)
      const torch::Tensor has_mass = (mass > 0).to(logits.dtype()) * weight;
      const torch::Tensor q = clean.flatten(1) / mass.clamp_min(1e-12).unsqueeze(1);
      const torch::Tensor log_p = torch::log_softmax(logits.flatten(1), 1);
      // q * log q with 0 * log 0 = 0.
      const torch::Tensor q_log_q = torch::where(q > 0, q * torch::log(q.clamp_min(1e-30)),
                                                 torch::zeros({}, q.options()));
      return masked_mean((q_log_q - q * log_p).sum(1), has_mass);
    }
  }
  throw Error("unhandled risk loss type");
}

}  // namespace rsd::model
