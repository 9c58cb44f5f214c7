// Ego-frame points -> network-input pixels of each camera: the inverse of LiftSplat's
// frustum_to_ego (rsd/model/lift_splat.h), with the same conventions: OpenCV camera axes, K of the
// original image, img_aug mapping original pixels to network-input pixels, pixel (row i, column j)
// covering [j, j+1) x [i, i+1).
#pragma once

#include <torch/types.h>

namespace rsd {

struct ImageProjection {
  torch::Tensor pixels;  // (B, N, P, 2) network-input pixel (u, v) of each point in each camera
  torch::Tensor depth;   // (B, N, P) camera-frame z, metres (<= 0: behind the camera)
  /// (B, N, P) bool: in front of the camera (depth > min_depth) and inside the image.
  torch::Tensor visible;
};

/// points (P, 3) shared by the batch or (B, P, 3), ego frame, metres; intrinsics, img_aug
/// (B, N, 3, 3); cam2ego (B, N, 4, 4); the network-input image is image_height x image_width.
/// Computed in double (no gradient flows: geometry, not a learned quantity) and returned in the
/// points' dtype. Points at depth <= min_depth get the pixel of depth min_depth (finite values).
ImageProjection project_to_images(const torch::Tensor& points, const torch::Tensor& intrinsics,
                                  const torch::Tensor& img_aug, const torch::Tensor& cam2ego,
                                  int64_t image_height, int64_t image_width,
                                  double min_depth = 0.1);

}  // namespace rsd
