#include "rsd/pipeline/train_config.h"

#include <string>

#include "rsd/config/config_checks.h"
#include "rsd/pipeline/data_config.h"
#include "rsd/pipeline/model_config.h"

namespace rsd::pipeline {

train::TrainerOptions trainer_options_from(const Config& config) {
  const Config section = config.section("train");
  train::TrainerOptions options;
  options.steps = require_positive<int64_t>(section, "steps");
  options.stop_after = require_non_negative<int64_t>(section, "stop_after");
  options.lr = require_positive<double>(section, "lr");
  options.weight_decay = section.get<double>("weight_decay");
  options.warmup_steps = require_non_negative<int64_t>(section, "warmup_steps");
  if (options.warmup_steps > options.steps) {
    reject_config_value(section, "warmup_steps",
                        "exceeds train.steps (" + std::to_string(options.steps) + ")");
  }
  options.grad_clip = require_non_negative<double>(section, "grad_clip");
  options.accumulate = require_positive<int64_t>(section, "accumulate");
  options.val_every = require_non_negative<int64_t>(section, "val_every");
  options.val_batches = require_non_negative<int64_t>(section, "val_batches");
  options.checkpoint_every = require_non_negative<int64_t>(section, "checkpoint_every");
  options.keep_checkpoints = require_positive<int64_t>(section, "keep_checkpoints");
  options.max_bad_steps = require_positive<int64_t>(section, "max_bad_steps");
  options.log_every = require_positive<int64_t>(section, "log_every");
  options.progress = config.get<bool>("run.progress");
  options.amp = amp_precision_from(config);
  options.loss_scale.init_scale = require_positive<double>(section, "amp_init_scale");
  options.loss_scale.growth_interval = require_positive<int64_t>(section, "amp_growth_interval");
  return options;
}

Precision amp_precision_from(const Config& config) {
  return require_choice<Precision>(
      config.section("train"), "amp",
      {{"none", Precision::fp32}, {"bf16", Precision::bf16}, {"fp16", Precision::fp16}});
}

void check_amp_for_device(Precision amp, const torch::Device& device) {
  if (autocast_supported(device, amp)) return;
  throw ConfigError("config key 'train.amp' is '" + to_string(amp) +
                    "', which this libtorch cannot autocast on " + device.str() +
                    (device.is_cpu() ? " (its CPU autocast takes bf16 only; fp16 needs libtorch "
                                       ">= 2.4 or a CUDA device)"
                                     : "") +
                    "; use train.amp: bf16 or none");
}

train::E2ETrainModuleOptions e2e_train_module_options_from(const Config& config) {
  train::E2ETrainModuleOptions options;
  options.backbone_lr_mult =
      require_non_negative<double>(config.section("train"), "backbone_lr_mult");
  return options;
}

train::E2ELossOptions e2e_loss_options_from(const Config& config) {
  train::E2ELossOptions options(grid_spec_from(config));
  const Config weights = config.section("train.loss_weights");
  options.weights.detection = weights.get<double>("detection");
  options.weights.planning = weights.get<double>("planning");
  options.weights.risk = weights.get<double>("risk");
  options.weights.collision = weights.get<double>("collision");
  options.detection_classes = detection_classes_from(config);
  options.detection_targets = detection_target_options_from(config);
  options.detection = detection_loss_options_from(config);
  options.collision = collision_loss_options_from(config);
  options.risk = risk_loss_options_from(config);
  return options;
}

}  // namespace rsd::pipeline
