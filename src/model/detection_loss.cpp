#include "rsd/model/detection_loss.h"

#include "rsd/util/error.h"

namespace rsd::model {

DetectionLosses detection_loss(const DetectionOutput& output, const DetectionTargets& targets,
                               const DetectionLossOptions& options) {
  RSD_CHECK_EQ(static_cast<int64_t>(options.code_weights.size()), box_code::kChannels,
               "detection code_weights");
  RSD_CHECK(output.regression.dim() == 4 && output.regression.size(1) == box_code::kChannels,
            "regression must be (B, ", box_code::kChannels, ", Y, X), got ",
            output.regression.sizes());
  const int64_t batch = output.regression.size(0);
  RSD_CHECK(targets.indices.dim() == 2 && targets.indices.size(0) == batch,
            "target indices must be (B, M), got ", targets.indices.sizes());

  DetectionLosses losses;
  losses.heatmap = penalty_reduced_focal_loss(output.heatmap, targets.heatmap, options.focal);

  // (B, M, C): the predicted code at each object's centre cell.
  const torch::Tensor flat = output.regression.flatten(2).transpose(1, 2);
  const torch::Tensor index =
      targets.indices.unsqueeze(2).expand({batch, targets.indices.size(1), box_code::kChannels});
  const torch::Tensor predicted = flat.gather(1, index);
  const torch::Tensor mask = targets.mask.to(predicted.dtype()).unsqueeze(2);
  const torch::Tensor weights =
      torch::tensor(options.code_weights, predicted.options().dtype(torch::kDouble))
          .to(predicted.dtype());
  // Padding slots may hold anything: replace their targets before subtracting (0 * NaN is NaN).
  const torch::Tensor target = torch::where(mask > 0, targets.regression.to(predicted.dtype()),
                                            predicted.detach());
  const torch::Tensor error = (predicted - target).abs() * mask * weights;
  losses.regression = error.sum() / mask.sum().clamp_min(1.0);
  losses.total =
      options.heatmap_weight * losses.heatmap + options.regression_weight * losses.regression;
  return losses;
}

}  // namespace rsd::model
