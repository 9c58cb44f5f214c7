// What `rsd_eval --config X --checkpoint C --split S [--out DIR]` does, as a library call: build
// the model (the one the checkpoint holds, see ModelSource) and the split's loader, load the
// checkpoint, evaluate, and write metrics.json, report.md and pictures/ into the output folder.
#pragma once

#include <string>

#include "rsd/config/config.h"
#include "rsd/pipeline/checkpoint_model.h"
#include "rsd/eval/metric_set.h"

namespace rsd::pipeline {


struct EvalJobOptions {
  std::string checkpoint;  // required: a file written by train::CheckpointManager
  std::string split;       // "train" | "val" | "all"; empty: eval.split
  std::string out_dir;     // empty: default_eval_dir(checkpoint, split)
  ModelSource model_from = ModelSource::checkpoint;
};

struct EvalSummary {
  std::string out_dir;
  std::string report_path;  // out_dir/report.md
  eval::MetricSet metrics;
};

/// runs/<name>/eval/<split> for a checkpoint in runs/<name>/checkpoints/, else eval_<split> beside
/// the checkpoint file.
std::string default_eval_dir(const std::string& checkpoint, const std::string& split);

/// Evaluates the checkpoint on the split. Throws rsd::ConfigError for bad keys of `config`,
/// rsd::CheckpointError naming the file when it is missing or does not fit the model (naming
/// also the first network key where the model's config and the stored one differ, with both
/// values), rsd::DataError for unreadable data.
EvalSummary run_evaluation(const Config& config, const EvalJobOptions& options);

}  // namespace rsd::pipeline
