// What hooks see of a run: the progress that checkpoints keep, the step that just finished, the
// module and optimiser, and the actions a hook may take (validate, save a checkpoint, stop).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "rsd/train/checkpoint.h"

namespace rsd::train {

class TrainerBase;
struct TrainerOptions;

/// Named scalars in order, e.g. {("loss", 0.8), ("loss_planning", 0.3)}.
using NamedValues = std::vector<std::pair<std::string, double>>;

/// The optimiser step that just finished.
struct StepRecord {
  /// "loss" (the total), then the module's terms: means over the micro-batches and the ranks.
  NamedValues losses;
  /// No update: the total or the global gradient norm was NaN/Inf (a bad step: the module's
  /// buffers were restored too), or fp16 gradients overflowed.
  bool skipped = false;
  bool overflow = false;           // fp16: the gradients held inf/NaN at loss_scale (skipped)
  double loss_scale = 0.0;         // fp16: the loss scale of this step; 0 without one
  double lr = 0.0;                 // the schedule's rate at multiplier 1
  double grad_norm = 0.0;          // global gradient norm before clipping; 0 when skipped
  double seconds = 0.0;            // this rank's time for the step: data, forward, backward, update
  double data_wait_seconds = 0.0;  // the part of it spent waiting for batches
  int64_t samples = 0;             // samples in the step, all ranks together
};

class TrainerState {
 public:
  /// Steps done, data position, best validation loss, consecutive bad steps: saved in every
  /// checkpoint and restored on resume.
  TrainingProgress progress;
  /// The step just finished (valid in after_backward, with losses only, and after_step).
  StepRecord last_step;
  /// Set by the validation hook when it validated at this step ("loss" first), cleared before
  /// every step; `improved` says that it set a new progress.best_metric.
  std::optional<NamedValues> validation;
  bool improved = false;

  int64_t steps_done() const { return progress.step; }
  /// run(resume = true) with a run directory: this run continues the directory's files from
  /// steps_done() (the loaded checkpoint's step, 0 when none loaded), so what an interrupted run
  /// wrote past that step is to be replaced, not appended to.
  bool resuming() const { return resuming_; }
  /// The step count at which this run() ends: options().steps, or sooner with stop_after.
  int64_t end_step() const { return end_step_; }
  const TrainerOptions& options() const;
  int rank() const;
  int world_size() const;
  bool is_main() const { return rank() == 0; }
  /// Rank 0 of a run with a run directory: the process that writes metrics and checkpoints.
  bool writes_files() const;
  torch::nn::Module& module() const;
  torch::optim::Optimizer& optimizer() const;

  /// Mean validation losses over the validation source and the ranks ("loss" first), in eval
  /// mode without gradients. Every rank must call it at the same step.
  NamedValues validate();
  /// Writes a checkpoint with every hook's state (rank 0) and waits for all ranks; returns the
  /// path written ("" on other ranks and without a run directory). Every rank must call it.
  std::string save_checkpoint(bool is_best);
  /// steps_done() at the last save of this run; -1 before the first.
  int64_t checkpoint_step() const { return checkpoint_step_; }

  /// Ends the run after the current step's hooks (after_train then sees completed = true). Every
  /// rank must request it at the same step.
  void request_stop(std::string reason);
  bool stop_requested() const { return stop_requested_; }
  const std::string& stop_reason() const { return stop_reason_; }

 private:
  friend class TrainerBase;
  explicit TrainerState(TrainerBase& trainer) : trainer_(&trainer) {}

  TrainerBase* trainer_;
  int64_t end_step_ = 0;
  bool resuming_ = false;
  int64_t checkpoint_step_ = -1;
  bool stop_requested_ = false;
  std::string stop_reason_;
};

}  // namespace rsd::train
