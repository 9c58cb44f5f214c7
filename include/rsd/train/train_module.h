// What a model gives the Trainer: forward + losses for a batch (named terms and the total to
// backpropagate), its parameter groups, and the torch::nn::Module holding its weights. The model
// computes losses; the Trainer owns backward, accumulation, clipping, the optimiser, the mode
// switches (train()/eval(), NoGradGuard) and checkpoints (docs/training.md).
#pragma once

#include <torch/nn/module.h>
#include <torch/types.h>

#include <string>
#include <utility>
#include <vector>

namespace rsd::train {

/// The losses of one batch.
struct StepResult {
  torch::Tensor loss;  // scalar: the total the trainer backpropagates (with a graph in training)
  /// Scalars logged next to it as "loss" and these names, e.g. ("loss_planning", t). Every step
  /// must return the same names in the same order (they are averaged over ranks as one vector).
  std::vector<std::pair<std::string, torch::Tensor>> terms;
};

/// Parameters sharing a learning-rate multiplier of the schedule.
struct ParamGroup {
  std::string name;                       // for messages only
  std::vector<torch::Tensor> parameters;  // those without requires_grad are ignored
  double lr_mult = 1.0;                   // the group learns at the schedule's rate * this
};

template <class Batch>
class TrainModule {
 public:
  virtual ~TrainModule() = default;

  /// Forward and losses of a training batch; no backward (the trainer runs it).
  virtual StepResult training_step(const Batch& batch) = 0;

  /// The same for a validation batch; the trainer has set module().eval() and a NoGradGuard.
  virtual StepResult validation_step(const Batch& batch) { return training_step(batch); }

  /// Every parameter that requires a gradient must be in exactly one group (the trainer checks).
  /// Default: one group of all parameters at multiplier 1.
  virtual std::vector<ParamGroup> param_groups() { return {{"all", module().parameters(), 1.0}}; }

  /// The module whose parameters and buffers are trained, checkpointed (by name) and switched
  /// between train() and eval().
  virtual torch::nn::Module& module() = 0;
};

}  // namespace rsd::train
