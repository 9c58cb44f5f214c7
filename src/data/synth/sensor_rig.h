// Bench2Drive's sensor rig (tools/data_collect.py:sensors(), format doc §4): 6 surround cameras
// plus the top-down debug camera, 5 radars and the LiDAR, in the order of the annotation's
// "sensors" block. Mounts are in the ego frame (CARLA: x forward, y right, z up).
#pragma once

#include <string>
#include <vector>

#include "data/synth/carla_math.h"

namespace rsd::data::synth {

enum class SensorKind { camera, radar, lidar };

struct SensorMount {
  std::string name;     // key in "sensors"
  SensorKind kind = SensorKind::camera;
  std::string folder;   // cameras: camera/<folder> (rgb_front, ...)
  std::string suffix;   // cameras: depth_<suffix>, semantic_<suffix>, instance_<suffix>; empty for TOP_DOWN
  Transform mount;
  double fov = 0.0;     // cameras, degrees
};

const std::vector<SensorMount>& sensor_rig();

/// fx = fy = W / (2 tan(fov / 2)) (build_projection_matrix).
double focal_length(int width, double fov_degrees);

}  // namespace rsd::data::synth
