// Options of the model's modules and losses from a resolved config (configs/base/model.yaml, the
// loss keys of train.yaml, the grid and waypoint keys of data.yaml). Modules never see configs;
// these converters are the only place that reads their keys. Each throws rsd::ConfigError naming
// the key (and where it was set) when a value is out of range.
#pragma once

#include <cstdint>
#include <optional>
#include <vector>

#include "rsd/config/config.h"
#include "rsd/data/frame.h"
#include "rsd/model/bev_encoder.h"
#include "rsd/model/detection_head.h"
#include "rsd/model/detection_loss.h"
#include "rsd/model/detection_targets.h"
#include "rsd/model/image_encoder.h"
#include "rsd/model/planning_head.h"
#include "rsd/model/planning_loss.h"
#include "rsd/model/risk_head.h"
#include "rsd/model/risk_loss.h"

namespace rsd::model {

/// model.image_encoder.
ImageEncoderOptions image_encoder_options_from(const Config& config);

/// model.bev_encoder; `in_channels` comes from the lift (context_channels * nz).
BevEncoderOptions bev_encoder_options_from(const Config& config, int64_t in_channels);

/// model.detection_head.classes, as data::ObjectClass values in config order.
std::vector<data::ObjectClass> detection_classes_from(const Config& config);

/// model.detection_head (input channels: model.bev_encoder.out_channels); nullopt when disabled.
std::optional<DetectionHeadOptions> detection_head_options_from(const Config& config);
DetectionTargetOptions detection_target_options_from(const Config& config);
DetectionDecodeOptions detection_decode_options_from(const Config& config);
DetectionLossOptions detection_loss_options_from(const Config& config);

/// model.planning_head, with the grid (data.grid), the horizon (data.waypoints.future_steps) and
/// the input channels (model.bev_encoder.out_channels).
PlanningHeadOptions planning_head_options_from(const Config& config);

/// model.planning_head.collision_* and data.waypoints.step_frames; nullopt unless
/// model.planning_head.collision_loss.
std::optional<CollisionLossOptions> collision_loss_options_from(const Config& config);

/// model.risk_head (input channels: model.bev_encoder.out_channels; grid: data.grid); nullopt
/// when disabled.
std::optional<RiskHeadOptions> risk_head_options_from(const Config& config);

/// alpha of apply_risk_attention; nullopt unless the risk head and its risk attention are on.
std::optional<double> risk_attention_alpha_from(const Config& config);

/// train.risk_loss and train.risk_focal_positive.
RiskDistillationLossOptions risk_loss_options_from(const Config& config);

}  // namespace rsd::model
