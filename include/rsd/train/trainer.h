// The Trainer trains any model that implements TrainModule<Batch> on batches from a
// BatchSource<Batch>: AdamW with per-group learning-rate multipliers, warmup then cosine, gradient
// accumulation and clipping, a NaN/Inf guard, mixed precision (bf16/fp16 autocast, fp16 loss
// scaling), validation, atomic checkpoints with exact resume
// (weights, optimiser, RNG, data position, hook states), metrics.jsonl and a progress bar, and
// data-parallel gradient averaging when the communicator holds several processes (only rank 0
// writes files). Hooks (hook.h) run at fixed points of the loop.
//
//   auto module = std::make_shared<MyTrainModule>(...);            // a TrainModule<MyBatch>
//   rsd::train::Trainer<MyBatch> trainer(options, module, train_source, val_source);
//   trainer.add_hook(std::make_shared<MyHook>());
//   rsd::train::TrainSummary summary = trainer.run(/*resume=*/true);
//
// Everything that does not depend on the batch type lives in TrainerBase, compiled in librsd;
// Trainer<Batch> only connects the typed module and sources to it.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "rsd/train/batch_source.h"
#include "rsd/train/hook.h"
#include "rsd/train/loss_scaler.h"
#include "rsd/util/mixed_precision.h"
#include "rsd/train/train_module.h"
#include "rsd/train/trainer_state.h"
#include "rsd/util/error.h"

namespace rsd::dist {
class Communicator;
}

namespace rsd::train {

struct TrainerOptions {
  int64_t steps = 1000;           // optimiser steps of the whole run (the schedule spans them)
  int64_t stop_after = 0;         // stop this process once this many steps are done; 0: never
  double lr = 2e-4;               // rate at multiplier 1 (a ParamGroup's lr_mult scales it)
  double weight_decay = 0.01;
  int64_t warmup_steps = 100;
  double grad_clip = 35.0;        // max global gradient norm; 0: no clipping
  int64_t accumulate = 1;         // micro-batches per optimiser step
  int64_t val_every = 200;        // 0: no validation during training
  int64_t val_batches = 0;        // 0: the whole validation source
  int64_t checkpoint_every = 200; // 0: only at the end (and on a new best validation loss)
  int64_t keep_checkpoints = 3;
  int64_t max_bad_steps = 5;      // consecutive non-finite losses or gradients: the run stops
  int64_t log_every = 10;
  bool progress = true;
  /// Autocast of training_step and validation_step on the model's device (mixed_precision.h);
  /// fp16 adds a dynamic loss scale (loss_scaler.h), saved in checkpoints.
  Precision amp = Precision::fp32;
  LossScalerOptions loss_scale;   // fp16 only
  /// runs/<name>: rank 0 writes metrics.jsonl and checkpoints/ there and resumes from its
  /// checkpoints, then hands the whole training state to the other ranks (no shared file system
  /// needed: theirs are not read). Empty: no files, no resume.
  std::string run_dir;
  std::string config_yaml;        // stored in every checkpoint (the run's resolved config)
};

struct TrainSummary {
  int64_t step = 0;               // steps completed
  double last_loss = 0.0;         // total loss of the last step that updated (mean over ranks)
  double best_val = 0.0;          // best validation loss (infinity without validation)
  std::string last_checkpoint;    // rank 0 only
};

/// The batch-independent part of every Trainer<Batch>.
class TrainerBase {
 public:
  virtual ~TrainerBase();
  TrainerBase(const TrainerBase&) = delete;
  TrainerBase& operator=(const TrainerBase&) = delete;

  /// Registers a hook (before run()). Throws rsd::Error when its name is taken (the built-ins
  /// hold "progress", "validation", "checkpoint" and "metrics") or malformed.
  void add_hook(std::shared_ptr<Hook> hook);

  /// Trains up to options.steps (or stop_after, or a hook's stop request); once per trainer.
  /// With `resume`, continues from the newest readable checkpoint of run_dir so that an
  /// interrupted run ends with the weights of an uninterrupted one; with several ranks, rank 0
  /// reads it and broadcasts progress, parameters, buffers, optimiser, loss scale, hook states
  /// and the RNG state. With several ranks, every step starts from rank 0's buffers (as
  /// DistributedDataParallel's broadcast_buffers), and so do validation and the end of the run:
  /// each rank's training forward updates its BatchNorm statistics from its own batch. Throws
  /// rsd::Error after
  /// max_bad_steps consecutive bad steps (a non-finite loss or gradient norm; each is skipped,
  /// and the module's buffers, e.g. BatchNorm statistics, are restored to their values before
  /// it), with a checkpoint written first.
  TrainSummary run(bool resume = false);

  /// Mean validation losses over the samples of the validation source on every rank ("loss"
  /// first): each batch's losses weigh by its samples (BatchSource::samples_in), so shards of
  /// unequal size (data::LoaderOptions::pad_shards off) give the mean over the exact set. In eval
  /// mode without gradients, with rank 0's buffers; the module's mode is restored. Requires a
  /// validation source.
  NamedValues validate();

  const TrainerState& state() const;
  torch::optim::Optimizer& optimizer();

 protected:
  /// `groups` from the module, `batch_size` from the training source. A null communicator means
  /// one process.
  TrainerBase(TrainerOptions options, torch::nn::Module& module, std::vector<ParamGroup> groups,
              int64_t batch_size, bool has_validation,
              std::shared_ptr<dist::Communicator> communicator);

 private:
  // What depends on the batch type (Trainer<Batch>).
  virtual void start_epoch(int64_t epoch, int64_t first_batch) = 0;
  virtual bool fetch_batch() = 0;                           // false: the epoch is over
  virtual StepResult training_step() = 0;                   // on the fetched batch
  virtual void start_validation() = 0;
  // The losses of the next validation batch and its samples; nullopt: the source is exhausted.
  virtual std::optional<std::pair<StepResult, int64_t>> validation_step() = 0;

  friend class TrainerState;
  void run_step();
  void next_batch();
  std::vector<double> mean_over_ranks(std::vector<double> values);
  std::string save_checkpoint(bool is_best);

  struct Impl;
  std::unique_ptr<Impl> impl_;
};

namespace detail {
template <class T>
T& required(const std::shared_ptr<T>& pointer, const char* what) {
  if (!pointer) throw Error(std::string("the Trainer needs ") + what);
  return *pointer;
}
}  // namespace detail

template <class Batch>
class Trainer final : public TrainerBase {
 public:
  /// `val_source` may be null (no validation).
  Trainer(TrainerOptions options, std::shared_ptr<TrainModule<Batch>> module,
          std::shared_ptr<BatchSource<Batch>> train_source,
          std::shared_ptr<BatchSource<Batch>> val_source = nullptr,
          std::shared_ptr<dist::Communicator> communicator = nullptr)
      : TrainerBase(std::move(options), detail::required(module, "a module").module(),
                    detail::required(module, "a module").param_groups(),
                    detail::required(train_source, "a training batch source").batch_size(),
                    val_source != nullptr, std::move(communicator)),
        module_(std::move(module)),
        train_source_(std::move(train_source)),
        val_source_(std::move(val_source)) {}

  TrainModule<Batch>& module() { return *module_; }

 private:
  void start_epoch(int64_t epoch, int64_t first_batch) override {
    train_source_->start_epoch(epoch, first_batch);
  }
  bool fetch_batch() override {
    batch_ = train_source_->next();
    return batch_.has_value();
  }
  StepResult training_step() override {
    StepResult result = module_->training_step(*batch_);
    batch_.reset();
    return result;
  }
  void start_validation() override { val_source_->start_epoch(0, 0); }
  std::optional<std::pair<StepResult, int64_t>> validation_step() override {
    std::optional<Batch> batch = val_source_->next();
    if (!batch) return std::nullopt;
    return std::make_pair(module_->validation_step(*batch), val_source_->samples_in(*batch));
  }

  std::shared_ptr<TrainModule<Batch>> module_;
  std::shared_ptr<BatchSource<Batch>> train_source_;
  std::shared_ptr<BatchSource<Batch>> val_source_;
  std::optional<Batch> batch_;
};

}  // namespace rsd::train
