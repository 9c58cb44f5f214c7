// E2EModel: the whole camera-to-plan network. Six (N) cameras -> ImageEncoder -> LiftSplat (voxel
// pooling) -> BevEncoder -> DetectionHead, PlanningHead and the optional RiskHead plug-in.
#pragma once

#include <functional>

#include <torch/nn/module.h>
#include <torch/nn/pimpl.h>
#include <torch/types.h>

#include <optional>

#include "rsd/data/batch.h"
#include "rsd/model/bev_encoder.h"
#include "rsd/model/detection_head.h"
#include "rsd/model/image_encoder.h"
#include "rsd/model/lift_splat.h"
#include "rsd/model/planning_head.h"
#include "rsd/model/risk_head.h"

namespace rsd::model {

struct E2EModelOptions {
  ImageEncoderOptions image_encoder;
  LiftSplatOptions lift;
  BevEncoderOptions bev_encoder;
  std::optional<DetectionHeadOptions> detection_head;  // nullopt: no detection head
  PlanningHeadOptions planning_head;
  std::optional<RiskHeadOptions> risk_head;            // nullopt: no RiskHead (empty holder)
  /// alpha of apply_risk_attention on the planning head's BEV input; needs risk_head.
  std::optional<double> risk_attention_alpha;
};

struct E2EOutput {
  torch::Tensor bev;          // (B, C_bev, Y, X) BEV encoder features
  torch::Tensor depth;        // (B, N, D, fH, fW) LiftSplat's depth distribution
  DetectionOutput detection;  // undefined tensors without a detection head
  torch::Tensor waypoints;    // (B, T, 2) metres, (augmented) ego frame
  torch::Tensor risk_logits;  // (B, 1, Y, X); undefined without a RiskHead
};

class E2EModelImpl : public torch::nn::Module {
 public:
  /// Throws rsd::Error when the modules' options disagree (channels, grids, strides).
  explicit E2EModelImpl(E2EModelOptions options);

  /// A collated batch (its images, intrinsics, img_aug, cam2ego, ego_status and command) -> the
  /// outputs of every module.
  E2EOutput forward(const data::Batch& batch);

  /// The same from tensors: images (B, N, 3, H, W) normalised as data::Sample documents;
  /// intrinsics, img_aug (B, N, 3, 3); cam2ego (B, N, 4, 4); ego_status (B, ego_status_dim);
  /// command (B) int64. (Not an overload of forward: ModuleHolder's operator() needs one forward.)
  E2EOutput forward_tensors(const torch::Tensor& images, const torch::Tensor& intrinsics,
                            const torch::Tensor& img_aug, const torch::Tensor& cam2ego,
                            const torch::Tensor& ego_status, const torch::Tensor& command);

  const E2EModelOptions& options() const { return options_; }

  /// Called after each stage of forward with its name ("image_encoder", "lift_pool",
  /// "bev_encoder", "heads"): a profiler's hook (rsd_bench train); empty by default.
  void set_stage_callback(std::function<void(const char* stage)> callback) {
    stage_callback_ = std::move(callback);
  }

  // Submodules, registered under these names (parameter prefixes "image_encoder.", "lift.", ...,
  // e.g. for a backbone learning-rate multiplier).
  ImageEncoder image_encoder{nullptr};
  LiftSplat lift{nullptr};
  BevEncoder bev_encoder{nullptr};
  DetectionHead detection_head{nullptr};
  PlanningHead planning_head{nullptr};
  RiskHead risk_head{nullptr};

 private:
  void stage_done(const char* stage) const {
    if (stage_callback_) stage_callback_(stage);
  }
  E2EModelOptions options_;
  std::function<void(const char*)> stage_callback_;
};
TORCH_MODULE(E2EModel);

}  // namespace rsd::model
