#include "data/synth/sensor_rig.h"

#include <cmath>

namespace rsd::data::synth {
namespace {

SensorMount mount(std::string name, SensorKind kind, std::string folder, std::string suffix, double x, double y,
                  double z, double pitch, double yaw, double fov) {
  SensorMount m;
  m.name = std::move(name);
  m.kind = kind;
  m.folder = std::move(folder);
  m.suffix = std::move(suffix);
  m.mount.location = Eigen::Vector3d(x, y, z);
  m.mount.rotation.pitch = pitch;
  m.mount.rotation.yaw = yaw;
  m.fov = fov;
  return m;
}

}  // namespace

const std::vector<SensorMount>& sensor_rig() {
  static const std::vector<SensorMount> rig = {
      mount("CAM_FRONT", SensorKind::camera, "rgb_front", "front", 0.80, 0.0, 1.60, 0.0, 0.0, 70.0),
      mount("CAM_FRONT_LEFT", SensorKind::camera, "rgb_front_left", "front_left", 0.27, -0.55, 1.60, 0.0, -55.0, 70.0),
      mount("CAM_FRONT_RIGHT", SensorKind::camera, "rgb_front_right", "front_right", 0.27, 0.55, 1.60, 0.0, 55.0, 70.0),
      mount("CAM_BACK", SensorKind::camera, "rgb_back", "back", -2.0, 0.0, 1.60, 0.0, 180.0, 110.0),
      mount("CAM_BACK_LEFT", SensorKind::camera, "rgb_back_left", "back_left", -0.32, -0.55, 1.60, 0.0, -110.0, 70.0),
      mount("CAM_BACK_RIGHT", SensorKind::camera, "rgb_back_right", "back_right", -0.32, 0.55, 1.60, 0.0, 110.0, 70.0),
      mount("TOP_DOWN", SensorKind::camera, "rgb_top_down", "", 0.0, 0.0, 50.0, -90.0, 0.0, 110.0),
      mount("RADAR_FRONT", SensorKind::radar, "", "", 2.27, 0.0, 0.48, 0.0, 0.0, 0.0),
      mount("RADAR_FRONT_LEFT", SensorKind::radar, "", "", 1.21, -0.85, 0.74, 0.0, -90.0, 0.0),
      mount("RADAR_FRONT_RIGHT", SensorKind::radar, "", "", 1.21, 0.85, 0.74, 0.0, 90.0, 0.0),
      mount("RADAR_BACK_LEFT", SensorKind::radar, "", "", -2.0, -0.67, 0.51, 0.0, -90.0, 0.0),
      // Base's collector mounts the back-right radar with yaw -90 as well (fixed in v0.0.4).
      mount("RADAR_BACK_RIGHT", SensorKind::radar, "", "", -2.0, 0.67, 0.51, 0.0, -90.0, 0.0),
      mount("LIDAR_TOP", SensorKind::lidar, "", "", -0.39, 0.0, 1.84, 0.0, 0.0, 0.0),
  };
  return rig;
}

double focal_length(int width, double fov_degrees) {
  return width / (2.0 * std::tan(fov_degrees * M_PI / 360.0));
}

}  // namespace rsd::data::synth
