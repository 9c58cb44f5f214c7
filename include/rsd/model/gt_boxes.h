// Ground-truth boxes of a batch as padded tensors, the form the detection targets and the
// collision-aware planning loss consume.
#pragma once

#include <torch/types.h>

#include <cstdint>
#include <vector>

#include "rsd/data/frame.h"

namespace rsd::model {

/// M is the largest box count of the batch (at least 1); slots past a frame's count are padding.
struct GtBoxes {
  torch::Tensor center;    // (B, M, 3) float, metres, ego frame
  torch::Tensor size;      // (B, M, 3) float, length (along the heading), width, height, metres
  torch::Tensor yaw;       // (B, M) float, radians, counter-clockwise from the ego's x axis
  torch::Tensor velocity;  // (B, M, 2) float, m/s, ego frame
  torch::Tensor label;     // (B, M) int64, index into the class list the boxes were built with
  torch::Tensor valid;     // (B, M) bool, false for padding

  int64_t batch_size() const { return valid.size(0); }
  int64_t max_boxes() const { return valid.size(1); }
  GtBoxes to(const torch::Device& device) const;
};

/// The boxes of `classes` (others are dropped) of each frame; label = position in `classes`.
GtBoxes gt_boxes_from(const std::vector<std::vector<data::Box>>& boxes_per_frame,
                      const std::vector<data::ObjectClass>& classes);

/// The same from the data layer's collated tensors (data::Batch): boxes (B, M, data::kBoxDim) in
/// data::BoxField order, box_classes (B, M) int64 data::ObjectClass values, box_mask (B, M) bool.
/// Boxes of other classes become padding; tensors stay on their device.
GtBoxes gt_boxes_from(const torch::Tensor& boxes, const torch::Tensor& box_classes,
                      const torch::Tensor& box_mask, const std::vector<data::ObjectClass>& classes);

/// The detection classes of librsd: vehicle, pedestrian, cyclist.
std::vector<data::ObjectClass> default_detection_classes();

}  // namespace rsd::model
