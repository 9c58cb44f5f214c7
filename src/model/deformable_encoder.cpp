#include "rsd/model/deformable_encoder.h"

#include <torch/nn/init.h>
#include <torch/nn/modules/activation.h>
#include <torch/torch.h>

#include <cmath>

#include "rsd/geometry/image_projection.h"
#include "rsd/model/positional_encoding.h"
#include "rsd/ops/deformable_attention.h"
#include "rsd/util/error.h"

namespace rsd::model {
namespace {

void check_heads(int64_t channels, int64_t heads, int64_t points) {
  RSD_CHECK(channels > 0 && heads > 0 && channels % heads == 0, "deformable attention channels ",
            channels, " must be a positive multiple of heads ", heads);
  RSD_CHECK_GE(points, 1, "deformable attention points");
}

void init_projection(torch::nn::Linear& layer) {
  torch::NoGradGuard no_grad;
  torch::nn::init::xavier_uniform_(layer->weight);
  layer->bias.zero_();
}

/// Deformable DETR's start: offsets do not depend on the query yet (zero weight); head h looks
/// along direction 2*pi*h/heads, its k-th point k+1 cells out (in each of `groups` groups, e.g.
/// the pillar heights), so the heads start spread around the reference point. The attention
/// weights start uniform (zero weight and bias).
void init_offsets_and_weights(torch::nn::Linear& offsets, torch::nn::Linear& weights,
                              int64_t heads, int64_t groups, int64_t points) {
  torch::NoGradGuard no_grad;
  offsets->weight.zero_();
  const auto real = offsets->bias.options();
  const torch::Tensor angle = torch::arange(heads, real) * (2.0 * M_PI / static_cast<double>(heads));
  torch::Tensor direction = torch::stack({angle.cos(), angle.sin()}, 1);           // (H, 2)
  direction = direction / std::get<0>(direction.abs().max(1, /*keepdim=*/true));  // on the square
  const torch::Tensor distance = torch::arange(1, points + 1, real);               // (K)
  const torch::Tensor bias = direction.view({heads, 1, 1, 2}) * distance.view({1, 1, points, 1});
  offsets->bias.copy_(bias.expand({heads, groups, points, 2}).reshape(-1));
  weights->weight.zero_();
  weights->bias.zero_();
}

}  // namespace

PillarProjection project_query_pillars(const GridSpec& grid, int64_t rows, int64_t cols,
                                       int64_t heights, const CameraViews& views) {
  RSD_CHECK(rows > 0 && cols > 0 && heights > 0, "query pillars: ", rows, " x ", cols,
            " queries, ", heights, " heights");
  RSD_CHECK(views.defined() && views.features.dim() == 4 && views.stride > 0,
            "query pillars need camera views with (B*N, C, fH, fW) features and a stride");
  const auto real = views.intrinsics.options().dtype(torch::kFloat);
  // (Q, Z, 3): every query cell's centre at each reference height, query-major.
  const torch::Tensor centres = bev_cell_centres(grid, rows, cols, real).flatten(1).t();  // (Q, 2)
  const double z_step = (grid.z().max - grid.z().min) / static_cast<double>(heights);
  const torch::Tensor zs = torch::arange(heights, real) * z_step + (grid.z().min + 0.5 * z_step);
  const int64_t queries = rows * cols;
  const torch::Tensor points =
      torch::cat({centres.unsqueeze(1).expand({queries, heights, 2}),
                  zs.view({1, heights, 1}).expand({queries, heights, 1})},
                 2);
  const ImageProjection projection =
      project_to_images(points.view({queries * heights, 3}), views.intrinsics, views.img_aug,
                        views.cam2ego, views.image_height, views.image_width);
  const int64_t batch = views.intrinsics.size(0), cameras = views.intrinsics.size(1);
  const torch::Tensor map_extent =
      torch::tensor({static_cast<double>(views.stride * views.features.size(3)),
                     static_cast<double>(views.stride * views.features.size(2))},
                    real);
  PillarProjection pillars;
  pillars.locations = (projection.pixels / map_extent).view({batch, cameras, queries, heights, 2});
  pillars.visible = projection.visible.view({batch, cameras, queries, heights});
  return pillars;
}

BevDeformableSelfAttentionImpl::BevDeformableSelfAttentionImpl(int64_t channels, int64_t heads,
                                                               int64_t points)
    : heads_(heads), points_(points) {
  check_heads(channels, heads, points);
  value_ = register_module("value", torch::nn::Linear(channels, channels));
  offsets_ = register_module("offsets", torch::nn::Linear(channels, heads * points * 2));
  weights_ = register_module("weights", torch::nn::Linear(channels, heads * points));
  output_ = register_module("output", torch::nn::Linear(channels, channels));
  init_projection(value_);
  init_projection(output_);
  init_offsets_and_weights(offsets_, weights_, heads, 1, points);
}

torch::Tensor BevDeformableSelfAttentionImpl::forward(const torch::Tensor& query,
                                                      const torch::Tensor& position, int64_t rows,
                                                      int64_t cols) {
  const int64_t batch = query.size(0), queries = query.size(1), channels = query.size(2);
  RSD_CHECK_EQ(queries, rows * cols, "BEV self-attention queries vs query grid");
  const torch::Tensor with_position = query + position;
  const torch::Tensor value = value_(query).view({batch, queries, heads_, channels / heads_});
  // Reference points: the query cells' centres, normalised over the query grid.
  const auto real = torch::TensorOptions().dtype(torch::kFloat).device(query.device());
  const torch::Tensor xs = (torch::arange(cols, real) + 0.5) / static_cast<double>(cols);
  const torch::Tensor ys = (torch::arange(rows, real) + 0.5) / static_cast<double>(rows);
  const torch::Tensor reference =
      torch::stack({xs.unsqueeze(0).expand({rows, cols}), ys.unsqueeze(1).expand({rows, cols})}, 2)
          .view({1, queries, 1, 1, 1, 2});
  const torch::Tensor cells = torch::tensor({static_cast<double>(cols), static_cast<double>(rows)},
                                            real);  // offsets are in query cells
  const torch::Tensor locations =
      reference + offsets_(with_position).to(torch::kFloat).view({batch, queries, heads_, 1,
                                                                  points_, 2}) / cells;
  const torch::Tensor weights = torch::softmax(
      weights_(with_position).to(torch::kFloat).view({batch, queries, heads_, 1, points_}), -1);
  const torch::Tensor attended =
      ops::multi_scale_deformable_attention(value, {ops::LevelShape{rows, cols}}, locations,
                                               weights);
  return output_(attended.to(query.scalar_type()));
}

CrossViewDeformableAttentionImpl::CrossViewDeformableAttentionImpl(int64_t channels,
                                                                   int64_t view_channels,
                                                                   int64_t heads, int64_t points,
                                                                   int64_t pillar_heights)
    : heads_(heads), points_(points), pillar_heights_(pillar_heights) {
  check_heads(channels, heads, points);
  RSD_CHECK(view_channels > 0 && pillar_heights > 0, "cross-view attention: view channels (",
            view_channels, ") and pillar heights (", pillar_heights, ") must be positive");
  const int64_t samples = heads * pillar_heights * points;
  value_ = register_module("value", torch::nn::Linear(view_channels, channels));
  offsets_ = register_module("offsets", torch::nn::Linear(channels, samples * 2));
  weights_ = register_module("weights", torch::nn::Linear(channels, samples));
  output_ = register_module("output", torch::nn::Linear(channels, channels));
  init_projection(value_);
  init_projection(output_);
  init_offsets_and_weights(offsets_, weights_, heads, pillar_heights, points);
}

torch::Tensor CrossViewDeformableAttentionImpl::forward(const torch::Tensor& query,
                                                        const torch::Tensor& position,
                                                        const torch::Tensor& features,
                                                        const PillarProjection& pillars) {
  const int64_t batch = query.size(0), queries = query.size(1), channels = query.size(2);
  const int64_t cameras = pillars.locations.size(1);
  const int64_t rows = features.size(2), cols = features.size(3);
  const int64_t heights = pillar_heights_, samples = heights * points_;
  RSD_CHECK(pillars.locations.dim() == 5 && pillars.locations.size(0) == batch &&
                pillars.locations.size(2) == queries && pillars.locations.size(3) == heights,
            "cross-view attention: pillar locations must be (B, N, Q, ", heights, ", 2), got ",
            pillars.locations.sizes());
  RSD_CHECK_EQ(features.size(0), batch * cameras, "cross-view attention feature maps vs B*N");

  // (B*N, fH*fW, H, Dh): every camera's feature map is one value map.
  const torch::Tensor value = value_(features.flatten(2).transpose(1, 2))
                                  .view({batch * cameras, rows * cols, heads_, channels / heads_});
  const torch::Tensor with_position = query + position;
  const torch::Tensor cells =
      torch::tensor({static_cast<double>(cols), static_cast<double>(rows)},
                    pillars.locations.options());  // offsets are in feature cells
  const torch::Tensor offsets =
      offsets_(with_position).to(pillars.locations.scalar_type())
          .view({batch, 1, queries, heads_, heights, points_, 2}) / cells;
  const torch::Tensor locations =
      (pillars.locations.view({batch, cameras, queries, 1, heights, 1, 2}) + offsets)
          .view({batch * cameras, queries, heads_, 1, samples, 2});
  // Softmax over all of a head's samples (every height), then the samples a camera cannot see
  // weigh zero there: an invisible camera adds nothing and a query's weights stay comparable.
  const torch::Tensor weights =
      torch::softmax(weights_(with_position).to(pillars.locations.scalar_type())
                         .view({batch, 1, queries, heads_, samples}), -1)
          .view({batch, 1, queries, heads_, heights, points_}) *
      pillars.visible.to(pillars.locations.scalar_type())
          .view({batch, cameras, queries, 1, heights, 1});
  const torch::Tensor per_camera =
      ops::multi_scale_deformable_attention(value, {ops::LevelShape{rows, cols}}, locations,
                                weights.reshape({batch * cameras, queries, heads_, 1, samples}))
          .view({batch, cameras, queries, channels});
  const torch::Tensor seen_by =
      pillars.visible.any(3).sum(1).clamp_min(1).to(per_camera.scalar_type());  // (B, Q)
  return output_((per_camera.sum(1) / seen_by.unsqueeze(2)).to(query.scalar_type()));
}

DeformableEncoderLayerImpl::DeformableEncoderLayerImpl(int64_t channels, int64_t view_channels,
                                                       int64_t heads, int64_t points,
                                                       int64_t pillar_heights) {
  const auto norm = [channels] {
    return torch::nn::LayerNorm(torch::nn::LayerNormOptions({channels}));
  };
  self_attention_ = register_module("self_attention",
                                    BevDeformableSelfAttention(channels, heads, points));
  self_norm_ = register_module("self_norm", norm());
  cross_attention_ = register_module(
      "cross_attention",
      CrossViewDeformableAttention(channels, view_channels, heads, points, pillar_heights));
  cross_norm_ = register_module("cross_norm", norm());
  feed_forward_ = register_module(
      "feed_forward", torch::nn::Sequential(torch::nn::Linear(channels, 2 * channels),
                                            torch::nn::ReLU(),
                                            torch::nn::Linear(2 * channels, channels)));
  feed_forward_norm_ = register_module("feed_forward_norm", norm());
}

torch::Tensor DeformableEncoderLayerImpl::forward(const torch::Tensor& query,
                                                  const torch::Tensor& position, int64_t rows,
                                                  int64_t cols, const torch::Tensor& features,
                                                  const PillarProjection& pillars) {
  torch::Tensor x = self_norm_(query + self_attention_(query, position, rows, cols));
  x = cross_norm_(x + cross_attention_(x, position, features, pillars));
  return feed_forward_norm_(x + feed_forward_->forward(x));
}

}  // namespace rsd::model
