// The layers of the deformable RiskHead, usable in any BEV model: BEV deformable self-attention
// (Deformable DETR over one BEV level) and cross-view deformable attention (BEVFormer's spatial
// cross-attention without the temporal part), both on rsd::ops::multi_scale_deformable_attention,
// and the encoder layer joining them.
#pragma once

#include <torch/nn/module.h>
#include <torch/nn/modules/linear.h>
#include <torch/nn/modules/normalization.h>
#include <torch/nn/modules/container/sequential.h>
#include <torch/nn/pimpl.h>
#include <torch/types.h>

#include <cstdint>

#include "rsd/geometry/grid_spec.h"
#include "rsd/model/camera_views.h"

namespace rsd::model {

/// Each query samples `points` learned offsets around its reference point in the query grid
/// itself (the BEV at the query stride), `heads` heads with softmax weights.
class BevDeformableSelfAttentionImpl : public torch::nn::Module {
 public:
  BevDeformableSelfAttentionImpl(int64_t channels, int64_t heads, int64_t points);

  /// query (B, Qy*Qx, C) the value too, row-major over the query grid; position (1 or B,
  /// Qy*Qx, C) added to the query for offsets and weights -> (B, Qy*Qx, C), before the residual.
  torch::Tensor forward(const torch::Tensor& query, const torch::Tensor& position, int64_t rows,
                        int64_t cols);

 private:
  int64_t heads_, points_;
  torch::nn::Linear value_{nullptr}, offsets_{nullptr}, weights_{nullptr}, output_{nullptr};
};
TORCH_MODULE(BevDeformableSelfAttention);

/// Where each query's pillar lands in the cameras.
struct PillarProjection {
  torch::Tensor locations;  // (B, N, Q, Z, 2) (x, y) normalised over the image feature map
  torch::Tensor visible;    // (B, N, Q, Z) bool: in front of the camera and inside its image
};

/// The pillars of a rows x cols query grid over the grid's x-y extent (query q = row * cols +
/// col at its cell's centre), each with `heights` reference points evenly spread over the grid's
/// z range (cell centres of `heights` equal slices), projected into the views' cameras
/// (rsd::project_to_images) and normalised over their feature maps (0 and 1 are the map's edges;
/// a map of fW cells spans fW * stride pixels). Float, on the views' device.
PillarProjection project_query_pillars(const GridSpec& grid, int64_t rows, int64_t cols,
                                       int64_t heights, const CameraViews& views);

/// Each query samples, in every camera its pillar is visible in, `points` learned offsets around
/// each of the pillar's Z projections (the same offsets in every camera); the cameras' results are
/// averaged over the cameras that see the query (BEVFormer's spatial cross-attention).
class CrossViewDeformableAttentionImpl : public torch::nn::Module {
 public:
  CrossViewDeformableAttentionImpl(int64_t channels, int64_t view_channels, int64_t heads,
                                   int64_t points, int64_t pillar_heights);

  /// query (B, Q, C); position (1 or B, Q, C); features (B*N, view_channels, fH, fW) camera-major;
  /// pillars for the same B, N, Q -> (B, Q, C), before the residual; zero for a query no camera
  /// sees.
  torch::Tensor forward(const torch::Tensor& query, const torch::Tensor& position,
                        const torch::Tensor& features, const PillarProjection& pillars);

 private:
  int64_t heads_, points_, pillar_heights_;
  torch::nn::Linear value_{nullptr}, offsets_{nullptr}, weights_{nullptr}, output_{nullptr};
};
TORCH_MODULE(CrossViewDeformableAttention);

/// Post-norm encoder layer (BEVFormer's order): BEV self-attention, cross-view attention,
/// feed-forward, each added to its input and layer-normalised.
class DeformableEncoderLayerImpl : public torch::nn::Module {
 public:
  DeformableEncoderLayerImpl(int64_t channels, int64_t view_channels, int64_t heads,
                             int64_t points, int64_t pillar_heights);

  /// query (B, Qy*Qx, C) -> (B, Qy*Qx, C); the rest as the two attentions take it.
  torch::Tensor forward(const torch::Tensor& query, const torch::Tensor& position, int64_t rows,
                        int64_t cols, const torch::Tensor& features,
                        const PillarProjection& pillars);

 private:
  BevDeformableSelfAttention self_attention_{nullptr};
  CrossViewDeformableAttention cross_attention_{nullptr};
  torch::nn::Sequential feed_forward_{nullptr};
  torch::nn::LayerNorm self_norm_{nullptr}, cross_norm_{nullptr}, feed_forward_norm_{nullptr};
};
TORCH_MODULE(DeformableEncoderLayer);

}  // namespace rsd::model
