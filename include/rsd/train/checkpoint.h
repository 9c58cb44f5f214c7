// Checkpoints: one file per save holding the model's parameters and buffers (by name), the
// optimiser state, the training progress (step, data position, best metric), libtorch's RNG state,
// the run's config and any extra state of the trainer (its hooks'). Files are written atomically
// (a temporary `<name>.tmp.<pid>.<n>` renamed over the name); a `last` file names the newest for
// people and tools; the newest `keep_last` step checkpoints are kept, plus best.pt.
#pragma once

#include <torch/nn/module.h>
#include <torch/optim/optimizer.h>

#include <cstdint>
#include <functional>
#include <limits>
#include <optional>
#include <string>

namespace torch::serialize {
class OutputArchive;
class InputArchive;
}  // namespace torch::serialize

namespace rsd::train {

/// What a run needs beyond weights and optimiser state to continue exactly where it stopped.
struct TrainingProgress {
  int64_t step = 0;            // optimiser steps completed
  int64_t epoch = 0;           // data position: the epoch being read ...
  int64_t samples_in_epoch = 0;  // ... and the samples of it already consumed by all ranks together
  double best_metric = std::numeric_limits<double>::infinity();  // lower is better
  int64_t bad_steps = 0;       // consecutive steps skipped for a non-finite loss or gradient
  std::string config_yaml;     // the resolved config of the run
};

/// Writes or reads state kept next to the weights in a checkpoint's archive (the Trainer's hook
/// states). A reader may throw rsd::CheckpointError for state it cannot use.
using ExtraStateWriter = std::function<void(torch::serialize::OutputArchive&)>;
using ExtraStateReader = std::function<void(torch::serialize::InputArchive&)>;

/// The progress fields as checkpoints store them (also what rank 0 broadcasts on resume).
void write_progress(torch::serialize::OutputArchive& archive, const TrainingProgress& progress);
/// Throws (libtorch's error) when a field is missing.
TrainingProgress read_progress(torch::serialize::InputArchive& archive);

class CheckpointManager {
 public:
  /// `directory` is runs/<name>/checkpoints (created when missing).
  CheckpointManager(std::string directory, int keep_last);

  /// Writes step_<step>.pt (and best.pt when `is_best`), updates `last`, removes step checkpoints
  /// beyond the newest keep_last. `write_extra` adds state to the archive. Returns the path
  /// written.
  std::string save(const TrainingProgress& progress, const torch::nn::Module& model,
                   const torch::optim::Optimizer& optimizer, bool is_best,
                   const ExtraStateWriter& write_extra = {}) const;

  /// Restores the step checkpoint of the highest step that loads; a broken file is skipped with
  /// a warning naming it. `last` does not decide: a process killed after writing step_N.pt but
  /// before updating `last` leaves it naming an older checkpoint (a warning says so). nullopt
  /// when there is none; throws rsd::CheckpointError when checkpoints exist but none loads.
  std::optional<TrainingProgress> resume(torch::nn::Module& model,
                                         torch::optim::Optimizer& optimizer,
                                         const ExtraStateReader& read_extra = {}) const;

  /// Loads `path` into `model` (and `optimizer` when given), hands the archive to `read_extra`
  /// (when given) and restores the RNG state. Throws rsd::CheckpointError naming the file when it
  /// is unreadable, or naming the parameter whose name or shape does not match the model.
  /// Loads on any device: the archive is read into CPU tensors and copied into the module's
  /// tensors wherever they live (a checkpoint saved on a GPU loads into a CPU model and back);
  /// the optimiser's state (AdamW, Adam, SGD) moves to its parameters' device.
  static TrainingProgress load(const std::string& path, torch::nn::Module& model,
                               torch::optim::Optimizer* optimizer,
                               const ExtraStateReader& read_extra = {});

  /// The resolved config the checkpoint was saved with (TrainingProgress::config_yaml), without
  /// loading any weights; empty when it was saved without one. Throws rsd::CheckpointError naming
  /// the file when it is unreadable.
  static std::string stored_config(const std::string& path);

  /// Removes the temporaries of saves that never finished (a process killed while writing) and
  /// returns how many; logs their count. Only the process that saves may call it, when none of
  /// its saves is under way (the Trainer: rank 0, before training).
  int remove_stale_temporaries() const;

  const std::string& directory() const { return directory_; }

 private:
  std::string directory_;
  int keep_last_;
};

}  // namespace rsd::train
