// The random augmentations of training samples (data.augment.*). Drawn per sample from
// (run.seed, epoch, sample index) only; see dataset.h.
#pragma once

namespace rsd::data {

/// Image augmentation: where each camera image lands in the network input (see batch.h, img_aug).
struct ImageAugmentOptions {
  double resize_min = 1.0;  // random factor on top of the base scale (the smallest scale at which
  double resize_max = 1.0;  // the image covers the network input)
  double rotate_deg = 0.0;  // rotation about the network image centre, uniform in [-r, r]
  bool flip = false;        // horizontal mirror with probability 1/2
};

/// BEV augmentation: one similarity transform of the ego frame (see bev_augmentation.h).
struct BevAugmentOptions {
  double rotate_deg = 0.0;  // rotation about z drawn uniformly from [-rotate_deg, rotate_deg]
  double scale_min = 1.0;   // uniform scale drawn from [scale_min, scale_max]
  double scale_max = 1.0;
  bool flip = false;        // mirror y (left <-> right) with probability 1/2
};

}  // namespace rsd::data
