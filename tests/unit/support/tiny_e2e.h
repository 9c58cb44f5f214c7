// A real E2E model small enough for a few training steps in a test (2 cameras of 32 x 48 pixels,
// an 8 x 8 m grid at 1 m, a ResNet-18 of width 8, BatchNorm included) and an in-memory dataset
// for it. Header-only: rsd_unit_tests and rsd_dist_worker both use it.
#pragma once

#include <ATen/CPUGeneratorImpl.h>
#include <torch/torch.h>

#include <limits>
#include <optional>
#include <string>
#include <vector>

#include "rsd/data/batch.h"
#include "rsd/data/dataset.h"
#include "rsd/geometry/grid_spec.h"
#include "rsd/model/e2e_model.h"
#include "rsd/train/e2e_loss.h"

namespace rsd::test {

inline GridSpec tiny_e2e_grid() {
  return GridSpec({-4.0, 4.0, 1.0}, {-4.0, 4.0, 1.0}, {-2.0, 2.0, 4.0});
}

constexpr int64_t kTinyCameras = 2;
constexpr int64_t kTinyImageHeight = 32;
constexpr int64_t kTinyImageWidth = 48;
constexpr int64_t kTinyBevChannels = 8;

/// Detection of vehicles, pedestrians and cyclists, planning, and the RiskHead unless disabled.
inline model::E2EModelOptions tiny_e2e_model_options(bool risk_head = true) {
  const GridSpec grid = tiny_e2e_grid();
  const auto lift = model::LiftSplatOptions(8, grid, kTinyImageHeight, kTinyImageWidth)
                        .depth_min(1.0)
                        .depth_max(6.0)
                        .depth_step(1.0)
                        .context_channels(4);
  std::optional<model::RiskHeadOptions> risk;
  if (risk_head) risk = model::RiskHeadOptions(kTinyBevChannels, grid).hidden(8);
  return {model::ImageEncoderOptions().depth(18).width(8).out_channels(8),
          lift,
          model::BevEncoderOptions(lift.context_channels() * grid.nz())
              .channels(8)
              .blocks({1, 1})
              .out_channels(kTinyBevChannels),
          model::DetectionHeadOptions(kTinyBevChannels, 3).hidden(8),
          model::PlanningHeadOptions(kTinyBevChannels, grid).hidden(16).heads(2),
          risk,
          std::nullopt};
}

inline train::E2ELossOptions tiny_e2e_loss_options() {
  train::E2ELossOptions options(tiny_e2e_grid());
  options.detection_classes = {data::ObjectClass::vehicle, data::ObjectClass::pedestrian,
                               data::ObjectClass::cyclist};
  return options;
}

/// Camera (OpenCV axes) -> ego frame, looking forward (+x) or backward (-x), 1.5 m up.
inline torch::Tensor tiny_camera_to_ego(bool forward) {
  const float s = forward ? 1.0f : -1.0f;
  return torch::tensor({0.0f, 0.0f, s, 0.0f, -s, 0.0f, 0.0f, 0.0f, 0.0f, -1.0f, 0.0f, 1.5f,
                        0.0f, 0.0f, 0.0f, 1.0f})
      .view({4, 4});
}

/// Samples drawn from a generator seeded by the index: the same index always gives the same
/// sample, whatever the epoch or thread. `poisoned` puts a NaN into every ego status. Every
/// `unlabelled_every`-th sample (index 0, n, 2n, ...) has no teacher label; 0: all have one.
class TinyE2EDataset : public data::SampleDataset {
 public:
  explicit TinyE2EDataset(int64_t size, bool poisoned = false, int64_t unlabelled_every = 3)
      : size_(size), poisoned_(poisoned), unlabelled_every_(unlabelled_every) {}
  int64_t size() const override { return size_; }
  data::Sample get(int64_t index, int64_t /*epoch*/) const override {
    auto generator = at::detail::createCPUGenerator(static_cast<uint64_t>(1000 + index));
    auto normal = [&](std::vector<int64_t> shape) {
      return at::normal(0.0, 1.0, shape, generator);
    };
    data::Sample sample;
    sample.clip = "Clip" + std::to_string(index / 4);
    sample.frame = index % 4;
    sample.images = normal({kTinyCameras, 3, kTinyImageHeight, kTinyImageWidth});
    sample.intrinsics = torch::tensor({24.0f, 0.0f, 24.0f, 0.0f, 24.0f, 16.0f, 0.0f, 0.0f, 1.0f})
                            .view({1, 3, 3})
                            .repeat({kTinyCameras, 1, 1});
    sample.img_aug = torch::eye(3).repeat({kTinyCameras, 1, 1});
    sample.cam2ego = torch::stack({tiny_camera_to_ego(true), tiny_camera_to_ego(false)});
    sample.bev_aug = torch::eye(4);
    sample.ego_status = normal({data::kEgoStatusDim});
    if (poisoned_) sample.ego_status[0] = std::numeric_limits<float>::quiet_NaN();
    sample.command = index % 6;
    const torch::Tensor speed = 1.0 + at::rand({1}, generator);
    sample.future_waypoints =
        torch::stack({torch::arange(1, 7, torch::kFloat) * speed, torch::zeros({6})}, 1);
    sample.future_mask = torch::ones({6}, torch::kBool);
    sample.past_waypoints =
        torch::stack({-torch::arange(1, 5, torch::kFloat) * speed, torch::zeros({4})}, 1);
    sample.past_mask = torch::ones({4}, torch::kBool);
    sample.boxes =
        torch::tensor({2.0f, 1.0f, 0.0f, 4.0f, 2.0f, 1.5f, 0.3f, 1.0f, 0.0f}).view({1, 9});
    sample.box_classes = torch::tensor({static_cast<int64_t>(data::ObjectClass::vehicle)});
    sample.box_ids = {"7"};
    // The teacher's map: the box's cell (x 2 m, y 1 m on the 1 m grid from -4 m) is risky.
    sample.risk_target = torch::zeros({8, 8});
    sample.risk_target[5][6] = 0.5 + 0.5 * at::rand({1}, generator).item<float>();
    sample.risk_mask = unlabelled_every_ == 0 || index % unlabelled_every_ != 0;
    return sample;
  }

 private:
  int64_t size_;
  bool poisoned_;
  int64_t unlabelled_every_;
};

}  // namespace rsd::test
