// Joint training of the E2E model: AdamW with a backbone learning-rate multiplier, warmup then
// cosine, gradient clipping and accumulation, validation and checkpoints every N steps, exact
// resume, NaN/Inf guards, metrics.jsonl and a progress bar; data-parallel over c10d when the
// communicator holds more than one process (only rank 0 writes files).
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "rsd/data/loader.h"
#include "rsd/dist/communicator.h"
#include "rsd/model/e2e_model.h"
#include "rsd/train/e2e_loss.h"

namespace rsd::train {

struct TrainerOptions {
  int64_t steps = 1000;           // optimiser steps of the whole run (the schedule spans them)
  int64_t stop_after = 0;         // stop this process once this many steps are done; 0: never
  double lr = 2e-4;
  double weight_decay = 0.01;
  double backbone_lr_mult = 0.1;  // parameters under "image_encoder." learn at lr * this
  int64_t warmup_steps = 100;
  double grad_clip = 35.0;        // max global gradient norm; 0: no clipping
  int64_t accumulate = 1;         // micro-batches per optimiser step
  int64_t val_every = 200;        // 0: no validation during training
  int64_t val_batches = 0;        // 0: the whole validation split
  int64_t checkpoint_every = 200;
  int64_t keep_checkpoints = 3;
  int64_t max_bad_steps = 5;      // consecutive non-finite losses before the run stops
  int64_t log_every = 10;
  bool progress = true;
};

struct TrainSummary {
  int64_t step = 0;               // steps completed
  double last_loss = 0.0;         // total loss of the last step (mean over ranks)
  double best_val = 0.0;          // best validation loss (infinity without validation)
  std::string last_checkpoint;    // rank 0 only
};

class Trainer {
 public:
  /// `run_dir` (runs/<name>; empty: no files) receives metrics.jsonl and checkpoints/ from rank 0;
  /// every rank resumes from its checkpoints. `config_yaml` is stored in every checkpoint.
  /// `val_loader` may be null.
  Trainer(TrainerOptions options, model::E2EModel model, E2ELoss loss,
          std::shared_ptr<data::Loader> train_loader, std::shared_ptr<data::Loader> val_loader,
          std::shared_ptr<dist::Communicator> communicator, std::string run_dir,
          std::string config_yaml);
  ~Trainer();

  /// Trains up to options.steps (or stop_after). With `resume`, continues from the newest readable
  /// checkpoint of run_dir (all ranks read it: a shared file system across machines), so that an
  /// interrupted run ends with the weights of an uninterrupted one. Throws rsd::Error after
  /// max_bad_steps consecutive non-finite losses, with a checkpoint written first.
  TrainSummary run(bool resume);

  /// Mean validation loss terms over the validation loader (and ranks); requires a val loader.
  std::vector<std::pair<std::string, double>> validate();

 private:
  struct State;
  std::unique_ptr<State> state_;
};

}  // namespace rsd::train
