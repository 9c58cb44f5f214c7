// The joint training objective of the E2E model: detection + planning (+ collision-aware)
// + lambda * risk distillation, each with its weight from train.loss_weights.
#pragma once

#include <torch/types.h>

#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "rsd/data/batch.h"
#include "rsd/data/frame.h"
#include "rsd/geometry/grid_spec.h"
#include "rsd/model/detection_loss.h"
#include "rsd/model/detection_targets.h"
#include "rsd/model/e2e_model.h"
#include "rsd/model/planning_loss.h"
#include "rsd/model/risk_loss.h"

namespace rsd::train {

struct LossWeights {
  double detection = 1.0;
  double planning = 1.0;
  double risk = 1.0;        // the distillation weight lambda
  double collision = 0.1;
};

struct E2ELossOptions {
  explicit E2ELossOptions(GridSpec grid) : grid(grid) {}
  GridSpec grid;
  LossWeights weights;
  std::vector<data::ObjectClass> detection_classes;
  model::DetectionTargetOptions detection_targets;
  model::DetectionLossOptions detection;
  std::optional<model::CollisionLossOptions> collision;  // nullopt: no collision-aware term
  model::RiskDistillationLossOptions risk;
};

/// The named terms (unweighted) and the weighted total of one batch.
struct LossTerms {
  std::vector<std::pair<std::string, torch::Tensor>> terms;  // e.g. ("loss_planning", scalar)
  torch::Tensor total;                                       // scalar with a graph
};

class E2ELoss {
 public:
  explicit E2ELoss(E2ELossOptions options);
  /// Terms present follow the model: no detection head, no detection term; no RiskHead, no risk
  /// term. Frames without teacher labels add nothing to the risk term.
  LossTerms operator()(const model::E2EOutput& output, const data::Batch& batch) const;
  const E2ELossOptions& options() const { return options_; }

 private:
  E2ELossOptions options_;
  model::RiskDistillationLoss risk_loss_;
};

}  // namespace rsd::train
