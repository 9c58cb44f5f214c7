#include "rsd/data/batch.h"

#include <torch/torch.h>

#include <algorithm>

#include "rsd/util/error.h"

namespace rsd::data {
namespace {

using rsd::detail::concat;

// Stacks one field of every sample, naming the sample whose shape differs.
torch::Tensor stack_field(const std::vector<Sample>& samples, const char* name,
                          torch::Tensor Sample::*field) {
  std::vector<torch::Tensor> parts;
  parts.reserve(samples.size());
  for (const Sample& sample : samples) {
    const torch::Tensor& part = sample.*field;
    if (!part.defined()) {
      throw Error(concat("collate: ", name, " of clip ", sample.clip, " frame ", sample.frame,
                         " is missing"));
    }
    if (!parts.empty() && part.sizes() != parts.front().sizes()) {
      throw Error(concat("collate: ", name, " of clip ", sample.clip, " frame ", sample.frame,
                         " has shape ", part.sizes(), ", the batch's first sample ",
                         parts.front().sizes()));
    }
    parts.push_back(part);
  }
  return torch::stack(parts);
}

}  // namespace

Batch collate(const std::vector<Sample>& samples) {
  RSD_CHECK(!samples.empty(), "collate: no samples");
  Batch batch;
  for (const Sample& sample : samples) {
    batch.clips.push_back(sample.clip);
    batch.frames.push_back(sample.frame);
    batch.box_ids.push_back(sample.box_ids);
  }
  batch.images = stack_field(samples, "images", &Sample::images);
  batch.intrinsics = stack_field(samples, "intrinsics", &Sample::intrinsics);
  batch.img_aug = stack_field(samples, "img_aug", &Sample::img_aug);
  batch.cam2ego = stack_field(samples, "cam2ego", &Sample::cam2ego);
  batch.bev_aug = stack_field(samples, "bev_aug", &Sample::bev_aug);
  batch.ego_status = stack_field(samples, "ego_status", &Sample::ego_status);
  batch.future_waypoints = stack_field(samples, "future_waypoints", &Sample::future_waypoints);
  batch.future_mask = stack_field(samples, "future_mask", &Sample::future_mask);
  batch.past_waypoints = stack_field(samples, "past_waypoints", &Sample::past_waypoints);
  batch.past_mask = stack_field(samples, "past_mask", &Sample::past_mask);
  batch.risk_target = stack_field(samples, "risk_target", &Sample::risk_target).unsqueeze(1);

  const int64_t b = static_cast<int64_t>(samples.size());
  std::vector<int64_t> commands, risk_masks;
  int64_t max_boxes = 1;
  for (const Sample& sample : samples) {
    commands.push_back(sample.command);
    risk_masks.push_back(sample.risk_mask ? 1 : 0);
    RSD_CHECK(sample.boxes.defined() && sample.boxes.dim() == 2 && sample.boxes.size(1) == kBoxDim,
              "collate: boxes of clip ", sample.clip, " frame ", sample.frame, " are not (K, ",
              static_cast<int64_t>(kBoxDim), ")");
    max_boxes = std::max(max_boxes, sample.boxes.size(0));
  }
  batch.command = torch::tensor(commands, torch::kInt64);
  batch.risk_mask = torch::tensor(risk_masks, torch::kInt64).to(torch::kBool);
  batch.boxes = torch::zeros({b, max_boxes, kBoxDim}, torch::kFloat32);
  batch.box_classes = torch::full({b, max_boxes}, -1, torch::kInt64);
  batch.box_mask = torch::zeros({b, max_boxes}, torch::kBool);
  for (int64_t i = 0; i < b; ++i) {
    const Sample& sample = samples[static_cast<size_t>(i)];
    const int64_t count = sample.boxes.size(0);
    if (count == 0) continue;
    batch.boxes[i].narrow(0, 0, count).copy_(sample.boxes);
    batch.box_classes[i].narrow(0, 0, count).copy_(sample.box_classes);
    batch.box_mask[i].narrow(0, 0, count).fill_(true);
  }
  return batch;
}

namespace {

// `convert` applied to every tensor of the batch.
template <class Convert>
Batch convert_tensors(const Batch& batch, Convert convert) {
  Batch out = batch;
  for (torch::Tensor* t : {&out.images, &out.intrinsics, &out.img_aug, &out.cam2ego, &out.bev_aug,
                           &out.ego_status, &out.command, &out.future_waypoints, &out.future_mask,
                           &out.past_waypoints, &out.past_mask, &out.boxes, &out.box_classes,
                           &out.box_mask, &out.risk_target, &out.risk_mask}) {
    if (t->defined()) *t = convert(*t);
  }
  return out;
}

}  // namespace

Batch Batch::to(const torch::Device& device, bool non_blocking) const {
  return convert_tensors(*this, [&](const torch::Tensor& t) { return t.to(device, non_blocking); });
}

Batch Batch::pin_memory() const {
  return convert_tensors(*this, [](const torch::Tensor& t) { return t.pin_memory(); });
}

}  // namespace rsd::data
