// The "training_curves" trainer hook: <run dir>/curves.png (rsd/eval/training_curves.h) drawn
// again from the run's metrics.jsonl after every validation and at the end of training, so that
// a running job can be watched without TensorBoard.
#pragma once

#include <memory>

#include "rsd/train/hook.h"

namespace rsd::pipeline {

/// Priority 85: after the metrics hook (75) has written the step's val line. Draws on the
/// process that writes the run's files (rank 0 with a run directory) and nowhere else. A failure
/// to draw is logged as a warning and never ends the run; unreadable lines and left-out values
/// of metrics.jsonl are logged when their counts change.
std::shared_ptr<train::Hook> make_training_curves_hook();

}  // namespace rsd::pipeline
