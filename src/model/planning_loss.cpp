#include "rsd/model/planning_loss.h"

#include "rsd/util/error.h"

namespace rsd::model {
namespace {

void check_waypoints(const torch::Tensor& waypoints, const torch::Tensor& mask, const char* what) {
  RSD_CHECK(waypoints.dim() == 3 && waypoints.size(2) == 2, what, " must be (B, T, 2), got ",
            waypoints.sizes());
  RSD_CHECK(mask.dim() == 2 && mask.size(0) == waypoints.size(0) &&
                mask.size(1) == waypoints.size(1),
            "waypoint mask must be (", waypoints.size(0), ", ", waypoints.size(1), "), got ",
            mask.sizes());
}

}  // namespace

torch::Tensor planning_l1_loss(const torch::Tensor& predicted, const torch::Tensor& target,
                               const torch::Tensor& mask) {
  check_waypoints(predicted, mask, "predicted waypoints");
  RSD_CHECK(target.sizes() == predicted.sizes(), "target waypoints ", target.sizes(),
            " vs predicted ", predicted.sizes());
  const torch::Tensor valid = mask.to(predicted.dtype());
  // Invalid waypoints' targets may hold anything (NaN past a clip's end): replace them before the
  // subtraction, since 0 * NaN is NaN.
  const torch::Tensor clean_target =
      torch::where(valid.unsqueeze(2) > 0, target.to(predicted.dtype()), predicted.detach());
  const torch::Tensor error = (predicted - clean_target).abs() * valid.unsqueeze(2);
  return error.sum() / (2.0 * valid.sum().clamp_min(1.0));
}

torch::Tensor collision_loss(const torch::Tensor& predicted, const GtBoxes& boxes,
                             const torch::Tensor& mask, const CollisionLossOptions& options) {
  check_waypoints(predicted, mask, "predicted waypoints");
  RSD_CHECK_EQ(boxes.batch_size(), predicted.size(0), "boxes vs waypoints batch");
  RSD_CHECK(options.step_seconds > 0.0 && options.margin >= 0.0,
            "collision loss step_seconds and margin must be positive");
  const auto dtype = predicted.dtype();
  const auto device = predicted.device();
  const int64_t horizon = predicted.size(1);
  const torch::Tensor time =
      (torch::arange(1, horizon + 1, predicted.options()) * options.step_seconds)
          .view({1, horizon, 1, 1});                                       // (1, T, 1, 1)
  const torch::Tensor center = boxes.center.to(device, dtype).narrow(2, 0, 2).unsqueeze(1);
  const torch::Tensor velocity = boxes.velocity.to(device, dtype).unsqueeze(1);  // (B, 1, M, 2)
  const torch::Tensor moved = center + velocity * time;                          // (B, T, M, 2)
  const torch::Tensor relative = predicted.unsqueeze(2) - moved;                 // (B, T, M, 2)
  const torch::Tensor yaw = boxes.yaw.to(device, dtype).unsqueeze(1);            // (B, 1, M)
  const torch::Tensor cos_yaw = torch::cos(yaw), sin_yaw = torch::sin(yaw);
  // Rotate into each box's frame (x along its heading).
  const torch::Tensor along = relative.select(3, 0) * cos_yaw + relative.select(3, 1) * sin_yaw;
  const torch::Tensor across = -relative.select(3, 0) * sin_yaw + relative.select(3, 1) * cos_yaw;
  const torch::Tensor half_size = boxes.size.to(device, dtype).narrow(2, 0, 2).unsqueeze(1) * 0.5;
  const torch::Tensor excess_along = along.abs() - half_size.select(3, 0);   // (B, T, M)
  const torch::Tensor excess_across = across.abs() - half_size.select(3, 1);
  // Signed distance to the rectangle: Euclidean outside, minus the depth inside.
  const torch::Tensor outside =
      (excess_along.clamp_min(0.0).square() + excess_across.clamp_min(0.0).square() + 1e-12)
          .sqrt();
  const torch::Tensor inside = torch::maximum(excess_along, excess_across).clamp_max(0.0);
  const torch::Tensor signed_distance = outside + inside;
  const torch::Tensor penalty = torch::relu(options.margin - signed_distance);
  const torch::Tensor valid_box = boxes.valid.to(device).unsqueeze(1).to(dtype);  // (B, 1, M)
  const torch::Tensor valid_waypoint = mask.to(device).to(dtype);                 // (B, T)
  const torch::Tensor weighted = penalty * valid_box * valid_waypoint.unsqueeze(2);
  return weighted.sum() / valid_waypoint.sum().clamp_min(1.0);
}

}  // namespace rsd::model
