#include "rsd/model/lift_splat.h"

#include <torch/torch.h>

#include <cmath>

#include "rsd/util/error.h"
#include "rsd/util/mixed_precision.h"

namespace rsd::model {
namespace {

int64_t ceil_div(int64_t a, int64_t b) { return (a + b - 1) / b; }

void check_geometry(const torch::Tensor& intrinsics, const torch::Tensor& img_aug,
                    const torch::Tensor& cam2ego) {
  RSD_CHECK(intrinsics.dim() == 4 && intrinsics.size(2) == 3 && intrinsics.size(3) == 3,
            "LiftSplat: intrinsics must be (B, N, 3, 3), got ", intrinsics.sizes());
  const auto batch_cameras = intrinsics.sizes().slice(0, 2);
  RSD_CHECK(img_aug.dim() == 4 && img_aug.sizes().slice(0, 2) == batch_cameras &&
                img_aug.size(2) == 3 && img_aug.size(3) == 3,
            "LiftSplat: img_aug must be (B, N, 3, 3) like intrinsics ", intrinsics.sizes(),
            ", got ", img_aug.sizes());
  RSD_CHECK(cam2ego.dim() == 4 && cam2ego.sizes().slice(0, 2) == batch_cameras &&
                cam2ego.size(2) == 4 && cam2ego.size(3) == 4,
            "LiftSplat: cam2ego must be (B, N, 4, 4) like intrinsics ", intrinsics.sizes(),
            ", got ", cam2ego.sizes());
}

bool same_geometry(const torch::Tensor& cached, const torch::Tensor& given) {
  // Meta tensors have no values to compare; their index is shape-only and cheap to rebuild.
  return cached.defined() && !given.is_meta() && cached.sizes() == given.sizes() &&
         cached.device() == given.device() && cached.scalar_type() == given.scalar_type() &&
         torch::equal(cached, given);
}

}  // namespace

// ----- options -------------------------------------------------------------------------------

int64_t LiftSplatOptions::depth_bins() const {
  // numpy arange's count; the tolerance keeps [1, 60, 0.5] at 118 bins despite rounding.
  return static_cast<int64_t>(std::ceil((depth_max() - depth_min()) / depth_step() - 1e-9));
}

int64_t LiftSplatOptions::feature_height() const { return ceil_div(image_height(), stride()); }

int64_t LiftSplatOptions::feature_width() const { return ceil_div(image_width(), stride()); }

// ----- geometry ------------------------------------------------------------------------------

torch::Tensor make_frustum(const LiftSplatOptions& options, torch::TensorOptions tensor_options) {
  const auto f64 = tensor_options.dtype(torch::kDouble);
  const double stride = static_cast<double>(options.stride());
  // Pixel u covers [u, u+1) (the convention of K and img_aug), so cell j covers
  // [j*stride, (j+1)*stride) and its centre is j*stride + stride/2.
  const double centre = stride / 2.0;
  const torch::Tensor u = torch::arange(options.feature_width(), f64) * stride + centre;
  const torch::Tensor v = torch::arange(options.feature_height(), f64) * stride + centre;
  const torch::Tensor d =
      torch::arange(options.depth_bins(), f64) * options.depth_step() + options.depth_min();
  const int64_t bins = options.depth_bins();
  const int64_t height = options.feature_height();
  const int64_t width = options.feature_width();
  return torch::stack({u.view({1, 1, width}).expand({bins, height, width}),
                       v.view({1, height, 1}).expand({bins, height, width}),
                       d.view({bins, 1, 1}).expand({bins, height, width})},
                      -1)
      .to(tensor_options);
}

torch::Tensor frustum_to_ego(const torch::Tensor& frustum, const torch::Tensor& intrinsics,
                             const torch::Tensor& img_aug, const torch::Tensor& cam2ego) {
  check_geometry(intrinsics, img_aug, cam2ego);
  RSD_CHECK(frustum.dim() == 4 && frustum.size(3) == 3,
            "LiftSplat: the frustum must be (D, fH, fW, 3), got ", frustum.sizes());
  const int64_t batch = intrinsics.size(0);
  const int64_t cameras = intrinsics.size(1);
  const torch::Tensor uvd = frustum.to(torch::kDouble).to(intrinsics.device());
  const torch::Tensor pixels = uvd.select(0, 0).clone();  // (fH, fW, 3): u, v of bin 0
  pixels.select(2, 2).fill_(1.0);                          // homogeneous (u, v, 1)
  const torch::Tensor depths = uvd.select(3, 2).select(2, 0).select(1, 0);  // (D)

  // Network-input pixel -> original pixel (undo the augmentation) -> camera ray with z = 1.
  const torch::Tensor to_original = torch::inverse(img_aug.to(torch::kDouble));
  torch::Tensor original = torch::einsum("bnij,hwj->bnhwi", {to_original, pixels});
  original = original / original.narrow(-1, 2, 1);
  torch::Tensor ray = torch::einsum("bnij,bnhwj->bnhwi",
                                    {torch::inverse(intrinsics.to(torch::kDouble)), original});
  ray = ray / ray.narrow(-1, 2, 1);
  // Camera -> ego: rotate the ray, scale by the bin's depth, add the camera's position.
  const torch::Tensor transform = cam2ego.to(torch::kDouble);
  const torch::Tensor rotation = transform.narrow(2, 0, 3).narrow(3, 0, 3);
  const torch::Tensor translation = transform.narrow(2, 0, 3).select(3, 3);  // (B, N, 3)
  const torch::Tensor direction = torch::einsum("bnij,bnhwj->bnhwi", {rotation, ray});
  const torch::Tensor points = direction.unsqueeze(2) * depths.view({1, 1, -1, 1, 1, 1}) +
                               translation.view({batch, cameras, 1, 1, 1, 3});
  return points.to(frustum.scalar_type());
}

// ----- module --------------------------------------------------------------------------------

LiftSplatImpl::LiftSplatImpl(LiftSplatOptions options_) : options(std::move(options_)) {
  RSD_CHECK(options.depth_bins() > 0 && options.context_channels() > 0 && options.stride() > 0,
            "LiftSplat: depth bins (", options.depth_bins(), "), context channels (",
            options.context_channels(), ") and stride (", options.stride(), ") must be positive");
  depth_net = register_module(
      "depth_net", torch::nn::Conv2d(torch::nn::Conv2dOptions(
                                         options.in_channels(),
                                         options.depth_bins() + options.context_channels(), 1)));
}

torch::Tensor LiftSplatImpl::ego_points(const torch::Tensor& intrinsics,
                                        const torch::Tensor& img_aug,
                                        const torch::Tensor& cam2ego, torch::Dtype dtype) const {
  // The camera matrices in `dtype` also under autocast (train.amp), which would run their
  // products in bf16/fp16 and move points across cell borders.
  const AutocastPause exact_geometry;
  return frustum_to_ego(make_frustum(options, intrinsics.options().dtype(dtype)), intrinsics,
                        img_aug, cam2ego);
}

ops::VoxelPoolIndex LiftSplatImpl::build_index(const torch::Tensor& intrinsics,
                                               const torch::Tensor& img_aug,
                                               const torch::Tensor& cam2ego,
                                               torch::Dtype dtype) const {
  torch::NoGradGuard no_grad;
  return ops::build_voxel_pool_index(ego_points(intrinsics, img_aug, cam2ego, dtype),
                                     options.grid());
}

const ops::VoxelPoolIndex& LiftSplatImpl::cached_index(const torch::Tensor& intrinsics,
                                                       const torch::Tensor& img_aug,
                                                       const torch::Tensor& cam2ego,
                                                       torch::Dtype dtype) {
  const bool reuse = index_.defined() && index_.cell_ptr.device() == intrinsics.device() &&
                     index_points_dtype_ == dtype && same_geometry(index_intrinsics_, intrinsics) &&
                     same_geometry(index_img_aug_, img_aug) &&
                     same_geometry(index_cam2ego_, cam2ego);
  if (!reuse) {
    index_ = build_index(intrinsics, img_aug, cam2ego, dtype);
    index_intrinsics_ = intrinsics.detach().clone();
    index_img_aug_ = img_aug.detach().clone();
    index_cam2ego_ = cam2ego.detach().clone();
    index_points_dtype_ = dtype;
  }
  return index_;
}

LiftSplatOutput LiftSplatImpl::forward(const torch::Tensor& features,
                                       const torch::Tensor& intrinsics,
                                       const torch::Tensor& img_aug,
                                       const torch::Tensor& cam2ego) {
  check_geometry(intrinsics, img_aug, cam2ego);
  const int64_t batch = intrinsics.size(0);
  const int64_t cameras = intrinsics.size(1);
  const int64_t height = options.feature_height();
  const int64_t width = options.feature_width();
  RSD_CHECK(features.dim() == 4 && features.size(0) == batch * cameras &&
                features.size(1) == options.in_channels() && features.size(2) == height &&
                features.size(3) == width,
            "LiftSplat: features must be (B*N, Cin, fH, fW) = (", batch * cameras, ", ",
            options.in_channels(), ", ", height, ", ", width, ") for a ", options.image_height(),
            "x", options.image_width(), " image at stride ", options.stride(), ", got ",
            features.sizes());
  const int64_t bins = options.depth_bins();
  const int64_t channels = options.context_channels();

  // The depth softmax and the pooling run in at least fp32, also when the depth net ran in
  // bf16/fp16 under autocast (train.amp): the pooling sums many products per cell.
  const torch::Tensor net_logits = depth_net->forward(features);  // (B*N, D + C, fH, fW)
  const torch::Tensor logits = at_least_float(net_logits);
  LiftSplatOutput output;
  output.depth = torch::softmax(logits.narrow(1, 0, bins), 1)
                     .reshape({batch, cameras, bins, height, width});
  // Channel-last context, the layout the pooling reads rows of.
  const torch::Tensor context = logits.narrow(1, bins, channels)
                                    .permute({0, 2, 3, 1})
                                    .reshape({batch, cameras, height, width, channels});
  const ops::VoxelPoolIndex& index =
      cached_index(intrinsics, img_aug, cam2ego, logits.scalar_type());
  output.bev = ops::voxel_pool(output.depth, context, index);
  return output;
}

}  // namespace rsd::model
