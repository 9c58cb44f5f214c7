// The RiskHead base, its registry and the built-in variants.
#include "rsd/model/risk_head.h"

#include <torch/nn.h>

#include "rsd/model/blocks.h"
#include "model/deformable_risk_head.h"
#include "model/risk_head_layers.h"
#include "rsd/model/positional_encoding.h"
#include "rsd/util/error.h"

namespace rsd::model {
namespace {

namespace F = torch::nn::functional;

/// `layers` 3x3 conv + BN + ReLU, then a 1x1 conv to one logit.
class ConvRiskHeadImpl : public RiskHeadImpl {
 public:
  explicit ConvRiskHeadImpl(const RiskHeadOptions& options) : RiskHeadImpl(options) {
    RSD_CHECK_GE(options.layers(), 1, "conv risk head layers");
    body_ = register_module("body", torch::nn::Sequential());
    int64_t channels = options.in_channels();
    for (int64_t i = 0; i < options.layers(); ++i) {
      append_conv_bn_relu(body_, channels, options.hidden(), 3);
      channels = options.hidden();
    }
    logit_ = register_module("logit", logit_layer(channels, options.init_bias()));
  }

 protected:
  torch::Tensor predict(const torch::Tensor& bev) override {
    return logit_(body_->forward(bev));
  }

 private:
  torch::nn::Sequential body_{nullptr};
  torch::nn::Conv2d logit_{nullptr};
};

/// Global context for the risk map: the features are projected, pooled by `downsample`, and the
/// pooled cells (with the sinusoidal encoding of their centres) attend to each other in `layers`
/// self-attention blocks; the result is upsampled, fused with the full-resolution projection and
/// turned into a logit.
class AttentionRiskHeadImpl : public RiskHeadImpl {
 public:
  explicit AttentionRiskHeadImpl(const RiskHeadOptions& options) : RiskHeadImpl(options) {
    const int64_t hidden = options.hidden();
    RSD_CHECK_GE(options.layers(), 1, "attention risk head layers");
    RSD_CHECK_GE(options.downsample(), 1, "attention risk head downsample");
    RSD_CHECK(hidden % 4 == 0 && options.heads() > 0 && hidden % options.heads() == 0,
              "attention risk head hidden ", hidden, " must be a multiple of 4 and of heads ",
              options.heads());
    projection_ = register_module("projection", conv_bn_relu(options.in_channels(), hidden, 1));
    layers_ = register_module("layers", torch::nn::ModuleList());
    for (int64_t i = 0; i < options.layers(); ++i) {
      layers_->push_back(AttentionBlock(hidden, options.heads()));
    }
    fuse_ = register_module("fuse", conv_bn_relu(2 * hidden, hidden, 3));
    logit_ = register_module("logit", logit_layer(hidden, options.init_bias()));
  }

 protected:
  torch::Tensor predict(const torch::Tensor& bev) override {
    const torch::Tensor full = projection_->forward(bev);
    const torch::Tensor pooled = average_pool(full, options().downsample());
    const int64_t batch = pooled.size(0), channels = pooled.size(1);
    const int64_t rows = pooled.size(2), cols = pooled.size(3);
    const torch::Tensor position =
        bev_positional_encoding(options().grid(), rows, cols, channels, pooled.options())
            .flatten(1)
            .transpose(0, 1)
            .unsqueeze(1);  // (L, 1, C)
    torch::Tensor tokens = pooled.flatten(2).permute({2, 0, 1});  // (L, B, C)
    for (const auto& layer : *layers_) {
      const torch::Tensor with_position = tokens + position;
      tokens = layer->as<AttentionBlock>()->forward(tokens, with_position, with_position, tokens);
    }
    return fuse_with_context(fuse_, logit_, full,
                             tokens.permute({1, 2, 0}).reshape({batch, channels, rows, cols}));
  }

 private:
  torch::nn::Sequential projection_{nullptr}, fuse_{nullptr};
  torch::nn::ModuleList layers_{nullptr};
  torch::nn::Conv2d logit_{nullptr};
};

void register_builtin_risk_heads(RiskHeadRegistry& registry) {
  registry.add("conv", [](const RiskHeadOptions& options) {
    return std::make_shared<ConvRiskHeadImpl>(options);
  });
  registry.add("attention", [](const RiskHeadOptions& options) {
    return std::make_shared<AttentionRiskHeadImpl>(options);
  });
  registry.add("deformable", [](const RiskHeadOptions& options) {
    return std::make_shared<DeformableRiskHeadImpl>(options);
  });
}

}  // namespace

torch::Tensor resize_to(const torch::Tensor& map, int64_t rows, int64_t cols) {
  if (map.size(2) == rows && map.size(3) == cols) return map;
  return F::interpolate(map, F::InterpolateFuncOptions()
                                 .size(std::vector<int64_t>{rows, cols})
                                 .mode(torch::kBilinear)
                                 .align_corners(false));
}

torch::nn::Conv2d logit_layer(int64_t in_channels, double init_bias) {
  torch::nn::Conv2d layer(torch::nn::Conv2dOptions(in_channels, 1, 1));
  torch::NoGradGuard no_grad;
  layer->bias.fill_(init_bias);
  return layer;
}

torch::Tensor average_pool(const torch::Tensor& map, int64_t factor) {
  if (factor == 1) return map;
  return F::avg_pool2d(
      map, F::AvgPool2dFuncOptions(factor).stride(factor).ceil_mode(true).count_include_pad(false));
}

torch::Tensor fuse_with_context(torch::nn::Sequential& fuse, torch::nn::Conv2d& logit,
                                const torch::Tensor& full, const torch::Tensor& context) {
  const torch::Tensor upsampled = resize_to(context, full.size(2), full.size(3));
  return logit(fuse->forward(torch::cat({full, upsampled.to(full.scalar_type())}, 1)));
}

RiskHeadImpl::RiskHeadImpl(RiskHeadOptions options) : options_(std::move(options)) {
  RSD_CHECK(options_.in_channels() > 0 && options_.hidden() > 0,
            "risk head channels must be positive");
}

torch::Tensor RiskHeadImpl::predict_with_views(const torch::Tensor& bev, const CameraViews&) {
  return predict(bev);
}

torch::Tensor RiskHeadImpl::forward(const torch::Tensor& bev, const CameraViews& views) {
  RSD_CHECK(bev.dim() == 4 && bev.size(1) == options_.in_channels(),
            "risk head input must be BEV features (B, ", options_.in_channels(),
            ", Y, X), got ", bev.sizes());
  torch::Tensor logits;
  if (uses_camera_views()) {
    RSD_CHECK(views.defined(), "risk head '", options_.type(),
              "' attends to the cameras: pass the camera views (image features and geometry) "
              "to forward(bev, views)");
    RSD_CHECK(views.features.dim() == 4 && views.features.size(1) == options_.view_channels() &&
                  views.intrinsics.dim() == 4 && views.intrinsics.size(0) == bev.size(0) &&
                  views.features.size(0) == bev.size(0) * views.intrinsics.size(1),
              "risk head '", options_.type(), "': camera view features must be (B*N, ",
              options_.view_channels(), ", fH, fW) for B = ", bev.size(0),
              " and intrinsics (B, N, 3, 3); got features ", views.features.sizes(),
              " and intrinsics ", views.intrinsics.sizes());
    logits = predict_with_views(bev, views);
  } else {
    logits = predict(bev);
  }
  RSD_CHECK(logits.dim() == 4 && logits.size(0) == bev.size(0) && logits.size(1) == 1,
            "risk head variant '", options_.type(), "' returned ", logits.sizes(),
            " instead of (B, 1, Y, X)");
  return resize_to(logits, options_.grid().ny(), options_.grid().nx());
}

RiskHeadRegistry& risk_heads() {
  // Built-ins are added here, on first use, not by static initialisers (see registry.h).
  static RiskHeadRegistry registry("risk head");
  static const bool builtins_added = (register_builtin_risk_heads(registry), true);
  (void)builtins_added;
  return registry;
}

RiskHead make_risk_head(const RiskHeadOptions& options) {
  return RiskHead(risk_heads().create(options.type(), options));
}

torch::Tensor apply_risk_attention(const torch::Tensor& bev, const torch::Tensor& risk_logits,
                                   double alpha) {
  RSD_CHECK(bev.dim() == 4 && risk_logits.dim() == 4 && risk_logits.size(1) == 1 &&
                risk_logits.size(0) == bev.size(0),
            "risk attention needs bev (B, C, Y, X) and risk logits (B, 1, Y', X'), got ",
            bev.sizes(), " and ", risk_logits.sizes());
  const torch::Tensor risk =
      torch::sigmoid(resize_to(risk_logits, bev.size(2), bev.size(3))).to(bev.dtype());
  return bev * (1.0 + alpha * risk);
}

}  // namespace rsd::model
