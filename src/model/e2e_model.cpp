#include "rsd/model/e2e_model.h"

#include <torch/torch.h>

#include "rsd/util/error.h"

namespace rsd::model {

E2EModelImpl::E2EModelImpl(E2EModelOptions options) : options_(std::move(options)) {
  const auto& o = options_;
  RSD_CHECK_EQ(o.lift.in_channels(), o.image_encoder.out_channels(),
               "LiftSplat input channels vs image encoder output channels");
  RSD_CHECK_EQ(o.lift.stride(), ImageEncoderImpl::stride(), "LiftSplat stride vs image encoder");
  RSD_CHECK_EQ(o.bev_encoder.in_channels(), o.lift.context_channels() * o.lift.grid().nz(),
               "BEV encoder input channels vs LiftSplat context_channels * nz");
  const int64_t bev_channels = o.bev_encoder.out_channels();
  RSD_CHECK_EQ(o.planning_head.bev_channels(), bev_channels, "planning head input channels");
  RSD_CHECK(o.planning_head.grid() == o.lift.grid(), "planning head grid ",
            o.planning_head.grid().to_string(), " vs LiftSplat grid ", o.lift.grid().to_string());
  if (o.detection_head) {
    RSD_CHECK_EQ(o.detection_head->in_channels(), bev_channels, "detection head input channels");
  }
  if (o.risk_head) {
    RSD_CHECK_EQ(o.risk_head->in_channels(), bev_channels, "risk head input channels");
    RSD_CHECK(o.risk_head->grid() == o.lift.grid(), "risk head grid ",
              o.risk_head->grid().to_string(), " vs LiftSplat grid ", o.lift.grid().to_string());
    RSD_CHECK(o.risk_head->view_channels() == 0 ||
                  o.risk_head->view_channels() == o.image_encoder.out_channels(),
              "risk head view channels ", o.risk_head->view_channels(),
              " vs image encoder output channels ", o.image_encoder.out_channels());
  }
  RSD_CHECK(!o.risk_attention_alpha || o.risk_head, "risk attention needs the risk head");

  image_encoder = register_module("image_encoder", ImageEncoder(o.image_encoder));
  lift = register_module("lift", LiftSplat(o.lift));
  bev_encoder = register_module("bev_encoder", BevEncoder(o.bev_encoder));
  if (o.detection_head) {
    detection_head = register_module("detection_head", DetectionHead(*o.detection_head));
  }
  planning_head = register_module("planning_head", PlanningHead(o.planning_head));
  if (o.risk_head) risk_head = register_module("risk_head", make_risk_head(*o.risk_head));
}

E2EOutput E2EModelImpl::forward_tensors(const torch::Tensor& images,
                                        const torch::Tensor& intrinsics,
                                        const torch::Tensor& img_aug, const torch::Tensor& cam2ego,
                                        const torch::Tensor& ego_status,
                                        const torch::Tensor& command) {
  RSD_CHECK(images.dim() == 5, "images must be (B, N, 3, H, W), got ", images.sizes());
  E2EOutput out;
  const torch::Tensor features = image_encoder(images.flatten(0, 1));  // (B*N, C, fH, fW)
  stage_done("image_encoder");
  LiftSplatOutput lifted = lift(features, intrinsics, img_aug, cam2ego);
  out.depth = lifted.depth;
  stage_done("lift_pool");
  out.bev = bev_encoder(lifted.bev);
  stage_done("bev_encoder");
  if (detection_head) out.detection = detection_head(out.bev);
  torch::Tensor planning_input = out.bev;
  if (risk_head) {
    CameraViews views;
    if (risk_head->uses_camera_views()) {
      views = CameraViews{features,          intrinsics,        img_aug, cam2ego,
                          lift->options.image_height(), lift->options.image_width(),
                          lift->options.stride()};
    }
    out.risk_logits = risk_head(out.bev, views);
    if (options_.risk_attention_alpha) {
      planning_input = apply_risk_attention(out.bev, out.risk_logits, *options_.risk_attention_alpha);
    }
  }
  out.waypoints = planning_head(planning_input, ego_status, command);
  stage_done("heads");
  return out;
}

E2EOutput E2EModelImpl::forward(const data::Batch& batch) {
  return forward_tensors(batch.images, batch.intrinsics, batch.img_aug, batch.cam2ego, batch.ego_status,
                 batch.command);
}

}  // namespace rsd::model
