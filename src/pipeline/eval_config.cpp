#include "rsd/pipeline/eval_config.h"

#include <algorithm>
#include <memory>
#include <string>
#include <vector>

#include "rsd/config/config_checks.h"
#include "rsd/data/frame_reader.h"
#include "rsd/pipeline/data_config.h"
#include "rsd/pipeline/model_config.h"

namespace rsd::pipeline {

eval::EvaluatorOptions evaluator_options_from(const Config& config) {
  eval::EvaluatorOptions options(grid_spec_from(config));
  const auto step_frames = config.get<int64_t>("data.waypoints.step_frames");
  if (step_frames < 1) {
    reject_config_value(config, "data.waypoints.step_frames",
           "must be positive, got " + std::to_string(step_frames));
  }
  options.planning.step_s = static_cast<double>(step_frames) / data::kFrameRateHz;
  options.planning.horizons_s = config.get<std::vector<double>>("eval.horizons_s");
  if (options.planning.horizons_s.empty()) reject_config_value(config, "eval.horizons_s", "lists no horizon");
  options.planning.ego_length = require_positive<double>(config, "eval.ego_length");
  options.planning.ego_width = require_positive<double>(config, "eval.ego_width");
  // The agents' real futures come from the clips' later annotations (read when frames arrive).
  eval::AgentFutureOptions futures;
  futures.root = config.get<std::string>("data.root");
  futures.steps = config.get<int64_t>("data.waypoints.future_steps");
  futures.step_frames = step_frames;
  if (futures.steps < 0) {
    reject_config_value(config, "data.waypoints.future_steps",
                        "must be >= 0, got " + std::to_string(futures.steps));
  }
  options.agent_futures = std::make_shared<const eval::AgentFutureReader>(std::move(futures));

  options.detection.classes = detection_classes_from(config);
  options.detection.thresholds_m = config.get<std::vector<double>>("eval.detection_thresholds_m");
  options.detection.tp_threshold_m = require_positive<double>(config, "eval.tp_threshold_m");
  options.decode = detection_decode_options_from(config);

  options.risk.threshold = config.get<double>("eval.risk_threshold");
  if (!(options.risk.threshold >= 0.0 && options.risk.threshold < 1.0)) {
    reject_config_value(config, "eval.risk_threshold",
           "must lie in [0, 1), got " + std::to_string(options.risk.threshold));
  }
  options.risk.histogram_bins = config.get<int64_t>("eval.auroc_bins");
  if (options.risk.histogram_bins < 1) reject_config_value(config, "eval.auroc_bins", "must be at least 1");
  options.risk.top_k = config.get<int64_t>("eval.top_k");
  if (options.risk.top_k < 1) reject_config_value(config, "eval.top_k", "must be at least 1");

  options.pictures = require_non_negative<int64_t>(config, "eval.pictures");
  options.picture_frames = config.get<std::vector<std::string>>("eval.picture_frames");
  const auto camera = config.get<std::string>("eval.picture_camera");
  const auto cameras = config.get<std::vector<std::string>>("data.cameras");
  const auto found = std::find(cameras.begin(), cameras.end(), camera);
  if (found == cameras.end()) {
    reject_config_value(config, "eval.picture_camera", "'" + camera + "' is not one of data.cameras");
  }
  options.picture_camera = found - cameras.begin();
  options.picture_cell_pixels = config.get<int64_t>("eval.picture_cell_pixels");
  if (options.picture_cell_pixels < 1 || options.picture_cell_pixels > 16) {
    reject_config_value(config, "eval.picture_cell_pixels",
           "must lie in [1, 16], got " + std::to_string(options.picture_cell_pixels));
  }
  options.max_batches = require_non_negative<int64_t>(config, "eval.max_batches");
  options.progress = config.get<bool>("run.progress");
  return options;
}

}  // namespace rsd::pipeline
