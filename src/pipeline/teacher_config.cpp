#include "rsd/pipeline/teacher_config.h"

#include <initializer_list>
#include <utility>

#include "rsd/config/config_checks.h"
#include "rsd/pipeline/data_config.h"
#include "rsd/util/error.h"
#include "rsd/util/fs.h"

namespace rsd::pipeline {
namespace {

using namespace rsd::teacher;

MatchOptions match_options_from(const Config& config) {
  const Config match = config.section("teacher.match");
  MatchOptions options;
  options.method = require_choice<MatchMethod>(match, "method",
                                       {{"iou", MatchMethod::iou}, {"center", MatchMethod::center}});
  options.iou_threshold = require_positive<double>(match, "iou_threshold");
  if (options.iou_threshold > 1.0) reject_config_value(match, "iou_threshold", "must be in (0, 1]");
  options.center_threshold_px = require_positive<double>(match, "center_threshold_px");
  return options;
}

}  // namespace

RuleTeacherOptions rule_teacher_options_from(const Config& config) {
  const Config rule = config.section("teacher.rule");
  RuleTeacherOptions options;
  options.ego_length = require_positive<double>(rule, "ego_length");
  options.ego_width = require_positive<double>(rule, "ego_width");
  options.lateral_margin_m = require_non_negative<double>(rule, "lateral_margin_m");
  options.ttc_critical_s = require_non_negative<double>(rule, "ttc_critical_s");
  options.path_sigma_m = require_positive<double>(rule, "path_sigma_m");
  options.path_range_m = require_positive<double>(rule, "path_range_m");
  options.crossing_speed_mps = require_non_negative<double>(rule, "crossing_speed_mps");
  options.cut_in_speed_mps = require_non_negative<double>(rule, "cut_in_speed_mps");
  options.conflict_time_scale_s = require_positive<double>(rule, "conflict_time_scale_s");
  options.min_ego_speed_mps = require_positive<double>(rule, "min_ego_speed_mps");
  options.stop_distance_m = require_positive<double>(rule, "stop_distance_m");
  options.lookahead_m = require_non_negative<double>(rule, "lookahead_m");
  return options;
}

VlmTeacherOptions vlm_teacher_options_from(const Config& config) {
  const Config vlm = config.section("teacher.vlm");
  VlmTeacherOptions options;
  options.endpoint = vlm.get<std::string>("endpoint");
  if (options.endpoint.rfind("http://", 0) != 0 && options.endpoint.rfind("https://", 0) != 0) {
    reject_config_value(vlm, "endpoint", "must be an http:// or https:// URL, got '" + options.endpoint + "'");
  }
  options.model = vlm.get<std::string>("model");
  options.api_key_env = vlm.get_or<std::string>("api_key_env", "");
  if (vlm.has_value("prompt_template")) {
    const auto path = vlm.get<std::string>("prompt_template");
    try {
      options.prompt_template = read_file(path);
    } catch (const Error& e) {
      reject_config_value(vlm, "prompt_template", e.what());
    }
    if (options.prompt_template.find("{{objects}}") == std::string::npos) {
      reject_config_value(vlm, "prompt_template",
             path + " lacks the {{objects}} placeholder: the model would not see the ids");
    }
  }
  options.system_prompt = vlm.get_or<std::string>("system_prompt", "");
  options.cameras = vlm.get<std::vector<std::string>>("cameras");
  if (options.cameras.empty()) reject_config_value(vlm, "cameras", "must name at least one camera");
  options.temperature = require_non_negative<double>(vlm, "temperature");
  options.max_tokens = require_at_least<int>(vlm, "max_tokens", 1);
  options.timeout_s = require_positive<double>(vlm, "timeout_s");
  options.retries = require_at_least<int>(vlm, "retries", 0);
  options.backoff_s = require_non_negative<double>(vlm, "backoff_s");
  options.concurrency = require_at_least<int>(vlm, "concurrency", 1);
  options.max_response_bytes = static_cast<std::size_t>(require_at_least<int>(vlm, "max_response_bytes", 1024));
  options.max_objects = require_at_least<int>(vlm, "max_objects", 1);
  options.max_distance_m = require_positive<double>(vlm, "max_distance_m");
  options.json_mode = vlm.get<bool>("json_mode");
  options.match = match_options_from(config);
  return options;
}

JsonlTeacherOptions jsonl_teacher_options_from(const Config& config) {
  const Config jsonl = config.section("teacher.jsonl");
  JsonlTeacherOptions options;
  if (!jsonl.has_value("path")) reject_config_value(jsonl, "path", "is required with teacher.type: jsonl");
  options.path = jsonl.get<std::string>("path");
  options.default_camera = jsonl.get<std::string>("camera");
  options.model = jsonl.get_or<std::string>("model", "");
  options.match = match_options_from(config);
  return options;
}

RasterizeOptions rasterize_options_from(const Config& config) {
  const Config rasterize = config.section("teacher.rasterize");
  RasterizeOptions options;
  options.mode = require_choice<RasterizeMode>(
      rasterize, "mode", {{"gaussian", RasterizeMode::gaussian}, {"footprint", RasterizeMode::footprint}});
  options.min_radius = require_at_least<int>(rasterize, "min_radius", 0);
  options.min_overlap = require_positive<double>(rasterize, "min_overlap");
  if (options.min_overlap >= 1.0) reject_config_value(rasterize, "min_overlap", "must be in (0, 1)");
  return options;
}

RiskCacheBuildOptions risk_cache_build_options_from(const Config& config) {
  RiskCacheBuildOptions options(grid_spec_from(config));
  const Config teacher = config.section("teacher");
  options.output_dir = teacher.get<std::string>("output");
  options.rasterize = rasterize_options_from(config);
  options.checkpoint_frames = require_at_least<int>(teacher, "checkpoint_frames", 1);
  const Config path = teacher.section("ego_path");
  options.ego_path.source = require_choice<EgoPathSource>(
      path, "source", {{"frames", EgoPathSource::frames}, {"extrapolate", EgoPathSource::extrapolate}});
  options.ego_path.horizon_s = require_positive<double>(path, "horizon_s");
  options.ego_path.step_s = require_positive<double>(path, "step_s");
  return options;
}

InspectOptions inspect_options_from(const Config& config) {
  InspectOptions options(grid_spec_from(config));
  options.cache_dir = config.get<std::string>("teacher.output");
  options.data_root = config.get_or<std::string>("data.root", "");
  options.cameras = config.get<std::vector<std::string>>("data.cameras");
  return options;
}

}  // namespace rsd::pipeline
