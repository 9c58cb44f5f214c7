// The model's input for one frame whose camera images are already in memory (a closed-loop
// simulator, a driving agent), built exactly as the loader builds it from files: the same image
// placement, camera matrices, ego status and command (see batch.h).
#pragma once

#include <Eigen/Core>

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

/// Where the loader places a width x height image in an out_width x out_height network input
/// without augmentation (img_aug: original pixels -> network pixels, pixel centres at +0.5): the
/// smallest scale that covers the input, bottom rows kept, centred horizontally.
Eigen::Matrix3d network_placement(int width, int height, int64_t out_width, int64_t out_height);

/// How the images given to inference_sample were made.
enum class ImageSource {
  stored,  // the camera's full image (the frame's size): placed as the loader places it
  placed,  // already the network input, rendered through network_placement (a simulator can)
};

/// The sample the loader would build for `frame` without augmentation, from `images` (one per
/// camera of frame.cameras, in that order) in an image_width x image_height network input. With
/// ImageSource::stored each image has the size the frame's camera says; with placed, the network
/// input's size. Holds images, intrinsics, img_aug, cam2ego, bev_aug (identity), ego_status and
/// command; no waypoints, boxes or risk target (empty, masks false). Throws rsd::DataError naming
/// the camera when an image is missing or of another size.
Sample inference_sample(const Frame& frame, const std::vector<BgrImage>& images, int64_t image_width,
                        int64_t image_height, ImageSource source = ImageSource::stored);

}  // namespace rsd::data
