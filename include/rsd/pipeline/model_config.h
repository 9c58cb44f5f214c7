// Config -> the model's options structs (configs/base/model.yaml, the loss keys of train.yaml, the
// grid, image and waypoint keys of data.yaml). Modules never see configs; these converters are the
// only place that reads their keys. Each throws rsd::ConfigError naming the key (and where it was
// set) when a value is out of range.
//
//   rsd::model::E2EModel model(rsd::pipeline::e2e_model_options_from(config));
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
#include "rsd/model/e2e_model.h"
#include "rsd/model/image_encoder.h"
#include "rsd/model/lift_splat.h"
#include "rsd/model/planning_head.h"
#include "rsd/model/planning_loss.h"
#include "rsd/model/risk_head.h"
#include "rsd/model/risk_loss.h"

namespace rsd::pipeline {

/// Every module's options (model.*, data.grid, data.image, data.waypoints), with the derived
/// channel counts computed once: the BEV encoder's input is LiftSplat's context_channels * nz.
model::E2EModelOptions e2e_model_options_from(const Config& config);

/// model.image_encoder.
model::ImageEncoderOptions image_encoder_options_from(const Config& config);

/// model.lift (depth_bins [min, max, step], context_channels, stride), with
/// model.image_encoder.out_channels, data.image and data.grid.
model::LiftSplatOptions lift_splat_options_from(const Config& config);

/// model.bev_encoder; `in_channels` comes from the lift (context_channels * nz).
model::BevEncoderOptions bev_encoder_options_from(const Config& config, int64_t in_channels);

/// model.detection_head.classes, as data::ObjectClass values in config order.
std::vector<data::ObjectClass> detection_classes_from(const Config& config);

/// model.detection_head (input channels: model.bev_encoder.out_channels); nullopt when disabled.
std::optional<model::DetectionHeadOptions> detection_head_options_from(const Config& config);
model::DetectionTargetOptions detection_target_options_from(const Config& config);
model::DetectionDecodeOptions detection_decode_options_from(const Config& config);
model::DetectionLossOptions detection_loss_options_from(const Config& config);

/// model.planning_head, with the grid (data.grid), the horizon (data.waypoints.future_steps) and
/// the input channels (model.bev_encoder.out_channels).
model::PlanningHeadOptions planning_head_options_from(const Config& config);

/// model.planning_head.collision_* and data.waypoints.step_frames; nullopt unless
/// model.planning_head.collision_loss.
std::optional<model::CollisionLossOptions> collision_loss_options_from(const Config& config);

/// model.risk_head (input channels: model.bev_encoder.out_channels; grid: data.grid); nullopt
/// when disabled.
std::optional<model::RiskHeadOptions> risk_head_options_from(const Config& config);

/// alpha of apply_risk_attention; nullopt unless the risk head and its risk attention are on.
std::optional<double> risk_attention_alpha_from(const Config& config);

/// train.risk_loss and train.risk_focal_positive.
model::RiskDistillationLossOptions risk_loss_options_from(const Config& config);

}  // namespace rsd::pipeline
