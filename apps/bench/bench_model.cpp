#include "bench/bench_model.h"

#include <benchmark/benchmark.h>
#include <torch/cuda.h>
#include <torch/torch.h>

#include <cmath>
#include <filesystem>

#include "rsd/geometry/grid_spec.h"
#include "rsd/pipeline/data_config.h"
#include "rsd/util/error.h"

namespace rsd::bench {

Config load_bench_config(const std::string& path) {
  if (std::filesystem::exists(path)) return Config::load(path);
  const std::string in_source = std::string(RSD_SOURCE_DIR) + "/" + path;
  if (std::filesystem::exists(in_source)) return Config::load(in_source);
  throw ConfigError("benchmark config not found: " + path + " (nor " + in_source + ")");
}

data::Batch random_batch(const Config& config, int64_t batch, uint64_t seed) {
  torch::manual_seed(seed);
  const auto cameras = static_cast<int64_t>(config.get<std::vector<std::string>>("data.cameras").size());
  const auto height = config.get<int64_t>("data.image.height");
  const auto width = config.get<int64_t>("data.image.width");
  const auto horizon = config.get<int64_t>("data.waypoints.future_steps");
  const auto past = config.get<int64_t>("data.waypoints.past_steps");
  const GridSpec grid = pipeline::grid_spec_from(config);
  constexpr int64_t kBoxes = 8;

  data::Batch b;
  for (int64_t i = 0; i < batch; ++i) {
    b.clips.push_back("random");
    b.frames.push_back(i);
    b.box_ids.emplace_back();
  }
  b.images = torch::randn({batch, cameras, 3, height, width});
  const double focal = static_cast<double>(width) / 2.0;  // a 90-degree horizontal field of view
  b.intrinsics = torch::tensor({focal, 0.0, width / 2.0, 0.0, focal, height / 2.0, 0.0, 0.0, 1.0},
                               torch::kFloat)
                     .view({1, 1, 3, 3})
                     .repeat({batch, cameras, 1, 1});
  b.img_aug = torch::eye(3).repeat({batch, cameras, 1, 1});
  std::vector<torch::Tensor> poses;
  for (int64_t n = 0; n < cameras; ++n) {
    const double yaw = 2.0 * M_PI * static_cast<double>(n) / static_cast<double>(cameras);
    const auto c = static_cast<float>(std::cos(yaw)), s = static_cast<float>(std::sin(yaw));
    // Columns: the ego-frame directions of the camera's x (right), y (down) and z (optical) axes.
    poses.push_back(torch::tensor({s, 0.0f, c, 0.0f,         //
                                   -c, 0.0f, s, 0.0f,        //
                                   0.0f, -1.0f, 0.0f, 1.6f,  //
                                   0.0f, 0.0f, 0.0f, 1.0f})
                        .view({4, 4}));
  }
  b.cam2ego = torch::stack(poses).unsqueeze(0).repeat({batch, 1, 1, 1});
  b.bev_aug = torch::eye(4).repeat({batch, 1, 1});
  b.ego_status = torch::randn({batch, data::kEgoStatusDim});
  b.command = torch::randint(0, 6, {batch}, torch::kLong);
  b.future_waypoints = torch::randn({batch, horizon, 2}).cumsum(1);
  b.future_mask = torch::ones({batch, horizon}, torch::kBool);
  b.past_waypoints = torch::randn({batch, past, 2}).cumsum(1).neg();
  b.past_mask = torch::ones({batch, past}, torch::kBool);
  b.boxes = torch::zeros({batch, kBoxes, data::kBoxDim});
  b.boxes.select(2, data::kBoxX).uniform_(grid.x().min, grid.x().max);
  b.boxes.select(2, data::kBoxY).uniform_(grid.y().min, grid.y().max);
  b.boxes.select(2, data::kBoxLength).fill_(4.5);
  b.boxes.select(2, data::kBoxWidth).fill_(2.0);
  b.boxes.select(2, data::kBoxHeight).fill_(1.5);
  b.boxes.select(2, data::kBoxYaw).uniform_(-M_PI, M_PI);
  b.box_classes = torch::zeros({batch, kBoxes}, torch::kLong);
  b.box_mask = torch::ones({batch, kBoxes}, torch::kBool);
  b.risk_target = torch::rand({batch, 1, grid.ny(), grid.nx()});
  b.risk_mask = torch::ones({batch}, torch::kBool);
  return b;
}

void time_on_device(const torch::Device& device, const std::string& name,
                    std::function<void()> body) {
  benchmark::RegisterBenchmark(name.c_str(),
                               [body, device](benchmark::State& state) {
                                 for (auto _ : state) {
                                   body();
                                   if (device.is_cuda()) torch::cuda::synchronize(device.index());
                                 }
                               })
      ->UseRealTime()
      ->MinWarmUpTime(0.1)
      ->Unit(benchmark::kMillisecond);
}

}  // namespace rsd::bench
