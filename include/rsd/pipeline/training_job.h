// What `rsd_train` does in one process, as a library call: join the data-parallel job (if any),
// open the run directory (rank 0), build the datasets (with the risk cache when data.risk_cache is
// set), the model and the trainer, and train.
#pragma once

#include <string>

#include "rsd/config/config.h"
#include "rsd/train/trainer.h"

namespace rsd::pipeline {

struct TrainingJobOptions {
  std::string config_path;  // names the run when run.name is null
  bool resume = false;      // continue the run named by run.name from its newest checkpoint
  bool dry_run = false;     // stop after the run directory and config.yaml are written
};

/// Trains as `config` says. With WORLD_SIZE > 1 (torchrun variables) this process is one rank of a
/// data-parallel job; run.name must then be set so that every rank names the same run. Without a
/// split file every clip trains and there is no validation.
train::TrainSummary run_training_job(Config config, const TrainingJobOptions& options);

}  // namespace rsd::pipeline
