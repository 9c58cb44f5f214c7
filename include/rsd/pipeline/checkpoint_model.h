// The model a checkpoint holds, ready for inference: built from the network keys the checkpoint's
// stored config gives (or the config given), its weights loaded, on a device. Used by rsd_eval and
// rsd_drive.
#pragma once

#include <torch/types.h>

#include <string>

#include "rsd/config/config.h"
#include "rsd/model/e2e_model.h"
#include "rsd/train/checkpoint.h"

namespace rsd::pipeline {

/// Where the keys that fix the network come from: model.*, and the image size, BEV grid and
/// waypoints it was trained on (data.image, data.grid, data.waypoints).
enum class ModelSource {
  /// The checkpoint's stored config (the run's resolved config): the config's values of those
  /// keys are replaced, except keys set by a `--set` override (origin "--set ..."), which win.
  /// A checkpoint saved without a config falls back to `config` with a warning.
  checkpoint,
  /// The config as given, as before checkpoints stored theirs.
  config,
};

struct CheckpointModel {
  Config config;                    // the config the model was built from
  model::E2EModel model;            // weights loaded, on the device, in training mode
  train::TrainingProgress progress; // the step it was saved at
  std::string model_source;         // where the network keys came from (for reports)
};

/// Builds and loads the model of `checkpoint`. Throws rsd::CheckpointError naming the file when it
/// is missing or does not fit the model (naming also the first network key where the config given
/// and the stored one differ, with both values), rsd::ConfigError for bad keys.
CheckpointModel load_checkpoint_model(const Config& given, const std::string& checkpoint,
                                      ModelSource model_from, const torch::Device& device);

}  // namespace rsd::pipeline
