#include "model/deformable_risk_head.h"

#include <torch/torch.h>

#include "model/risk_head_layers.h"
#include "rsd/model/blocks.h"
#include "rsd/model/positional_encoding.h"
#include "rsd/util/error.h"

namespace rsd::model {
namespace {

int64_t ceil_div(int64_t value, int64_t divisor) { return (value + divisor - 1) / divisor; }

}  // namespace

DeformableRiskHeadImpl::DeformableRiskHeadImpl(const RiskHeadOptions& options)
    : RiskHeadImpl(options) {
  const int64_t hidden = options.hidden();
  RSD_CHECK_GE(options.layers(), 1, "deformable risk head layers");
  RSD_CHECK_GE(options.downsample(), 1, "deformable risk head downsample (query stride)");
  RSD_CHECK(hidden % 4 == 0 && options.heads() > 0 && hidden % options.heads() == 0,
            "deformable risk head hidden ", hidden, " must be a multiple of 4 and of heads ",
            options.heads());
  RSD_CHECK(options.view_channels() > 0,
            "the deformable risk head attends to the camera views: view_channels (the image "
            "features' channels) must be set");
  projection_ = register_module("projection", conv_bn_relu(options.in_channels(), hidden, 1));
  const int64_t rows = ceil_div(options.grid().ny(), options.downsample());
  const int64_t cols = ceil_div(options.grid().nx(), options.downsample());
  query_embedding_ =
      register_parameter("query_embedding", torch::randn({hidden, rows, cols}) * 0.02);
  layers_ = register_module("layers", torch::nn::ModuleList());
  for (int64_t i = 0; i < options.layers(); ++i) {
    layers_->push_back(DeformableEncoderLayer(hidden, options.view_channels(), options.heads(),
                                              options.points(), options.pillar_heights()));
  }
  fuse_ = register_module("fuse", conv_bn_relu(2 * hidden, hidden, 3));
  logit_ = register_module("logit", logit_layer(hidden, options.init_bias()));
}

torch::Tensor DeformableRiskHeadImpl::predict(const torch::Tensor&) {
  throw Error("risk head 'deformable' attends to the cameras: call forward(bev, views)");
}

torch::Tensor DeformableRiskHeadImpl::predict_with_views(const torch::Tensor& bev,
                                                         const CameraViews& views) {
  const torch::Tensor full = projection_->forward(bev);
  const torch::Tensor pooled = average_pool(full, options().downsample());
  const int64_t batch = pooled.size(0), channels = pooled.size(1);
  const int64_t rows = pooled.size(2), cols = pooled.size(3);
  const torch::Tensor embedding =
      resize_to(query_embedding_.unsqueeze(0), rows, cols).to(pooled.scalar_type());
  torch::Tensor queries = (pooled + embedding).flatten(2).transpose(1, 2);  // (B, Q, C)
  const torch::Tensor position =
      bev_positional_encoding(options().grid(), rows, cols, channels, pooled.options())
          .flatten(1)
          .t()
          .unsqueeze(0);  // (1, Q, C)
  const PillarProjection pillars =
      project_query_pillars(options().grid(), rows, cols, options().pillar_heights(), views);
  for (const auto& layer : *layers_) {
    queries = layer->as<DeformableEncoderLayer>()->forward(queries, position, rows, cols,
                                                           views.features, pillars);
  }
  return fuse_with_context(fuse_, logit_, full,
                           queries.transpose(1, 2).reshape({batch, channels, rows, cols}));
}

}  // namespace rsd::model
