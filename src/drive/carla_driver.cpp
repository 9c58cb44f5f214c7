#include "rsd/drive/carla_driver.h"

#include <torch/torch.h>

#include <filesystem>

#include "rsd/config/config.h"
#include "rsd/drive/model_agent.h"
#include "rsd/pipeline/checkpoint_model.h"
#include "rsd/pipeline/device.h"
#include "rsd/pipeline/process.h"
#include "rsd/util/error.h"

namespace rsd::drive {

CarlaDriver::CarlaDriver(CarlaDriverOptions options) : options_(std::move(options)) {
  if (options_.checkpoint.empty()) throw ConfigError("the CARLA driver needs a checkpoint");
  if (!std::filesystem::is_regular_file(options_.checkpoint)) {
    throw CheckpointError(options_.checkpoint + ": no such checkpoint file");
  }
  if (options_.config.empty()) throw ConfigError("the CARLA driver needs the checkpoint's config (YAML)");
  const Config config = Config::load(options_.config, options_.overrides);
  if (options_.threads > 0) pipeline::set_intra_op_threads(options_.threads);
  pipeline::RunOptions run = pipeline::run_options_from(config);
  if (!options_.device.empty()) run.device = pipeline::parse_device(options_.device, "device");
  const torch::Device device = pipeline::run_device(run);
  pipeline::CheckpointModel loaded =
      pipeline::load_checkpoint_model(config, options_.checkpoint, pipeline::ModelSource::checkpoint, device);
  cameras_ = bench2drive_cameras(loaded.config.get<std::vector<std::string>>("data.cameras"));
  const model::LiftSplatOptions& lift = loaded.model->options().lift;
  image_width_ = static_cast<int>(lift.image_width());
  image_height_ = static_cast<int>(lift.image_height());
  device_ = device.str();
  step_ = static_cast<int>(loaded.progress.step);
  ModelAgentOptions agent_options;
  agent_options.controller = options_.controller;
  agent_ = std::make_unique<ModelAgent>(std::move(loaded.model), agent_options);
}

CarlaDriver::~CarlaDriver() = default;

int CarlaDriver::image_width() const { return image_width_; }
int CarlaDriver::image_height() const { return image_height_; }

void CarlaDriver::reset() { agent_->reset(); }

data::Frame CarlaDriver::frame(const CarlaTick& tick, const std::vector<std::pair<int, int>>& image_sizes) const {
  if (image_sizes.size() != cameras_.size()) {
    throw DataError("CARLA tick " + std::to_string(tick.index) + ": " + std::to_string(image_sizes.size()) +
                    " images for the model's " + std::to_string(cameras_.size()) + " cameras");
  }
  std::vector<CarlaCamera> sized = cameras_;
  for (std::size_t i = 0; i < sized.size(); ++i) {
    sized[i].width = image_sizes[i].first;
    sized[i].height = image_sizes[i].second;
  }
  return carla_frame(tick, sized, options_.frame);
}

Decision CarlaDriver::step(const CarlaTick& tick, const std::vector<data::BgrImage>& images) {
  std::vector<std::pair<int, int>> sizes;
  for (const data::BgrImage& image : images) sizes.emplace_back(image.width, image.height);
  const data::Frame frame = this->frame(tick, sizes);
  Observation observation;
  observation.frame = &frame;
  observation.images = images;
  observation.tick = tick.index;
  return agent_->decide(observation);
}

}  // namespace rsd::drive
