#include "rsd/train/e2e_loss.h"

#include "rsd/model/gt_boxes.h"
#include "rsd/util/mixed_precision.h"

namespace rsd::train {
namespace {

// The outputs the losses read, in at least fp32 (a forward under train.amp gives bf16/fp16).
model::E2EOutput in_full_precision(const model::E2EOutput& output) {
  model::E2EOutput result = output;
  result.detection.heatmap = at_least_float(output.detection.heatmap);
  result.detection.regression = at_least_float(output.detection.regression);
  result.waypoints = at_least_float(output.waypoints);
  result.risk_logits = at_least_float(output.risk_logits);
  return result;
}

}  // namespace

E2ELoss::E2ELoss(E2ELossOptions options)
    : options_(std::move(options)), risk_loss_(options_.risk) {}

LossTerms E2ELoss::operator()(const model::E2EOutput& forward_output,
                              const data::Batch& batch) const {
  // Losses in fp32 whatever precision the forward ran in: focal terms, log-sums and means over
  // thousands of BEV cells lose too much in bf16/fp16.
  const AutocastPause full_precision;
  const model::E2EOutput output = in_full_precision(forward_output);
  LossTerms result;
  const torch::Device device = output.waypoints.device();
  torch::Tensor total = torch::zeros({}, output.waypoints.options());
  auto add = [&](const std::string& name, const torch::Tensor& value, double weight) {
    result.terms.emplace_back(name, value);
    total = total + weight * value;
  };

  const bool needs_boxes = output.detection.heatmap.defined() || options_.collision.has_value();
  std::optional<model::GtBoxes> boxes;
  if (needs_boxes) {
    boxes = model::gt_boxes_from(batch.boxes, batch.box_classes, batch.box_mask,
                                 options_.detection_classes)
                .to(device);
  }
  if (output.detection.heatmap.defined()) {
    const auto targets = model::build_detection_targets(
        *boxes, static_cast<int64_t>(options_.detection_classes.size()), options_.grid,
        options_.detection_targets);
    const auto detection = model::detection_loss(output.detection, targets, options_.detection);
    result.terms.emplace_back("loss_heatmap", detection.heatmap);
    result.terms.emplace_back("loss_box", detection.regression);
    add("loss_detection", detection.total, options_.weights.detection);
  }

  const torch::Tensor future = batch.future_waypoints.to(device);
  const torch::Tensor future_mask = batch.future_mask.to(device);
  add("loss_planning", model::planning_l1_loss(output.waypoints, future, future_mask),
      options_.weights.planning);
  if (options_.collision) {
    add("loss_collision",
        model::collision_loss(output.waypoints, *boxes, future_mask, *options_.collision),
        options_.weights.collision);
  }
  if (output.risk_logits.defined()) {
    add("loss_risk",
        risk_loss_->forward(output.risk_logits, batch.risk_target.to(device),
                            batch.risk_mask.to(device)),
        options_.weights.risk);
  }
  result.total = total;
  return result;
}

}  // namespace rsd::train
