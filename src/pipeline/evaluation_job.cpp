#include "rsd/pipeline/evaluation_job.h"

#include <algorithm>
#include <nlohmann/json.hpp>
#include <cctype>
#include <filesystem>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include "rsd/data/clip_index.h"
#include "rsd/eval/evaluator.h"
#include "rsd/eval/report.h"
#include "rsd/model/e2e_model.h"
#include "rsd/pipeline/data_sources.h"
#include "rsd/pipeline/checkpoint_model.h"
#include "rsd/pipeline/eval_config.h"
#include "rsd/pipeline/model_config.h"
#include "rsd/pipeline/process.h"
#include "rsd/train/checkpoint.h"
#include "rsd/util/error.h"
#include "rsd/util/logging.h"

namespace rsd::pipeline {

namespace fs = std::filesystem;

namespace {

// eval.reference_planners' ego_linear, fitted on every full-future frame of
// eval.reference_fit_root (all its clips), or of the train split of data.root.
std::shared_ptr<const eval::EgoLinearPlanner> fit_ego_linear_planner(const Config& config,
                                                                    const torch::Device& device) {
  Config fit_config = config.clone();
  data::Split split = data::Split::train;
  if (config.has_value("eval.reference_fit_root")) {
    // A JSON string is a YAML string whatever the path holds.
    fit_config.set("data.root",
                   nlohmann::json(config.get<std::string>("eval.reference_fit_root")).dump());
    split = data::Split::all;
  } else if (!config.has_value("data.split_file")) {
    throw ConfigError("eval.reference_planners fits on the train split, which needs "
                      "data.split_file (or set eval.reference_fit_root)");
  }
  auto planner = std::make_shared<eval::EgoLinearPlanner>();
  std::shared_ptr<data::Loader> loader =
      make_loader(fit_config, split, /*training=*/false, 0, 1, nullptr, device);
  loader->start_epoch(0);
  while (std::optional<data::Batch> batch = loader->next()) {
    planner->add(batch->ego_status, batch->command, batch->future_waypoints, batch->future_mask);
  }
  planner->fit();
  logging::info("reference planner ego_linear fitted on " + std::to_string(planner->frames()) +
                " frames of " + fit_config.get<std::string>("data.root"));
  return planner;
}

}  // namespace

std::string default_eval_dir(const std::string& checkpoint, const std::string& split) {
  const fs::path folder = fs::path(checkpoint).parent_path();
  if (folder.filename() == "checkpoints") return (folder.parent_path() / "eval" / split).string();
  return (folder / ("eval_" + split)).string();
}

EvalSummary run_evaluation(const Config& given, const EvalJobOptions& job) {
  const std::string split_name =
      job.split.empty() ? given.get<std::string>("eval.split") : job.split;
  const data::Split split = data::parse_split(split_name);
  if (split != data::Split::all && !given.has_value("data.split_file")) {
    throw ConfigError("evaluating the " + split_name +
                      " split needs data.split_file (or --split all to evaluate every clip)");
  }

  // Config mistakes first (exit status 2), then the checkpoint and the data. The config given is
  // checked whole, also the network keys the checkpoint may replace.
  const torch::Device device = run_device(run_options_from(given));
  e2e_model_options_from(given);
  eval::Evaluator{evaluator_options_from(given)};  // checks the horizons against the waypoint step
  if (job.checkpoint.empty()) throw ConfigError("evaluation needs a checkpoint (--checkpoint)");
  if (!fs::is_regular_file(job.checkpoint)) {
    throw CheckpointError(job.checkpoint + ": no such checkpoint file");
  }
  CheckpointModel loaded = load_checkpoint_model(given, job.checkpoint, job.model_from, device);
  const Config& config = loaded.config;

  EvalSummary summary;
  summary.out_dir =
      job.out_dir.empty() ? default_eval_dir(job.checkpoint, split_name) : job.out_dir;
  summary.report_path = (fs::path(summary.out_dir) / "report.md").string();
  eval::EvaluatorOptions options = evaluator_options_from(config);
  options.picture_dir = (fs::path(summary.out_dir) / "pictures").string();
  options.reference_planners = config.get<bool>("eval.reference_planners");
  if (options.reference_planners) options.ego_linear = fit_ego_linear_planner(config, device);
  if (config.get<bool>("eval.frame_records")) {
    options.frame_records_path = (fs::path(summary.out_dir) / "frames.jsonl").string();
  }
  eval::Evaluator evaluator(options);

  model::E2EModel& model = loaded.model;
  const train::TrainingProgress& progress = loaded.progress;
  std::shared_ptr<data::Loader> loader =
      make_loader(config, split, /*training=*/false, 0, 1, risk_source_from(config), device);
  logging::info("evaluating " + job.checkpoint + " (step " + std::to_string(progress.step) +
                ") on the " + split_name + " split, on " + device.str());

  summary.metrics = evaluator.run(model, *loader);

  eval::ReportInfo info;
  info.title =
      "Evaluation of " + fs::path(job.checkpoint).filename().string() + " on " + split_name;
  info.details = {{"checkpoint", job.checkpoint},
                  {"training step", std::to_string(progress.step)},
                  {"split", split_name},
                  {"model", loaded.model_source},
                  {"data root", config.get<std::string>("data.root")},
                  {"config", config.source_files().empty() ? "" : config.source_files().front()}};
  info.pictures = evaluator.pictures();
  eval::write_report(summary.out_dir, summary.metrics, info);
  logging::info("evaluation report: " + summary.report_path);
  return summary;
}

}  // namespace rsd::pipeline
