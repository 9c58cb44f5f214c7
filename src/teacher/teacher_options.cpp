// Config -> the teacher area's options structs. Values are checked here, at the edge, so that a
// wrong value is reported with its key before any clip is touched.
#include <initializer_list>
#include <utility>

#include "rsd/config/config.h"
#include "rsd/teacher/jsonl_teacher.h"
#include "rsd/teacher/rasterizer.h"
#include "rsd/teacher/risk_cache_builder.h"
#include "rsd/teacher/rule_teacher.h"
#include "rsd/teacher/vlm_teacher.h"
#include "rsd/util/error.h"
#include "rsd/util/fs.h"

namespace rsd::teacher {
namespace {

[[noreturn]] void reject(const Config& config, const std::string& key, const std::string& why) {
  const std::string full = config.prefix().empty() ? key : config.prefix() + "." + key;
  throw ConfigError("config key '" + full + "' (" + config.origin(key) + "): " + why);
}

double positive(const Config& config, const std::string& key) {
  const double value = config.get<double>(key);
  if (!(value > 0.0)) reject(config, key, "must be positive, got " + std::to_string(value));
  return value;
}

double non_negative(const Config& config, const std::string& key) {
  const double value = config.get<double>(key);
  if (!(value >= 0.0)) reject(config, key, "must be >= 0, got " + std::to_string(value));
  return value;
}

int at_least(const Config& config, const std::string& key, int least) {
  const int value = config.get<int>(key);
  if (value < least) reject(config, key, "must be >= " + std::to_string(least) + ", got " + std::to_string(value));
  return value;
}

// The enum value named by the string at `key`.
template <typename Enum>
Enum choice(const Config& config, const std::string& key,
            std::initializer_list<std::pair<const char*, Enum>> values) {
  const auto value = config.get<std::string>(key);
  std::string names;
  for (const auto& [name, option] : values) {
    if (value == name) return option;
    names += (names.empty() ? "" : " | ") + std::string(name);
  }
  reject(config, key, "unknown value '" + value + "' (" + names + ")");
}

MatchOptions match_options_from(const Config& config) {
  const Config match = config.section("teacher.match");
  MatchOptions options;
  options.method = choice<MatchMethod>(match, "method",
                                       {{"iou", MatchMethod::iou}, {"center", MatchMethod::center}});
  options.iou_threshold = positive(match, "iou_threshold");
  if (options.iou_threshold > 1.0) reject(match, "iou_threshold", "must be in (0, 1]");
  options.center_threshold_px = positive(match, "center_threshold_px");
  return options;
}

}  // namespace

RuleTeacherOptions rule_teacher_options_from(const Config& config) {
  const Config rule = config.section("teacher.rule");
  RuleTeacherOptions options;
  options.ego_length = positive(rule, "ego_length");
  options.ego_width = positive(rule, "ego_width");
  options.lateral_margin_m = non_negative(rule, "lateral_margin_m");
  options.ttc_critical_s = non_negative(rule, "ttc_critical_s");
  options.path_sigma_m = positive(rule, "path_sigma_m");
  options.path_range_m = positive(rule, "path_range_m");
  options.crossing_speed_mps = non_negative(rule, "crossing_speed_mps");
  options.cut_in_speed_mps = non_negative(rule, "cut_in_speed_mps");
  options.stop_distance_m = positive(rule, "stop_distance_m");
  options.lookahead_m = non_negative(rule, "lookahead_m");
  return options;
}

VlmTeacherOptions vlm_teacher_options_from(const Config& config) {
  const Config vlm = config.section("teacher.vlm");
  VlmTeacherOptions options;
  options.endpoint = vlm.get<std::string>("endpoint");
  if (options.endpoint.rfind("http://", 0) != 0 && options.endpoint.rfind("https://", 0) != 0) {
    reject(vlm, "endpoint", "must be an http:// or https:// URL, got '" + options.endpoint + "'");
  }
  options.model = vlm.get<std::string>("model");
  options.api_key_env = vlm.get_or<std::string>("api_key_env", "");
  if (vlm.has_value("prompt_template")) {
    const auto path = vlm.get<std::string>("prompt_template");
    try {
      options.prompt_template = read_file(path);
    } catch (const Error& e) {
      reject(vlm, "prompt_template", e.what());
    }
    if (options.prompt_template.find("{{objects}}") == std::string::npos) {
      reject(vlm, "prompt_template",
             path + " lacks the {{objects}} placeholder: the model would not see the ids");
    }
  }
  options.system_prompt = vlm.get_or<std::string>("system_prompt", "");
  options.cameras = vlm.get<std::vector<std::string>>("cameras");
  if (options.cameras.empty()) reject(vlm, "cameras", "must name at least one camera");
  options.temperature = non_negative(vlm, "temperature");
  options.max_tokens = at_least(vlm, "max_tokens", 1);
  options.timeout_s = positive(vlm, "timeout_s");
  options.retries = at_least(vlm, "retries", 0);
  options.backoff_s = non_negative(vlm, "backoff_s");
  options.concurrency = at_least(vlm, "concurrency", 1);
  options.max_response_bytes = static_cast<std::size_t>(at_least(vlm, "max_response_bytes", 1024));
  options.max_objects = at_least(vlm, "max_objects", 1);
  options.max_distance_m = positive(vlm, "max_distance_m");
  options.json_mode = vlm.get<bool>("json_mode");
  options.match = match_options_from(config);
  return options;
}

JsonlTeacherOptions jsonl_teacher_options_from(const Config& config) {
  const Config jsonl = config.section("teacher.jsonl");
  JsonlTeacherOptions options;
  if (!jsonl.has_value("path")) reject(jsonl, "path", "is required with teacher.type: jsonl");
  options.path = jsonl.get<std::string>("path");
  options.default_camera = jsonl.get<std::string>("camera");
  options.model = jsonl.get_or<std::string>("model", "");
  options.match = match_options_from(config);
  return options;
}

RasterizeOptions rasterize_options_from(const Config& config) {
  const Config rasterize = config.section("teacher.rasterize");
  RasterizeOptions options;
  options.mode = choice<RasterizeMode>(
      rasterize, "mode", {{"gaussian", RasterizeMode::gaussian}, {"footprint", RasterizeMode::footprint}});
  options.min_radius = at_least(rasterize, "min_radius", 0);
  options.min_overlap = positive(rasterize, "min_overlap");
  if (options.min_overlap >= 1.0) reject(rasterize, "min_overlap", "must be in (0, 1)");
  return options;
}

RiskCacheBuildOptions risk_cache_build_options_from(const Config& config) {
  RiskCacheBuildOptions options(GridSpec::from_config(config));
  const Config teacher = config.section("teacher");
  options.output_dir = teacher.get<std::string>("output");
  options.rasterize = rasterize_options_from(config);
  options.checkpoint_frames = at_least(teacher, "checkpoint_frames", 1);
  const Config path = teacher.section("ego_path");
  options.ego_path.source = choice<EgoPathSource>(
      path, "source", {{"frames", EgoPathSource::frames}, {"extrapolate", EgoPathSource::extrapolate}});
  options.ego_path.horizon_s = positive(path, "horizon_s");
  options.ego_path.step_s = positive(path, "step_s");
  return options;
}

}  // namespace rsd::teacher
