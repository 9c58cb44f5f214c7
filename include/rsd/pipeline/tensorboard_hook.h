// The "tensorboard" trainer hook: TensorBoard event files in <run dir>/tb/ (rsd/util/
// tensorboard_writer.h), so that `tensorboard --logdir runs/` shows every run. It writes
//   train/<key>, val/<key>   every number of every line of metrics.jsonl, at the line's step
//                            (the same values: the hook follows what the metrics hook appends)
//   lr/<group>               the learning rate of each parameter group, with each train line
//   config                   the run's resolved config as text, when training starts
//   <tag>                    the pictures of options.validation_pictures at each validation
// A resumed run adds an events file; TensorBoard shows the newest value of a re-written step.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "rsd/train/hook.h"
#include "rsd/train/train_module.h"
#include "rsd/util/tensorboard_writer.h"

namespace rsd::pipeline {

using TaggedImages = std::vector<std::pair<std::string, EncodedImage>>;

struct TensorBoardHookOptions {
  /// Names of the optimiser's parameter groups in order (lr/<name>); lr/group<i> for the rest.
  std::vector<std::string> lr_group_names;
  /// Pictures for the validation at `step` (rank 0 only); none when empty.
  std::function<TaggedImages(int64_t step)> validation_pictures;
};

/// The names of the groups the Trainer's optimiser holds, in its order: those with a parameter
/// that requires a gradient (the Trainer leaves the others out).
std::vector<std::string> optimised_group_names(const std::vector<train::ParamGroup>& groups);

/// Priority 76: after the metrics hook (75) has appended the step's lines, before the checkpoint
/// (80). Writes on the process that writes the run's files (rank 0 with a run directory) and
/// nowhere else. A failure to write is logged as a warning and ends the event files, not the run.
std::shared_ptr<train::Hook> make_tensorboard_hook(TensorBoardHookOptions options = {});

}  // namespace rsd::pipeline
