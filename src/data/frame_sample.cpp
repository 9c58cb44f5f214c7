#include "rsd/data/frame_sample.h"

#include <torch/torch.h>

#include "data/camera_image.h"
#include "data/matrix_tensor.h"
#include "rsd/util/error.h"

namespace rsd::data {

torch::Tensor ego_status_tensor(const EgoStatus& ego) {
  return torch::tensor(
      {static_cast<float>(ego.speed), static_cast<float>(ego.acceleration.x()),
       static_cast<float>(ego.acceleration.y()), static_cast<float>(ego.acceleration.z()),
       static_cast<float>(ego.angular_velocity.x()), static_cast<float>(ego.angular_velocity.y()),
       static_cast<float>(ego.angular_velocity.z()), static_cast<float>(ego.steer),
       static_cast<float>(ego.throttle), static_cast<float>(ego.brake)},
      torch::kFloat32);
}

Eigen::Matrix3d network_placement(int width, int height, int64_t out_width, int64_t out_height) {
  return detail::place_image(width, height, static_cast<int>(out_width), static_cast<int>(out_height), nullptr, nullptr)
      .img_aug;
}

Sample inference_sample(const Frame& frame, const std::vector<BgrImage>& images, int64_t image_width,
                        int64_t image_height, ImageSource source) {
  using rsd::detail::concat;
  const int64_t cameras = static_cast<int64_t>(frame.cameras.size());
  if (static_cast<int64_t>(images.size()) != cameras) {
    throw DataError(concat("frame ", frame.index, " of ", frame.clip, ": ", images.size(),
                           " images for ", cameras, " cameras"));
  }
  Sample sample;
  sample.clip = frame.clip;
  sample.frame = frame.index;
  sample.images = torch::empty({cameras, 3, image_height, image_width}, torch::kFloat32);
  sample.intrinsics = torch::empty({cameras, 3, 3}, torch::kFloat32);
  sample.img_aug = torch::empty({cameras, 3, 3}, torch::kFloat32);
  sample.cam2ego = torch::empty({cameras, 4, 4}, torch::kFloat32);
  for (int64_t n = 0; n < cameras; ++n) {
    const Camera& camera = frame.cameras[static_cast<size_t>(n)];
    const BgrImage& image = images[static_cast<size_t>(n)];
    const bool placed = source == ImageSource::placed;
    const int expected_width = placed ? static_cast<int>(image_width) : camera.width;
    const int expected_height = placed ? static_cast<int>(image_height) : camera.height;
    if (image.data == nullptr || image.width != expected_width || image.height != expected_height) {
      throw DataError(concat("frame ", frame.index, " of ", frame.clip, ": image of ", camera.name,
                             " is ", image.width, "x", image.height, ", expected ", expected_width, "x",
                             expected_height, placed ? " (the network input)" : " (the annotation's size)"));
    }
    const detail::ImagePlacement placement =
        detail::place_image(camera.width, camera.height, static_cast<int>(image_width),
                            static_cast<int>(image_height), nullptr, nullptr);
    float* pixels = sample.images[n].data_ptr<float>();
    if (placed) {
      detail::network_image_from_placed_bgr(image.data, image.width, image.height, pixels);
    } else {
      detail::network_image_from_bgr(image.data, image.width, image.height, placement,
                                     static_cast<int>(image_width), static_cast<int>(image_height), pixels);
    }
    detail::write_matrix(camera.intrinsics, sample.intrinsics[n].data_ptr<float>());
    detail::write_matrix(placement.img_aug, sample.img_aug[n].data_ptr<float>());
    detail::write_matrix(camera.cam2ego, sample.cam2ego[n].data_ptr<float>());
  }
  sample.bev_aug = torch::eye(4, torch::kFloat32);
  sample.ego_status = ego_status_tensor(frame.ego);
  sample.command = static_cast<int64_t>(frame.command);
  sample.future_waypoints = torch::zeros({0, 2}, torch::kFloat32);
  sample.future_mask = torch::zeros({0}, torch::kBool);
  sample.past_waypoints = torch::zeros({0, 2}, torch::kFloat32);
  sample.past_mask = torch::zeros({0}, torch::kBool);
  sample.boxes = torch::zeros({0, kBoxDim}, torch::kFloat32);
  sample.box_classes = torch::zeros({0}, torch::kInt64);
  sample.risk_target = torch::zeros({0, 0}, torch::kFloat32);
  return sample;
}

}  // namespace rsd::data
