// Pictures of validation frames for TensorBoard (TensorBoardHookOptions::validation_pictures),
// drawn by rsd_eval's Evaluator: the BEV with the teacher's and the student's risk, boxes and
// trajectories, and eval.picture_camera with the trajectories projected into it.
#pragma once

#include <functional>
#include <memory>
#include <string>

#include "rsd/config/config.h"
#include "rsd/data/risk_target_source.h"
#include "rsd/model/e2e_model.h"
#include "rsd/pipeline/tensorboard_hook.h"

namespace rsd::pipeline {

/// The pictures of the first eval.pictures frames of the first validation batch (the same frames
/// at every validation, so TensorBoard's step slider shows how they change), tagged
/// pictures/<clip>_<frame>_{bev,camera}. The model runs once on that batch, in eval mode without
/// gradients. The PNGs pass through `scratch_dir`, removed afterwards; the validation loader is
/// made at the first call, and so are the Evaluator's options: a config error there (eval.*) is
/// thrown by that call (the hook then warns and stops drawing).
std::function<TaggedImages(int64_t step)> make_validation_pictures(
    const Config& config, model::E2EModel model,
    std::shared_ptr<const data::RiskTargetSource> risk, const torch::Device& device,
    std::string scratch_dir);

}  // namespace rsd::pipeline
