// What a model hands to a head that looks at the cameras as well as the BEV (the deformable
// RiskHead's cross-view attention): the image features and the geometry LiftSplat used.
#pragma once

#include <torch/types.h>

#include <cstdint>

namespace rsd::model {

struct CameraViews {
  /// (B*N, C_img, fH, fW) image features, camera-major (sample b, camera n at b*N + n); feature
  /// cell (i, j) covers network-input pixels [j*stride, (j+1)*stride) x [i*stride, (i+1)*stride).
  torch::Tensor features;
  torch::Tensor intrinsics;  // (B, N, 3, 3) K of the original images
  torch::Tensor img_aug;     // (B, N, 3, 3) original pixels -> network-input pixels
  torch::Tensor cam2ego;     // (B, N, 4, 4)
  int64_t image_height = 0;  // network-input image size, pixels
  int64_t image_width = 0;
  int64_t stride = 0;        // network-input pixels per feature cell

  bool defined() const { return features.defined(); }
};

}  // namespace rsd::model
