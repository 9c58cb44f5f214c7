#include "rsd/drive/carla_sensors.h"

#include <cmath>

#include "data/carla_geometry.h"
#include "data/synth/sensor_rig.h"
#include "rsd/data/frame_reader.h"
#include "rsd/util/error.h"

namespace rsd::drive {

namespace {

// CARLA's carla/geom/GeoLocation.cpp.
constexpr double kEarthRadiusEquator = 6378137.0;
constexpr double kDeg = M_PI / 180.0;

double lat_to_scale(double latitude) { return std::cos(latitude * kDeg); }

// Mercator metres of a latitude (LatLonToMercator's my, without the scale).
double mercator_y(double latitude) { return kEarthRadiusEquator * std::log(std::tan((90.0 + latitude) * M_PI / 360.0)); }

CarlaCamera camera(const char* id, double x, double y, double yaw, double fov) {
  CarlaCamera c;
  c.id = id;
  c.x = x;
  c.y = y;
  c.z = 1.60;
  c.yaw = yaw;
  c.fov = fov;
  return c;
}

bool finite(const Eigen::Vector3d& v) { return v.allFinite(); }

}  // namespace

const std::vector<CarlaCamera>& bench2drive_cameras() {
  // Bench2DriveZoo team_code/vad_b2d_agent.py sensors(): 1600x900, roll = pitch = 0. CAM_BACK has
  // the wider fov (110) of the collector's rig; its extrinsic is a plain yaw of 180 degrees.
  static const std::vector<CarlaCamera> cameras = {
      camera("CAM_FRONT", 0.80, 0.0, 0.0, 70.0),
      camera("CAM_FRONT_LEFT", 0.27, -0.55, -55.0, 70.0),
      camera("CAM_FRONT_RIGHT", 0.27, 0.55, 55.0, 70.0),
      camera("CAM_BACK", -2.0, 0.0, 180.0, 110.0),
      camera("CAM_BACK_LEFT", -0.32, -0.55, -110.0, 70.0),
      camera("CAM_BACK_RIGHT", -0.32, 0.55, 110.0, 70.0),
  };
  return cameras;
}

std::vector<CarlaCamera> bench2drive_cameras(const std::vector<std::string>& names) {
  std::vector<CarlaCamera> out;
  for (const std::string& name : names) {
    bool found = false;
    for (const CarlaCamera& c : bench2drive_cameras()) {
      if (c.id == name) {
        out.push_back(c);
        found = true;
      }
    }
    if (!found) {
      throw ConfigError("camera " + name + ": Bench2Drive's rig has CAM_FRONT, CAM_FRONT_LEFT, CAM_FRONT_RIGHT, "
                        "CAM_BACK, CAM_BACK_LEFT, CAM_BACK_RIGHT");
    }
  }
  return out;
}

const std::vector<CarlaSensor>& bench2drive_other_sensors() {
  static const std::vector<CarlaSensor> sensors = {
      {"sensor.other.imu", "IMU", -1.4, 0.0, 0.0, 0.05, 0},
      {"sensor.other.gnss", "GPS", -1.4, 0.0, 0.0, 0.01, 0},
      {"sensor.speedometer", "SPEED", 0.0, 0.0, 0.0, 0.0, 20},
  };
  return sensors;
}

data::Camera camera_from_carla(const CarlaCamera& definition) {
  if (definition.width <= 0 || definition.height <= 0 || !(definition.fov > 0.0 && definition.fov < 180.0)) {
    throw ConfigError("camera " + definition.id + ": size " + std::to_string(definition.width) + "x" +
                      std::to_string(definition.height) + " and fov " + std::to_string(definition.fov) +
                      " (need a positive size and 0 < fov < 180)");
  }
  data::Camera camera;
  camera.name = definition.id;
  camera.folder = data::camera_folder(definition.id);
  camera.width = definition.width;
  camera.height = definition.height;
  const double focal = data::synth::focal_length(definition.width, definition.fov);
  camera.intrinsics << focal, 0.0, definition.width / 2.0,
                       0.0, focal, definition.height / 2.0,
                       0.0, 0.0, 1.0;
  const Eigen::Matrix4d cam2ego_ue = data::detail::carla_matrix(
      {definition.x, definition.y, definition.z}, {definition.pitch, definition.roll, definition.yaw});
  camera.cam2ego = data::detail::left_to_right() * cam2ego_ue * data::detail::opencv_to_ue_camera();
  return camera;
}

Eigen::Vector3d world_to_gnss(const GeoReference& reference, const Eigen::Vector3d& location) {
  // LatLonAddMeters(lat_ref, lon_ref, x, -y): Mercator metres at the reference's scale.
  const double scale = lat_to_scale(reference.latitude);
  const double mx = scale * reference.longitude * kDeg * kEarthRadiusEquator + location.x();
  const double my = scale * mercator_y(reference.latitude) - location.y();
  const double longitude = mx * 180.0 / (M_PI * kEarthRadiusEquator * scale);
  const double latitude = 360.0 * std::atan(std::exp(my / (kEarthRadiusEquator * scale))) / M_PI - 90.0;
  return {latitude, longitude, reference.altitude + location.z()};
}

Eigen::Vector3d gnss_to_world(const GeoReference& reference, const Eigen::Vector3d& gnss) {
  const double scale = lat_to_scale(reference.latitude);
  const double x = scale * kEarthRadiusEquator * (gnss.y() - reference.longitude) * kDeg;
  const double y = scale * (mercator_y(reference.latitude) - mercator_y(gnss.x()));
  return {x, y, gnss.z() - reference.altitude};
}

GeoReference geo_reference_from(const Eigen::Vector3d& location, const Eigen::Vector3d& gnss) {
  // y = cos(lat_ref) * (mercator_y(lat_ref) - mercator_y(lat)): one unknown, Newton from lat (a
  // world spans kilometres, so the reference lies within a fraction of a degree).
  const double y_of_lat = mercator_y(gnss.x());
  const auto residual = [&](double lat_ref) { return lat_to_scale(lat_ref) * (mercator_y(lat_ref) - y_of_lat) - location.y(); };
  double lat_ref = gnss.x();
  for (int iteration = 0; iteration < 100 && std::fabs(residual(lat_ref)) > 1e-9; ++iteration) {
    const double h = 1e-7;
    const double slope = (residual(lat_ref + h) - residual(lat_ref - h)) / (2.0 * h);
    if (!(std::fabs(slope) > 0.0)) break;
    lat_ref -= residual(lat_ref) / slope;
  }
  if (!std::isfinite(lat_ref) || std::fabs(lat_ref) >= 89.0 || std::fabs(residual(lat_ref)) > 1e-6) {
    throw Error("no geo reference puts world y " + std::to_string(location.y()) + " at latitude " +
                std::to_string(gnss.x()));
  }
  GeoReference reference;
  reference.latitude = lat_ref;
  reference.longitude = gnss.y() - location.x() / (lat_to_scale(lat_ref) * kEarthRadiusEquator * kDeg);
  reference.altitude = gnss.z() - location.z();
  return reference;
}

data::Frame carla_frame(const CarlaTick& tick, const std::vector<CarlaCamera>& cameras,
                        const CarlaFrameOptions& options) {
  const std::string where = "CARLA tick " + std::to_string(tick.index);
  if (!std::isfinite(tick.compass)) throw DataError(where + ": the compass is not finite");
  // Compass 0 = north = CARLA's -y, clockwise: CARLA yaw = compass - 90 degrees.
  const double yaw_degrees = tick.compass / kDeg - 90.0;
  const Eigen::Matrix4d heading = data::detail::carla_matrix(Eigen::Vector3d::Zero(), {0.0, 0.0, yaw_degrees});
  Eigen::Vector3d origin;
  if (tick.location) {
    origin = *tick.location;
  } else if (tick.gnss) {
    // The GPS reports where it sits, not the ego origin.
    origin = gnss_to_world(options.geo, *tick.gnss) - heading.topLeftCorner<3, 3>() * options.gnss_mount;
  } else {
    throw DataError(where + ": neither a GNSS reading nor a location");
  }
  if (!finite(origin)) throw DataError(where + ": the ego position is not finite");

  data::Frame frame;
  frame.clip = "carla";
  frame.index = tick.index;
  const Eigen::Matrix4d ego2world_lh = data::detail::carla_matrix(origin, {0.0, 0.0, yaw_degrees});
  frame.ego2world = data::detail::left_to_right() * ego2world_lh * data::detail::left_to_right();

  data::EgoStatus& ego = frame.ego;
  ego.speed = tick.speed;
  ego.acceleration = data::detail::acceleration_to_right_handed(tick.accelerometer);
  ego.angular_velocity = data::detail::angular_velocity_to_right_handed(tick.gyroscope);
  ego.steer = data::detail::steer_to_right_handed(tick.applied.steer);
  ego.throttle = tick.applied.throttle;
  ego.brake = tick.applied.brake;

  try {
    frame.command = data::command_from_road_option(tick.road_option);
  } catch (const DataError& e) {
    throw DataError(where + ": " + e.what());
  }
  if (tick.target) {
    // A ground point at the ego's height, as the reader reads x/y_command_near.
    const Eigen::Vector4d world(tick.target->x(), -tick.target->y(), frame.ego2world(2, 3), 1.0);
    frame.command_target = (data::detail::rigid_inverse(frame.ego2world) * world).head<2>();
  }
  for (const CarlaCamera& camera : cameras) frame.cameras.push_back(camera_from_carla(camera));
  return frame;
}

}  // namespace rsd::drive
