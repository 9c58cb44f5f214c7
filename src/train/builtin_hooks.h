// The hooks every Trainer registers itself (names and priorities: include/rsd/train/hook.h).
#pragma once

#include <memory>

#include "rsd/train/hook.h"

namespace rsd::train {

/// "progress": a progress bar with the loss (rank 0, when TrainerOptions::progress).
std::shared_ptr<Hook> make_progress_hook();
/// "validation": validates every val_every steps and at the last step of the schedule; keeps
/// progress.best_metric. Registered only with a validation source and val_every > 0.
std::shared_ptr<Hook> make_validation_hook();
/// "checkpoint": saves every checkpoint_every steps, when validation improved (also as best.pt)
/// and when the run ends without an error, unless this step was just saved.
std::shared_ptr<Hook> make_checkpoint_hook();
/// "metrics": metrics.jsonl in the run directory (rank 0); when resuming, the lines an
/// interrupted run wrote past the resumed step are dropped first (they are written again).
std::shared_ptr<Hook> make_metrics_hook();

}  // namespace rsd::train
