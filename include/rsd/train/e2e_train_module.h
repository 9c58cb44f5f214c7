// The E2E model as a TrainModule: forward, then the joint objective (E2ELoss); the image encoder
// (parameters "image_encoder.*") learns at a reduced rate. Checkpoints hold the E2EModel's own
// weight names, so rsd_eval loads them into an E2EModel directly.
#pragma once

#include <vector>

#include "rsd/data/batch.h"
#include "rsd/model/e2e_model.h"
#include "rsd/train/e2e_loss.h"
#include "rsd/train/train_module.h"
#include "rsd/train/trainer.h"

namespace rsd::train {

struct E2ETrainModuleOptions {
  double backbone_lr_mult = 0.1;  // parameters under "image_encoder." learn at lr * this
};

class E2ETrainModule : public TrainModule<data::Batch> {
 public:
  E2ETrainModule(model::E2EModel model, E2ELoss loss, E2ETrainModuleOptions options = {});

  /// The loss terms of E2ELoss ("loss_detection", "loss_planning", ...) and their weighted total.
  StepResult training_step(const data::Batch& batch) override;
  /// "image_encoder" at backbone_lr_mult (when the model has trainable encoder parameters), then
  /// "rest" at 1.
  std::vector<ParamGroup> param_groups() override;
  torch::nn::Module& module() override { return *model_; }

  const model::E2EModel& model() const { return model_; }

 private:
  model::E2EModel model_;
  E2ELoss loss_;
  E2ETrainModuleOptions options_;
};

// Compiled once in librsd (e2e_train_module.cpp).
extern template class Trainer<data::Batch>;

}  // namespace rsd::train
