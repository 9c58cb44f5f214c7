// The CARLA side of a Bench2Drive leaderboard agent: the sensors it asks for (the camera rig as
// Bench2DriveZoo's VAD agent declares it in sensors(), plus IMU, GNSS and speedometer) and the
// data::Frame one tick of their values gives, converted exactly as the frame reader converts an
// annotation (frame_reader.h), so that a model sees under CARLA what it saw in training.
//
//   cameras     intrinsics from fov and image size (fx = fy = W / (2 tan(fov / 2)), centre W/2,
//               H/2: the collector's build_projection_matrix); cam2ego = L * get_matrix(mount,
//               [pitch, roll, yaw]) * [OpenCV camera -> UE camera axes], as the reader does with
//               the annotation's cam2ego
//   ego pose    position from GNSS (the exact inverse of CARLA's geo projection, then the GNSS
//               mount undone) or given directly; heading from the IMU compass (CARLA yaw =
//               compass - 90 degrees); ego2world = L * get_matrix(position, [0, 0, yaw]) * L
//   ego status  speedometer speed; accelerometer (ax, -ay, az); gyroscope (-wx, wy, -wz); steer,
//               throttle and brake of the control applied last tick, steer negated
//   command     the route's RoadOption through command_from_road_option; command_target = the
//               route's next target point (CARLA world x, y) in the ego frame
#pragma once

#include <Eigen/Core>

#include <optional>
#include <string>
#include <vector>

#include "rsd/data/frame.h"
#include "rsd/drive/waypoint_controller.h"

namespace rsd::drive {

/// A camera as a leaderboard agent's sensors() declares it: mount in CARLA's ego frame (x forward,
/// y right, z up; metres), angles in degrees, image size in pixels, horizontal fov in degrees.
struct CarlaCamera {
  std::string id;  // Bench2Drive's camera name (CAM_FRONT, ...): the key of input_data
  double x = 0.0, y = 0.0, z = 0.0;
  double roll = 0.0, pitch = 0.0, yaw = 0.0;
  int width = 1600, height = 900;
  double fov = 70.0;
};

/// Bench2DriveZoo's six cameras (team_code/vad_b2d_agent.py sensors(); the collector's rig, format
/// document section 4), in nuScenes order: CAM_FRONT, CAM_FRONT_LEFT, CAM_FRONT_RIGHT, CAM_BACK
/// (fov 110), CAM_BACK_LEFT, CAM_BACK_RIGHT.
const std::vector<CarlaCamera>& bench2drive_cameras();

/// The named cameras of bench2drive_cameras(), in the order given. Throws rsd::ConfigError naming
/// a camera the rig does not have.
std::vector<CarlaCamera> bench2drive_cameras(const std::vector<std::string>& names);

/// A non-camera sensor of the agent: mount and rate as Bench2DriveZoo's VAD agent declares them.
struct CarlaSensor {
  std::string type;  // sensor.other.imu, sensor.other.gnss, sensor.speedometer
  std::string id;    // IMU, GPS, SPEED
  double x = 0.0, y = 0.0, z = 0.0;
  double sensor_tick = 0.0;      // seconds; 0: the speedometer (reading_frequency instead)
  int reading_frequency = 0;     // Hz, the speedometer only
};

/// IMU (sensor_tick 0.05), GPS (0.01), both at (-1.4, 0, 0), and SPEED (20 Hz).
const std::vector<CarlaSensor>& bench2drive_other_sensors();

/// The data layer's camera of a definition (name, folder, size, intrinsics, cam2ego; no image path).
data::Camera camera_from_carla(const CarlaCamera& camera);

/// The latitude, longitude (degrees) and altitude (metres) of a CARLA map's world origin: the
/// OpenDRIVE header's geo reference that CARLA's GNSS sensor projects with. Bench2DriveZoo's
/// default is (42, 2) (most towns); Town12/13 differ, hence geo_reference_from.
struct GeoReference {
  double latitude = 42.0;
  double longitude = 2.0;
  double altitude = 0.0;
};

/// CARLA's GeoLocation::Transform: a CARLA world location (left-handed, metres) -> (latitude,
/// longitude, altitude), through the Mercator projection scaled at the reference latitude.
Eigen::Vector3d world_to_gnss(const GeoReference& reference, const Eigen::Vector3d& location);

/// The exact inverse of world_to_gnss: (latitude, longitude, altitude) -> CARLA world location.
Eigen::Vector3d gnss_to_world(const GeoReference& reference, const Eigen::Vector3d& gnss);

/// The geo reference under which the world location `location` reads as `gnss` (what
/// Bench2DriveZoo's agents solve with fsolve from the route's first point, given both its world
/// and GNSS coordinates). Throws rsd::Error when no latitude in (-89, 89) fits.
GeoReference geo_reference_from(const Eigen::Vector3d& location, const Eigen::Vector3d& gnss);

/// One tick's sensor values as the leaderboard hands them to run_step, in CARLA's conventions.
struct CarlaTick {
  int index = 0;                                 // the frame number (Frame::index)
  std::optional<Eigen::Vector3d> gnss;           // GPS: latitude, longitude, altitude (of the sensor)
  std::optional<Eigen::Vector3d> location;       // or the ego origin's CARLA world location
  double compass = 0.0;                          // IMU compass, radians, 0 = north (-y), clockwise
  Eigen::Vector3d accelerometer = Eigen::Vector3d::Zero();  // IMU, m/s^2, CARLA's frame
  Eigen::Vector3d gyroscope = Eigen::Vector3d::Zero();      // IMU, rad/s, CARLA's frame
  double speed = 0.0;                            // SPEED, m/s forward
  Control applied;                               // the control applied since the last tick (CARLA's)
  int road_option = 4;                           // RoadOption of the route's next target point
  std::optional<Eigen::Vector2d> target;         // that point, CARLA world x, y
};

struct CarlaFrameOptions {
  GeoReference geo;
  Eigen::Vector3d gnss_mount{-1.4, 0.0, 0.0};    // where the GPS sits on the ego (CARLA ego frame)
};

/// The frame of one tick for `cameras` (their sizes: those of the images the model gets). Throws
/// rsd::DataError when the tick has neither gnss nor location, or a non-finite position or
/// compass (the caller replaces a NaN compass, as Bench2DriveZoo's agents do), or a road option
/// that is none.
data::Frame carla_frame(const CarlaTick& tick, const std::vector<CarlaCamera>& cameras,
                        const CarlaFrameOptions& options = {});

}  // namespace rsd::drive
