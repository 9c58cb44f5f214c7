// Config -> the training options (configs/base/train.yaml with the model keys the loss needs).
#pragma once

#include "rsd/config/config.h"
#include "rsd/train/e2e_loss.h"
#include "rsd/train/e2e_train_module.h"
#include "rsd/train/trainer.h"

namespace rsd::pipeline {

/// train.* and run.progress; throws rsd::ConfigError naming a bad value. run_dir and config_yaml
/// stay empty: the training job sets them.
train::TrainerOptions trainer_options_from(const Config& config);

/// train.amp alone (the training job checks it against the device before anything else).
Precision amp_precision_from(const Config& config);

/// train.amp against the run's device: throws rsd::ConfigError naming train.amp when this
/// libtorch cannot autocast there at that precision (fp16 on the CPU of libtorch 1.13).
void check_amp_for_device(Precision amp, const torch::Device& device);

/// train.backbone_lr_mult.
train::E2ETrainModuleOptions e2e_train_module_options_from(const Config& config);

/// train.loss_weights, model.detection_head (classes, targets, loss), model.planning_head's
/// collision loss, train.risk_loss and data.grid.
train::E2ELossOptions e2e_loss_options_from(const Config& config);

}  // namespace rsd::pipeline
