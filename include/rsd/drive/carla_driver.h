// A trained checkpoint driving under CARLA: what the Bench2Drive leaderboard agent
// (tools/carla/rsd_agent.py, through the rsd_carla Python module) calls once per tick. It turns
// the tick's sensor values into the frame the reader would give (carla_frame) and lets a
// ModelAgent decide, so the same checkpoint drives identically here and in rsd_drive.
//
//   CarlaDriver driver({"configs/synth_tiny.yaml", "step_600.pt"});
//   for each tick: Decision d = driver.step(tick, images);   // images in driver.cameras() order
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "rsd/drive/carla_sensors.h"
#include "rsd/drive/driving_agent.h"

namespace rsd::drive {

struct CarlaDriverOptions {
  std::string config;       // the YAML config the checkpoint was trained with (its run.device)
  std::string checkpoint;   // the network keys come from the checkpoint's stored config
  std::string device;       // empty: the config's run.device; else "cpu", "cuda", "cuda:1", ...
  std::vector<std::string> overrides;  // --set style overrides of the config ("key=value")
  int threads = 0;          // libtorch intra-op threads; 0: leave as the process has them
  CarlaFrameOptions frame;  // the map's geo reference, the GNSS mount
  WaypointControllerOptions controller;
};

class CarlaDriver {
 public:
  /// Loads the config and the checkpoint (load_checkpoint_model). Throws rsd::ConfigError for bad
  /// keys or a data.cameras entry Bench2Drive's rig lacks, rsd::CheckpointError naming the file.
  explicit CarlaDriver(CarlaDriverOptions options);
  ~CarlaDriver();
  CarlaDriver(const CarlaDriver&) = delete;
  CarlaDriver& operator=(const CarlaDriver&) = delete;

  /// The model's cameras (data.cameras), in the order step() takes their images.
  const std::vector<CarlaCamera>& cameras() const { return cameras_; }
  /// The network input size images are placed into (width, height).
  int image_width() const;
  int image_height() const;
  const std::string& device() const { return device_; }
  int checkpoint_step() const { return step_; }

  /// The map's geo reference (for GNSS positions); set before the first step of a route.
  void set_geo_reference(const GeoReference& reference) { options_.frame.geo = reference; }
  const GeoReference& geo_reference() const { return options_.frame.geo; }

  /// Forgets the controller's history (a new route).
  void reset();

  /// The frame of `tick` for images of these sizes (one width x height per camera).
  data::Frame frame(const CarlaTick& tick, const std::vector<std::pair<int, int>>& image_sizes) const;

  /// One tick: `images` BGR, one per cameras() entry, any size (the frame's intrinsics follow it).
  /// Throws rsd::DataError naming the camera when an image is missing.
  Decision step(const CarlaTick& tick, const std::vector<data::BgrImage>& images);

 private:
  CarlaDriverOptions options_;
  std::vector<CarlaCamera> cameras_;
  std::unique_ptr<DrivingAgent> agent_;
  std::string device_;
  int step_ = 0;
  int image_width_ = 0, image_height_ = 0;
};

}  // namespace rsd::drive
