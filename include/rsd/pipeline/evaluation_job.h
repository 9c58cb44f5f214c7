// What `rsd_eval --config X --checkpoint C --split S [--out DIR]` does, as a library call: build
// the split's loader and the model from the config, load the checkpoint, evaluate, and write
// metrics.json, report.md and pictures/ into the output folder.
#pragma once

#include <string>

#include "rsd/config/config.h"
#include "rsd/eval/metric_set.h"

namespace rsd::pipeline {

struct EvalJobOptions {
  std::string checkpoint;  // required: a file written by train::CheckpointManager
  std::string split;       // "train" | "val" | "all"; empty: eval.split
  std::string out_dir;     // empty: default_eval_dir(checkpoint, split)
};

struct EvalSummary {
  std::string out_dir;
  std::string report_path;  // out_dir/report.md
  eval::MetricSet metrics;
};

/// runs/<name>/eval/<split> for a checkpoint in runs/<name>/checkpoints/, else eval_<split> beside
/// the checkpoint file.
std::string default_eval_dir(const std::string& checkpoint, const std::string& split);

/// Evaluates the checkpoint on the split. Throws rsd::ConfigError for bad eval.* keys,
/// rsd::CheckpointError naming the file when it is missing or does not fit the model,
/// rsd::DataError for unreadable data.
EvalSummary run_evaluation(const Config& config, const EvalJobOptions& options);

}  // namespace rsd::pipeline
