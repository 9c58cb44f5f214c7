#include "rsd/pipeline/model_config.h"

#include <string>

#include "rsd/config/config_checks.h"
#include "rsd/data/frame_reader.h"
#include "rsd/pipeline/data_config.h"
#include "rsd/util/error.h"

namespace rsd::pipeline {
namespace {

using namespace rsd::model;

int64_t bev_channels(const Config& config) {
  return require_positive<int64_t>(config.section("model.bev_encoder"), "out_channels");
}

}  // namespace

E2EModelOptions e2e_model_options_from(const Config& config) {
  const LiftSplatOptions lift = lift_splat_options_from(config);
  const int64_t pooled_channels = lift.context_channels() * lift.grid().nz();
  return {image_encoder_options_from(config),
          lift,
          bev_encoder_options_from(config, pooled_channels),
          detection_head_options_from(config),
          planning_head_options_from(config),
          risk_head_options_from(config),
          risk_attention_alpha_from(config)};
}

ImageEncoderOptions image_encoder_options_from(const Config& config) {
  const Config section = config.section("model.image_encoder");
  const auto depth = section.get<int64_t>("depth");
  if (depth != 18 && depth != 34 && depth != 50) {
    reject_config_value(section, "depth", "must be 18, 34 or 50, got " + std::to_string(depth));
  }
  const auto frozen = section.get<int64_t>("frozen_stages");
  if (frozen < 0 || frozen > 5) {
    reject_config_value(section, "frozen_stages", "must lie in [0, 5], got " + std::to_string(frozen));
  }
  return ImageEncoderOptions()
      .depth(depth)
      .width(require_positive<int64_t>(section, "width"))
      .out_channels(require_positive<int64_t>(section, "out_channels"))
      .frozen_stages(frozen)
      .pretrained(section.get_or<std::string>("pretrained", ""));
}

LiftSplatOptions lift_splat_options_from(const Config& config) {
  const Config lift = config.section("model.lift");
  const auto bins = lift.get<std::vector<double>>("depth_bins");
  if (bins.size() != 3 || !(bins[2] > 0.0) || !(bins[1] > bins[0]) || !(bins[0] > 0.0)) {
    reject_config_value(lift, "depth_bins",
                        "must be [min, max, step] metres with 0 < min < max and step > 0");
  }
  const Config image = config.section("data.image");
  LiftSplatOptions options(require_positive<int64_t>(config.section("model.image_encoder"), "out_channels"),
                           grid_spec_from(config), require_positive<int64_t>(image, "height"),
                           require_positive<int64_t>(image, "width"));
  options.depth_min(bins[0]).depth_max(bins[1]).depth_step(bins[2]);
  options.context_channels(require_positive<int64_t>(lift, "context_channels"));
  options.stride(require_positive<int64_t>(lift, "stride"));
  return options;
}

BevEncoderOptions bev_encoder_options_from(const Config& config, int64_t in_channels) {
  const Config section = config.section("model.bev_encoder");
  const auto blocks = section.get<std::vector<int64_t>>("blocks");
  if (blocks.empty()) reject_config_value(section, "blocks", "needs at least one scale");
  for (size_t i = 0; i < blocks.size(); ++i) {
    if (blocks[i] < (i == 0 ? 0 : 1)) {
      reject_config_value(section, "blocks",
             "scale " + std::to_string(i) + " needs " + (i == 0 ? ">= 0" : ">= 1") + " blocks");
    }
  }
  return BevEncoderOptions(in_channels)
      .channels(require_positive<int64_t>(section, "channels"))
      .blocks(blocks)
      .out_channels(require_positive<int64_t>(section, "out_channels"));
}

std::vector<data::ObjectClass> detection_classes_from(const Config& config) {
  const Config section = config.section("model.detection_head");
  std::vector<data::ObjectClass> classes;
  for (const std::string& name : section.get<std::vector<std::string>>("classes")) {
    bool found = false;
    std::string known;
    for (int i = 0; i < data::kNumObjectClasses; ++i) {
      const auto object_class = static_cast<data::ObjectClass>(i);
      known += std::string(known.empty() ? "" : ", ") + data::to_string(object_class);
      if (name == data::to_string(object_class)) {
        classes.push_back(object_class);
        found = true;
      }
    }
    if (!found) reject_config_value(section, "classes", "unknown class '" + name + "' (known: " + known + ")");
  }
  if (classes.empty()) reject_config_value(section, "classes", "needs at least one class");
  return classes;
}

std::optional<DetectionHeadOptions> detection_head_options_from(const Config& config) {
  const Config section = config.section("model.detection_head");
  if (!section.get<bool>("enabled")) return std::nullopt;
  return DetectionHeadOptions(bev_channels(config),
                              static_cast<int64_t>(detection_classes_from(config).size()))
      .hidden(require_positive<int64_t>(section, "hidden"));
}

DetectionTargetOptions detection_target_options_from(const Config& config) {
  const Config section = config.section("model.detection_head");
  DetectionTargetOptions options;
  options.min_overlap = section.get<double>("min_overlap");
  if (!(options.min_overlap > 0.0 && options.min_overlap < 1.0)) {
    reject_config_value(section, "min_overlap", "must lie in (0, 1)");
  }
  options.min_radius = section.get<int64_t>("min_radius");
  if (options.min_radius < 0) reject_config_value(section, "min_radius", "must be >= 0");
  return options;
}

DetectionDecodeOptions detection_decode_options_from(const Config& config) {
  const Config section = config.section("model.detection_head");
  DetectionDecodeOptions options;
  options.max_detections = require_positive<int64_t>(section, "max_detections");
  options.score_threshold = section.get<double>("score_threshold");
  if (!(options.score_threshold >= 0.0 && options.score_threshold < 1.0)) {
    reject_config_value(section, "score_threshold", "must lie in [0, 1)");
  }
  return options;
}

DetectionLossOptions detection_loss_options_from(const Config& config) {
  const Config section = config.section("model.detection_head");
  DetectionLossOptions options;
  options.heatmap_weight = section.get<double>("heatmap_weight");
  options.regression_weight = section.get<double>("regression_weight");
  options.code_weights = section.get<std::vector<double>>("code_weights");
  if (static_cast<int64_t>(options.code_weights.size()) != box_code::kChannels) {
    reject_config_value(section, "code_weights",
           "needs " + std::to_string(box_code::kChannels) + " values, got " +
               std::to_string(options.code_weights.size()));
  }
  return options;
}

PlanningHeadOptions planning_head_options_from(const Config& config) {
  const Config section = config.section("model.planning_head");
  const int64_t hidden = require_positive<int64_t>(section, "hidden");
  const int64_t heads = require_positive<int64_t>(section, "heads");
  if (hidden % heads != 0 || hidden % 4 != 0) {
    reject_config_value(section, "hidden", "must be a multiple of 4 and of heads (" + std::to_string(heads) +
                                  "), got " + std::to_string(hidden));
  }
  return PlanningHeadOptions(bev_channels(config), grid_spec_from(config))
      .horizon(require_positive<int64_t>(config.section("data.waypoints"), "future_steps"))
      .ego_status_dim(require_positive<int64_t>(section, "ego_status_dim"))
      .num_commands(data::kNumCommands)
      .hidden(hidden)
      .heads(heads)
      .layers(require_positive<int64_t>(section, "layers"))
      .key_stride(require_positive<int64_t>(section, "key_stride"));
}

std::optional<CollisionLossOptions> collision_loss_options_from(const Config& config) {
  const Config section = config.section("model.planning_head");
  if (!section.get<bool>("collision_loss")) return std::nullopt;
  CollisionLossOptions options;
  options.margin = section.get<double>("collision_margin");
  if (!(options.margin >= 0.0)) reject_config_value(section, "collision_margin", "must be >= 0");
  options.step_seconds =
      static_cast<double>(require_positive<int64_t>(config.section("data.waypoints"), "step_frames")) /
      data::kFrameRateHz;
  return options;
}

std::optional<RiskHeadOptions> risk_head_options_from(const Config& config) {
  const Config section = config.section("model.risk_head");
  if (!section.get<bool>("enabled")) return std::nullopt;
  const auto type = section.get<std::string>("type");
  if (!risk_heads().contains(type)) {
    std::string known;
    for (const auto& name : risk_heads().types()) known += (known.empty() ? "" : ", ") + name;
    reject_config_value(section, "type", "unknown risk head type '" + type + "' (known: " + known + ")");
  }
  return RiskHeadOptions(bev_channels(config), grid_spec_from(config))
      .type(type)
      .hidden(require_positive<int64_t>(section, "hidden"))
      .layers(require_positive<int64_t>(section, "layers"))
      .heads(require_positive<int64_t>(section, "heads"))
      .downsample(require_positive<int64_t>(section, "downsample"))
      .points(require_positive<int64_t>(section, "points"))
      .pillar_heights(require_positive<int64_t>(section, "pillar_heights"))
      .view_channels(
          require_positive<int64_t>(config.section("model.image_encoder"), "out_channels"));
}

std::optional<double> risk_attention_alpha_from(const Config& config) {
  const Config section = config.section("model.risk_head");
  if (!section.get<bool>("enabled") || !section.get<bool>("risk_attention")) return std::nullopt;
  return section.get<double>("risk_attention_alpha");
}

RiskDistillationLossOptions risk_loss_options_from(const Config& config) {
  const Config section = config.section("train");
  RiskLossType type = RiskLossType::l1;
  try {
    type = parse_risk_loss_type(section.get<std::string>("risk_loss"));
  } catch (const ConfigError& error) {
    reject_config_value(section, "risk_loss", error.what());
  }
  FocalLossOptions focal;
  focal.positive_threshold = section.get<double>("risk_focal_positive");
  if (!(focal.positive_threshold > 0.0 && focal.positive_threshold <= 1.0)) {
    reject_config_value(section, "risk_focal_positive", "must lie in (0, 1]");
  }
  return RiskDistillationLossOptions().type(type).focal(focal);
}

}  // namespace rsd::pipeline
