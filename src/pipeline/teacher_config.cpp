#include "rsd/pipeline/teacher_config.h"

#include <initializer_list>
#include <utility>

#include "config/yaml_io.h"
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

bool is_http_url(const std::string& url) {
  return url.rfind("http://", 0) == 0 || url.rfind("https://", 0) == 0;
}

// teacher.vlm.endpoints: a list of maps {url, concurrency, api_key_env}, which the typed getters of
// rsd::Config do not read (and its key check does not look into): the section is read back as a
// tree here and every entry checked, named by its index.
std::vector<VlmEndpoint> vlm_endpoints_from(const Config& vlm, const VlmTeacherOptions& single) {
  if (!vlm.has_value("endpoints")) return {};
  const detail::ConfigNode section = detail::parse_yaml(vlm.to_yaml(), vlm.origin("endpoints"));
  const detail::ConfigNode* list = section.find("endpoints");
  if (list == nullptr || list->kind != detail::ConfigNode::Kind::List) {
    reject_config_value(vlm, "endpoints", "must be a list of {url, concurrency, api_key_env}");
  }
  std::vector<VlmEndpoint> endpoints;
  for (std::size_t i = 0; i < list->items.size(); ++i) {
    const detail::ConfigNode& item = list->items[i];
    const std::string at = "entry " + std::to_string(i) + ": ";
    if (item.kind != detail::ConfigNode::Kind::Map) {
      reject_config_value(vlm, "endpoints", at + "must be a map {url, concurrency, api_key_env}, got " +
                                                detail::preview(item));
    }
    VlmEndpoint endpoint;
    endpoint.concurrency = single.concurrency;  // what an entry leaves out, the single settings say
    endpoint.api_key_env = single.api_key_env;
    for (const auto& [name, value] : item.fields) {
      if (name == "url" && value.kind == detail::ConfigNode::Kind::String) {
        endpoint.url = value.text;
      } else if (name == "concurrency" && value.kind == detail::ConfigNode::Kind::Int) {
        endpoint.concurrency = std::stoi(value.text);
      } else if (name == "api_key_env" && (value.kind == detail::ConfigNode::Kind::String ||
                                           value.kind == detail::ConfigNode::Kind::Null)) {
        endpoint.api_key_env = value.kind == detail::ConfigNode::Kind::Null ? "" : value.text;
      } else if (name == "url" || name == "concurrency" || name == "api_key_env") {
        reject_config_value(vlm, "endpoints", at + name + " has the wrong type: " + detail::preview(value));
      } else {
        reject_config_value(vlm, "endpoints", at + "unknown key '" + name +
                                                  "'; valid keys: url, concurrency, api_key_env");
      }
    }
    if (!is_http_url(endpoint.url)) {
      reject_config_value(vlm, "endpoints", at + "url must be an http:// or https:// URL, got '" +
                                                endpoint.url + "'");
    }
    if (endpoint.concurrency < 1) {
      reject_config_value(vlm, "endpoints", at + "concurrency must be >= 1, got " +
                                                std::to_string(endpoint.concurrency));
    }
    endpoints.push_back(std::move(endpoint));
  }
  return endpoints;
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
  if (!is_http_url(options.endpoint)) {
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
  options.endpoints = vlm_endpoints_from(vlm, options);
  options.pool.failures_to_cool_down = require_at_least<int>(vlm, "failures_to_cool_down", 1);
  options.pool.cool_down_s = require_non_negative<double>(vlm, "cool_down_s");
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
