// The deformable RiskHead (the RSD paper's head, `model.risk_head.type: deformable`): BEV queries
// attend, through deformable attention, to the BEV around them and to the six camera views their
// pillars project into (BEVFormer's encoder without the temporal part). docs/model.md compares
// it with the conv and attention variants.
#pragma once

#include <torch/nn/modules/container/modulelist.h>
#include <torch/nn/modules/container/sequential.h>
#include <torch/nn/modules/conv.h>

#include "rsd/model/deformable_encoder.h"
#include "rsd/model/risk_head.h"

namespace rsd::model {

/// The BEV is projected to `hidden` channels at full resolution and average-pooled by
/// `downsample` into the query grid; each query adds a learned embedding. `layers` encoder layers
/// (BEV deformable self-attention, cross-view deformable attention over `pillar_heights`
/// reference heights, feed-forward), then the queries are upsampled, fused with the full-resolution
/// projection (3x3 conv) and turned into the logit, as the attention variant does.
class DeformableRiskHeadImpl : public RiskHeadImpl {
 public:
  explicit DeformableRiskHeadImpl(const RiskHeadOptions& options);

  bool uses_camera_views() const override { return true; }

 protected:
  /// Throws: this variant needs the camera views (RiskHeadImpl::forward checks it first).
  torch::Tensor predict(const torch::Tensor& bev) override;
  torch::Tensor predict_with_views(const torch::Tensor& bev, const CameraViews& views) override;

 private:
  torch::nn::Sequential projection_{nullptr}, fuse_{nullptr};
  torch::Tensor query_embedding_;  // (hidden, Qy, Qx) at the grid's query size
  torch::nn::ModuleList layers_{nullptr};
  torch::nn::Conv2d logit_{nullptr};
};

}  // namespace rsd::model
