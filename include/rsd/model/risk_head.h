// RiskHead, the RSD plug-in: predicts the teacher's BEV risk map from any model's BEV features.
//
// The conv and attention variants need only the BEV tensor and the GridSpec it covers, so they plug
// into any BEV model; the deformable variant (the paper's head) also attends to the camera views
// (rsd/model/camera_views.h), which the model passes as forward's second argument. A model that
// does not use a RiskHead holds an empty holder (`RiskHead risk_head{nullptr};`): no parameters,
// no compute. Variants are picked by `type` through risk_heads(), which users can extend:
//
//   rsd::model::risk_heads().add("mine", [](const rsd::model::RiskHeadOptions& options) {
//     return std::make_shared<MyRiskHeadImpl>(options);  // derives from RiskHeadImpl
//   });
//   auto head = rsd::model::make_risk_head(options.type("mine"));
//
// docs/model.md shows the whole plug-in (head + RiskDistillationLoss) in a few lines.
#pragma once

#include <torch/arg.h>
#include <torch/nn/module.h>
#include <torch/nn/pimpl.h>
#include <torch/types.h>

#include <cstdint>
#include <memory>
#include <string>

#include "rsd/geometry/grid_spec.h"
#include "rsd/model/camera_views.h"
#include "rsd/util/registry.h"

namespace rsd::model {

struct RiskHeadOptions {
  RiskHeadOptions(int64_t in_channels, GridSpec grid) : in_channels_(in_channels), grid_(grid) {}
  /// Channels of the BEV features.
  TORCH_ARG(int64_t, in_channels);
  /// The grid of the risk targets; the BEV features cover its x-y extent.
  TORCH_ARG(GridSpec, grid);
  /// Variant, a key of risk_heads(): "conv", "attention" or "deformable" built in.
  TORCH_ARG(std::string, type) = "conv";
  TORCH_ARG(int64_t, hidden) = 64;
  /// conv: 3x3 conv layers; attention: self-attention layers; deformable: encoder layers (BEV
  /// deformable self-attention, cross-view deformable attention, feed-forward).
  TORCH_ARG(int64_t, layers) = 2;
  /// attention, deformable: heads of each attention layer (hidden must be a multiple of it and
  /// of 4).
  TORCH_ARG(int64_t, heads) = 4;
  /// attention: the BEV is average-pooled by this factor before the self-attention, whose cost
  /// grows with the square of the token count (Y/d * X/d); deformable: the stride of the query
  /// grid (one query per d x d cells), whose cost grows linearly with the token count.
  TORCH_ARG(int64_t, downsample) = 4;
  /// deformable: sampling points per head, per reference point (K of Deformable DETR).
  TORCH_ARG(int64_t, points) = 4;
  /// deformable: reference heights of each query's pillar, evenly spread over the grid's z range
  /// (BEVFormer's Z anchors), projected into every camera.
  TORCH_ARG(int64_t, pillar_heights) = 4;
  /// Channels of the camera views' image features; 0 when the model passes no views. Needed by
  /// variants that attend to the cameras (deformable).
  TORCH_ARG(int64_t, view_channels) = 0;
  /// Initial bias of the output logit: sigmoid(-2.19) = 0.1, a prior for sparse risk maps.
  TORCH_ARG(double, init_bias) = -2.19;
};

/// Base of the RiskHead variants.
class RiskHeadImpl : public torch::nn::Module {
 public:
  explicit RiskHeadImpl(RiskHeadOptions options);

  /// bev (B, in_channels, Y', X') covering the grid's x-y extent (row <-> y, column <-> x, as on
  /// the grid) -> risk logits (B, 1, ny, nx) on the grid; sigmoid gives the risk map in [0, 1].
  /// Features at another resolution than the grid's have their logits resized bilinearly.
  /// `views` (the image features and camera geometry of the same batch) are read by variants
  /// whose uses_camera_views() is true and ignored by the others; such a variant throws
  /// rsd::Error when they are missing.
  torch::Tensor forward(const torch::Tensor& bev, const CameraViews& views = {});

  const RiskHeadOptions& options() const { return options_; }

  /// Whether forward needs the camera views (false for BEV-only variants).
  virtual bool uses_camera_views() const { return false; }

 protected:
  /// The variant's logits (B, 1, Y', X') at the input's resolution; the input is checked.
  virtual torch::Tensor predict(const torch::Tensor& bev) = 0;
  /// The same for variants that attend to the cameras (called when uses_camera_views(); the views
  /// are checked against the BEV's batch and options().view_channels()). Default: predict(bev).
  virtual torch::Tensor predict_with_views(const torch::Tensor& bev, const CameraViews& views);

 private:
  RiskHeadOptions options_;
};
TORCH_MODULE(RiskHead);

using RiskHeadRegistry = Registry<std::shared_ptr<RiskHeadImpl>, const RiskHeadOptions&>;

/// The RiskHead variants by type; "conv" and "attention" are registered on first use.
RiskHeadRegistry& risk_heads();

/// The variant options.type() from risk_heads(). Throws rsd::ConfigError listing the known
/// types when it is unknown.
RiskHead make_risk_head(const RiskHeadOptions& options);

/// Risk attention: bev * (1 + alpha * sigmoid(risk_logits)), which amplifies the features of
/// risky cells (e.g. those fed to the planning head). bev (B, C, Y, X); risk_logits (B, 1, Y', X'),
/// resized bilinearly to Y, X when they differ. Gradients flow into both inputs.
torch::Tensor apply_risk_attention(const torch::Tensor& bev, const torch::Tensor& risk_logits,
                                   double alpha);

}  // namespace rsd::model
