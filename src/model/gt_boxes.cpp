#include "rsd/model/gt_boxes.h"

#include <algorithm>

#include "rsd/data/batch.h"
#include "rsd/util/error.h"

namespace rsd::model {

GtBoxes GtBoxes::to(const torch::Device& device) const {
  return {center.to(device), size.to(device),  yaw.to(device),
          velocity.to(device), label.to(device), valid.to(device)};
}

GtBoxes gt_boxes_from(const std::vector<std::vector<data::Box>>& boxes_per_frame,
                      const std::vector<data::ObjectClass>& classes) {
  const auto batch = static_cast<int64_t>(boxes_per_frame.size());
  const auto label_of = [&](data::ObjectClass object_class) -> int64_t {
    const auto found = std::find(classes.begin(), classes.end(), object_class);
    return found == classes.end() ? -1 : found - classes.begin();
  };
  int64_t slots = 1;
  for (const auto& boxes : boxes_per_frame) {
    const auto kept = std::count_if(boxes.begin(), boxes.end(), [&](const data::Box& box) {
      return label_of(box.object_class) >= 0;
    });
    slots = std::max<int64_t>(slots, kept);
  }
  GtBoxes out;
  out.center = torch::zeros({batch, slots, 3});
  out.size = torch::zeros({batch, slots, 3});
  out.yaw = torch::zeros({batch, slots});
  out.velocity = torch::zeros({batch, slots, 2});
  out.label = torch::zeros({batch, slots}, torch::kLong);
  out.valid = torch::zeros({batch, slots}, torch::kBool);
  auto center = out.center.accessor<float, 3>();
  auto size = out.size.accessor<float, 3>();
  auto yaw = out.yaw.accessor<float, 2>();
  auto velocity = out.velocity.accessor<float, 3>();
  auto label = out.label.accessor<int64_t, 2>();
  auto valid = out.valid.accessor<bool, 2>();
  for (int64_t b = 0; b < batch; ++b) {
    int64_t m = 0;
    for (const data::Box& box : boxes_per_frame[static_cast<size_t>(b)]) {
      const int64_t box_label = label_of(box.object_class);
      if (box_label < 0) continue;
      for (int k = 0; k < 3; ++k) {
        center[b][m][k] = static_cast<float>(box.center[k]);
        size[b][m][k] = static_cast<float>(box.size[k]);
      }
      yaw[b][m] = static_cast<float>(box.yaw);
      velocity[b][m][0] = static_cast<float>(box.velocity[0]);
      velocity[b][m][1] = static_cast<float>(box.velocity[1]);
      label[b][m] = box_label;
      valid[b][m] = true;
      ++m;
    }
  }
  return out;
}

GtBoxes gt_boxes_from(const torch::Tensor& boxes, const torch::Tensor& box_classes,
                      const torch::Tensor& box_mask, const std::vector<data::ObjectClass>& classes) {
  RSD_CHECK(boxes.dim() == 3 && boxes.size(2) == data::kBoxDim, "boxes must be (B, M, ",
            static_cast<int64_t>(data::kBoxDim), "), got ", boxes.sizes());
  const auto slots = boxes.sizes().slice(0, 2);
  RSD_CHECK(box_classes.sizes() == slots && box_mask.sizes() == slots,
            "box classes ", box_classes.sizes(), " and mask ", box_mask.sizes(), " must be ",
            slots);
  torch::Tensor label = torch::full_like(box_classes, -1, torch::kLong);
  for (size_t i = 0; i < classes.size(); ++i) {
    label.masked_fill_(box_classes == static_cast<int64_t>(classes[i]), static_cast<int64_t>(i));
  }
  const torch::Tensor valid = box_mask.to(torch::kBool) & (label >= 0);
  const torch::Tensor real = boxes.to(torch::kFloat);
  GtBoxes out;
  out.center = real.narrow(2, data::kBoxX, 3);
  out.size = real.narrow(2, data::kBoxLength, 3);
  out.yaw = real.select(2, data::kBoxYaw);
  out.velocity = real.narrow(2, data::kBoxVelocityX, 2);
  out.label = label.masked_fill(~valid, 0);
  out.valid = valid;
  return out;
}

std::vector<data::ObjectClass> default_detection_classes() {
  return {data::ObjectClass::vehicle, data::ObjectClass::pedestrian, data::ObjectClass::cyclist};
}

}  // namespace rsd::model
