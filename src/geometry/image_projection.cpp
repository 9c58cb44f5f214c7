#include "rsd/geometry/image_projection.h"

#include <torch/torch.h>

#include "rsd/util/error.h"

namespace rsd {

ImageProjection project_to_images(const torch::Tensor& points, const torch::Tensor& intrinsics,
                                  const torch::Tensor& img_aug, const torch::Tensor& cam2ego,
                                  int64_t image_height, int64_t image_width, double min_depth) {
  RSD_CHECK(intrinsics.dim() == 4 && intrinsics.size(2) == 3 && intrinsics.size(3) == 3,
            "image projection: intrinsics must be (B, N, 3, 3), got ", intrinsics.sizes());
  const int64_t batch = intrinsics.size(0), cameras = intrinsics.size(1);
  RSD_CHECK(img_aug.sizes() == intrinsics.sizes(),
            "image projection: img_aug must be (B, N, 3, 3) like intrinsics, got ", img_aug.sizes());
  RSD_CHECK(cam2ego.dim() == 4 && cam2ego.size(0) == batch && cam2ego.size(1) == cameras &&
                cam2ego.size(2) == 4 && cam2ego.size(3) == 4,
            "image projection: cam2ego must be (B, N, 4, 4), got ", cam2ego.sizes());
  RSD_CHECK((points.dim() == 2 || (points.dim() == 3 && points.size(0) == batch)) &&
                points.size(-1) == 3,
            "image projection: points must be (P, 3) or (B, P, 3), got ", points.sizes());
  RSD_CHECK(image_height > 0 && image_width > 0, "image projection: image size ", image_height,
            " x ", image_width);
  torch::NoGradGuard no_grad;
  const auto real = intrinsics.options().dtype(torch::kDouble);
  torch::Tensor ego = points.to(real);
  if (ego.dim() == 2) ego = ego.unsqueeze(0).expand({batch, ego.size(0), 3});
  const torch::Tensor ego2cam = torch::inverse(cam2ego.to(torch::kDouble));  // (B, N, 4, 4)
  const torch::Tensor rotation = ego2cam.narrow(2, 0, 3).narrow(3, 0, 3);
  const torch::Tensor translation = ego2cam.narrow(2, 0, 3).select(3, 3);  // (B, N, 3)
  const torch::Tensor camera = torch::einsum("bnij,bpj->bnpi", {rotation, ego}) +
                               translation.unsqueeze(2);  // (B, N, P, 3)
  const torch::Tensor depth = camera.select(3, 2);
  const torch::Tensor ray = camera / depth.clamp_min(min_depth).unsqueeze(3);
  // Camera ray (x/z, y/z, 1) -> original pixel through K -> network-input pixel through img_aug.
  const torch::Tensor to_input =
      torch::matmul(img_aug.to(torch::kDouble), intrinsics.to(torch::kDouble));
  torch::Tensor pixel = torch::einsum("bnij,bnpj->bnpi", {to_input, ray});
  pixel = pixel.narrow(3, 0, 2) / pixel.narrow(3, 2, 1);
  const torch::Tensor u = pixel.select(3, 0), v = pixel.select(3, 1);
  ImageProjection projection;
  projection.visible = (depth > min_depth) & (u >= 0) & (u < static_cast<double>(image_width)) &
                       (v >= 0) & (v < static_cast<double>(image_height));
  projection.pixels = pixel.to(points.scalar_type());
  projection.depth = depth.to(points.scalar_type());
  return projection;
}

}  // namespace rsd
