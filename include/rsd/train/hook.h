// Code that runs at fixed points of the Trainer's loop (detectron2's HookBase, mmengine's
// priorities). The trainer's own logging, validation and checkpoints are hooks too:
//
//   name         priority  what
//   progress     60        the progress bar (rank 0, TrainerOptions::progress)
//   validation   70        validates every val_every steps and at the last step; new best loss
//   metrics      75        metrics.jsonl (rank 0): train lines every log_every steps, val lines;
//                          a resumed run first drops the lines past its checkpoint's step
//   checkpoint   80        saves every checkpoint_every steps, on a new best and at the end
//
// so a checkpoint sees the validation of its step, and a kill just after a checkpoint cannot
// lose its step's metrics lines (a resumed run would not write them again).
#pragma once

#include <string>

#include "rsd/train/trainer_state.h"

namespace torch::serialize {
class OutputArchive;
class InputArchive;
}  // namespace torch::serialize

namespace rsd::train {

class Hook {
 public:
  virtual ~Hook() = default;

  /// Unique among a trainer's hooks (add_hook throws on a duplicate): the key of the hook's
  /// state in checkpoints. Letters, digits and '_'.
  virtual std::string name() const = 0;
  /// Lower runs first at every hook point; ties run in registration order.
  virtual int priority() const { return 50; }

  /// After resuming, before the first step.
  virtual void before_train(TrainerState&) {}
  /// Before each step's first batch (rate already set, gradients zeroed); keep it cheap.
  virtual void before_step(TrainerState&) {}
  /// Gradients present and averaged over ranks; before the non-finite check, clipping and the
  /// update. state.last_step holds the losses only.
  virtual void after_backward(TrainerState&) {}
  /// After the update (or the skip of a non-finite step); state.last_step is complete.
  virtual void after_step(TrainerState&) {}
  /// At the end of run(): completed is false when an exception ends it (the exception is
  /// rethrown after every hook has run; an exception from this call is then only logged).
  virtual void after_train(TrainerState&, bool /*completed*/) {}

  /// The hook's own state in each checkpoint, restored by load() on resume. A checkpoint without
  /// this hook's state leaves it fresh; state of a hook the trainer lacks is skipped with a
  /// warning.
  virtual void save(torch::serialize::OutputArchive&) const {}
  virtual void load(torch::serialize::InputArchive&) {}
};

}  // namespace rsd::train
