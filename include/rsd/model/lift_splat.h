// LiftSplat, the LSS view transform: image features -> a depth distribution and context features
// per pixel ("lift") -> ego-frame frustum points -> voxel pooling into the BEV grid ("splat").
//
// Input contract (shared with the data layer's samples):
//   features   (B*N, Cin, fH, fW)  image-encoder output, camera-major (sample b, camera n at b*N + n)
//   intrinsics (B, N, 3, 3)        K of the ORIGINAL image (as stored), pixels
//   img_aug    (B, N, 3, 3)        homogeneous 2-D map from original pixels to network-input pixels
//                                  (resize, crop, flip, rotation); identity without augmentation
//   cam2ego    (B, N, 4, 4)        camera frame -> ego frame, BEV augmentation already applied
// Camera frame: OpenCV axes (x right, y down, z forward); pixel = K * p / p.z. Ego frame: x
// forward, y left, z up, metres. Pixel coordinates are continuous with the image's top-left corner
// at (0, 0): pixel (row i, column j) covers [j, j+1) x [i, i+1), its centre is (j + 0.5, i + 0.5)
// (the data layer's convention, rsd/data/batch.h; K with cx = W/2 and img_aug use it).
#pragma once

#include <torch/nn/module.h>
#include <torch/nn/modules/conv.h>
#include <torch/nn/pimpl.h>
#include <torch/types.h>

#include <cstdint>

#include "rsd/geometry/grid_spec.h"
#include "rsd/ops/voxel_pool.h"

namespace rsd::model {

struct LiftSplatOptions {
  LiftSplatOptions(int64_t in_channels, GridSpec grid, int64_t image_height, int64_t image_width)
      : in_channels_(in_channels),
        grid_(grid),
        image_height_(image_height),
        image_width_(image_width) {}

  TORCH_ARG(int64_t, in_channels);   // Cin of the image features
  TORCH_ARG(GridSpec, grid);         // the BEV grid pooled into
  TORCH_ARG(int64_t, image_height);  // network-input image size, pixels
  TORCH_ARG(int64_t, image_width);
  // Depth bins k = 0..D-1 at depth_min + k * depth_step metres along the optical axis, with
  // D = ceil((depth_max - depth_min) / depth_step) (numpy's arange, as LSS and BEVDet).
  TORCH_ARG(double, depth_min) = 1.0;
  TORCH_ARG(double, depth_max) = 45.0;
  TORCH_ARG(double, depth_step) = 1.0;
  TORCH_ARG(int64_t, context_channels) = 64;  // C, channels pooled into the grid
  TORCH_ARG(int64_t, stride) = 16;            // image pixels per feature cell

 public:  // TORCH_ARG leaves the struct in a private section
  int64_t depth_bins() const;
  /// fH = ceil(image_height / stride), fW likewise: the image encoder's output size.
  int64_t feature_height() const;
  int64_t feature_width() const;
};

/// (D, fH, fW, 3) frustum of (u, v, d): the network-input pixel at the centre of each feature
/// cell (it covers pixels [j*stride, (j+1)*stride): u = j*stride + stride / 2, likewise v) and
/// the depth of each bin, metres.
torch::Tensor make_frustum(const LiftSplatOptions& options,
                           torch::TensorOptions tensor_options = torch::kFloat);

/// Ego-frame points (B, N, D, fH, fW, 3) of a frustum (D, fH, fW, 3): undo the image
/// augmentation, back-project through K at depth d (the camera-frame z), then cam2ego.
/// Computed in double, returned in the frustum's dtype.
torch::Tensor frustum_to_ego(const torch::Tensor& frustum, const torch::Tensor& intrinsics,
                             const torch::Tensor& img_aug, const torch::Tensor& cam2ego);

struct LiftSplatOutput {
  torch::Tensor bev;    // (B, Z*C, Y, X) pooled context features (Z collapsed into channels)
  torch::Tensor depth;  // (B, N, D, fH, fW) the depth distribution (softmax over D)
};

class LiftSplatImpl : public torch::nn::Module {
 public:
  explicit LiftSplatImpl(LiftSplatOptions options);

  /// features (B*N, Cin, fH, fW), intrinsics (B, N, 3, 3), img_aug (B, N, 3, 3),
  /// cam2ego (B, N, 4, 4) as in the header comment -> BEV features and depth distribution.
  /// The pooling index is cached and reused while the geometry tensors stay equal (inference
  /// with fixed cameras builds it once).
  LiftSplatOutput forward(const torch::Tensor& features, const torch::Tensor& intrinsics,
                          const torch::Tensor& img_aug, const torch::Tensor& cam2ego);

  /// The pooling index of a geometry (what forward builds or reuses).
  ops::VoxelPoolIndex build_index(const torch::Tensor& intrinsics, const torch::Tensor& img_aug,
                                  const torch::Tensor& cam2ego, torch::Dtype dtype) const;

  /// Ego-frame frustum points (B, N, D, fH, fW, 3) of a geometry, computed in `dtype` also
  /// under autocast.
  torch::Tensor ego_points(const torch::Tensor& intrinsics, const torch::Tensor& img_aug,
                           const torch::Tensor& cam2ego, torch::Dtype dtype) const;

  LiftSplatOptions options;
  /// 1x1 convolution, Cin -> D depth logits + C context channels.
  torch::nn::Conv2d depth_net{nullptr};

 private:
  const ops::VoxelPoolIndex& cached_index(const torch::Tensor& intrinsics,
                                          const torch::Tensor& img_aug,
                                          const torch::Tensor& cam2ego, torch::Dtype dtype);
  ops::VoxelPoolIndex index_;
  torch::Tensor index_intrinsics_, index_img_aug_, index_cam2ego_;
  torch::Dtype index_points_dtype_ = torch::kFloat;
};

TORCH_MODULE(LiftSplat);

}  // namespace rsd::model
