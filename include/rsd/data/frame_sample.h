// The model's input for one frame whose camera images are already in memory (a closed-loop
// simulator, a driving agent), built exactly as the loader builds it from files: the same image
// placement, camera matrices, ego status and command (see batch.h).
#pragma once

#include <cstdint>
#include <vector>

#include "rsd/data/batch.h"
#include "rsd/data/frame.h"

namespace rsd::data {

/// A camera image in memory: height x width x 3 bytes, BGR, row-major (OpenCV's and CARLA's
/// channel order; CARLA's BGRA must drop its alpha first).
struct BgrImage {
  int width = 0;
  int height = 0;
  const uint8_t* data = nullptr;
};

/// The ego status row of a sample (EgoStatusField order).
torch::Tensor ego_status_tensor(const EgoStatus& ego);

/// The sample the loader would build for `frame` without augmentation, from `images` (one per
/// camera of frame.cameras, in that order, each of the size the frame's camera says) placed into
/// an image_width x image_height network input. Holds images, intrinsics, img_aug, cam2ego,
/// bev_aug (identity), ego_status and command; no waypoints, boxes or risk target (empty, masks
/// false). Throws rsd::DataError naming the camera when an image is missing or of another size.
Sample inference_sample(const Frame& frame, const std::vector<BgrImage>& images, int64_t image_width,
                        int64_t image_height);

}  // namespace rsd::data
