#include "rsd/pipeline/data_config.h"

#include <cmath>
#include <string>
#include <utility>
#include <vector>

#include "rsd/config/config_checks.h"
#include "rsd/util/error.h"

namespace rsd::pipeline {
namespace {

using rsd::detail::concat;

GridAxis axis_from(const Config& grid, const char* name) {
  const auto values = grid.get<std::vector<double>>(name);
  if (values.size() != 3) {
    throw ConfigError("config key '" + grid.prefix() + "." + name +
                      "' must be [min, max, step], got " + std::to_string(values.size()) + " values");
  }
  return GridAxis{values[0], values[1], values[2]};
}

std::pair<double, double> range_of(const Config& config, const std::string& key) {
  const std::vector<double> values = config.get<std::vector<double>>(key);
  if (values.size() != 2 || !(values[0] > 0.0) || values[0] > values[1]) {
    throw ConfigError(concat(key, " must be [min, max] with 0 < min <= max (set at ",
                             config.origin(key), ")"));
  }
  return {values[0], values[1]};
}

}  // namespace

GridSpec grid_spec_from(const Config& config) {
  const Config grid = config.section("data.grid");
  return GridSpec(axis_from(grid, "x"), axis_from(grid, "y"), axis_from(grid, "z"));
}

data::DatasetOptions dataset_options_from(const Config& config, data::Split split, bool training) {
  data::DatasetOptions options(grid_spec_from(config));
  const Config data = config.section("data");
  options.root = data.get<std::string>("root");
  options.split = split;
  options.split_file = data.get_or<std::string>("split_file", "");
  options.clip_list = data.get_or<std::string>("mini_list", "");
  options.cameras = data.get<std::vector<std::string>>("cameras");
  if (options.cameras.empty()) throw ConfigError("data.cameras must name at least one camera");
  options.image_height = require_positive<int64_t>(data, "image.height");
  options.image_width = require_positive<int64_t>(data, "image.width");
  options.future_steps = data.get<int64_t>("waypoints.future_steps");
  options.past_steps = data.get<int64_t>("waypoints.past_steps");
  options.step_frames = data.get<int64_t>("waypoints.step_frames");
  if (options.future_steps < 0 || options.past_steps < 0 || options.step_frames < 1) {
    throw ConfigError("data.waypoints: future_steps and past_steps must be >= 0, step_frames >= 1");
  }
  options.augment = training && data.get<bool>("augment.enabled");
  const auto [resize_min, resize_max] = range_of(data, "augment.image_resize");
  options.image_augment.resize_min = resize_min;
  options.image_augment.resize_max = resize_max;
  options.image_augment.rotate_deg = std::fabs(data.get<double>("augment.image_rotate_deg"));
  options.image_augment.flip = data.get<bool>("augment.image_flip");
  const auto [scale_min, scale_max] = range_of(data, "augment.bev_scale");
  options.bev_augment.scale_min = scale_min;
  options.bev_augment.scale_max = scale_max;
  options.bev_augment.rotate_deg = std::fabs(data.get<double>("augment.bev_rotate_deg"));
  options.bev_augment.flip = data.get<bool>("augment.bev_flip");
  options.seed = static_cast<uint64_t>(config.get<int64_t>("run.seed"));
  const std::string on_bad_frame = data.get<std::string>("on_bad_frame");
  if (on_bad_frame == "error") {
    options.on_bad_frame = data::BadFramePolicy::error;
  } else if (on_bad_frame == "skip") {
    options.on_bad_frame = data::BadFramePolicy::skip;
  } else {
    throw ConfigError(concat("data.on_bad_frame must be error or skip (got '", on_bad_frame,
                             "', set at ", data.origin("on_bad_frame"), ")"));
  }
  return options;
}

data::LoaderOptions loader_options_from(const Config& config, bool training,
                                        const torch::Device& destination) {
  data::LoaderOptions options;
  const Config loader = config.section("data.loader");
  options.batch_size = loader.get<int64_t>("batch_size");
  options.workers = loader.get<int64_t>("workers");
  options.prefetch = loader.get<int64_t>("prefetch");
  options.shuffle = training && loader.get<bool>("shuffle");
  options.drop_last = training && loader.get<bool>("drop_last");
  // Evaluation sees every sample once: padded duplicates would weigh twice in a mean over ranks.
  options.pad_shards = training;
  options.seed = static_cast<uint64_t>(config.get<int64_t>("run.seed"));
  // Optional: configs of runs written before the key existed lack it.
  options.pin_memory = loader.get_or<bool>("pin_memory", true);
  options.destination = destination;
  return options;
}

}  // namespace rsd::pipeline
