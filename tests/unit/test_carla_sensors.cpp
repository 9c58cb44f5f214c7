// The CARLA agent's sensor side (rsd/drive/carla_sensors.h): the camera rig against the format
// document's numbers and Bench2DriveZoo's hard-coded lidar2cam matrices (the CAM_BACK pitfall),
// CARLA's geo projection, and the frame of a tick of CARLA sensor values against the frame the
// reader makes of the same tick's annotation (the closed-loop world writes both sides).
#include <gtest/gtest.h>

#include <Eigen/Dense>

#include <cmath>
#include <nlohmann/json.hpp>

#include "rsd/data/frame_reader.h"
#include "rsd/data/synth/closed_loop.h"
#include "rsd/drive/carla_sensors.h"
#include "rsd/util/error.h"

namespace {

using rsd::drive::CarlaCamera;
using rsd::drive::GeoReference;

Eigen::Matrix4d matrix4(const nlohmann::json& rows) {
  Eigen::Matrix4d m;
  for (int r = 0; r < 4; ++r) {
    for (int c = 0; c < 4; ++c) m(r, c) = rows.at(r).at(c).get<double>();
  }
  return m;
}

Eigen::Vector3d vector3(const nlohmann::json& v) { return {v.at(0).get<double>(), v.at(1).get<double>(), v.at(2).get<double>()}; }

TEST(CarlaSensors, RigIsBench2DriveZoosSixCamerasInNuscenesOrder) {
  const auto& cameras = rsd::drive::bench2drive_cameras();
  ASSERT_EQ(cameras.size(), 6u);
  std::vector<std::string> names;
  for (const CarlaCamera& c : cameras) names.push_back(c.id);
  EXPECT_EQ(names, rsd::data::default_camera_names());
  // Format document section 4 (tools/data_collect.py:sensors(), vad_b2d_agent.py sensors()).
  struct Row { double x, y, yaw, fov; };
  const Row expected[] = {{0.80, 0.0, 0.0, 70.0},    {0.27, -0.55, -55.0, 70.0}, {0.27, 0.55, 55.0, 70.0},
                          {-2.0, 0.0, 180.0, 110.0}, {-0.32, -0.55, -110.0, 70.0}, {-0.32, 0.55, 110.0, 70.0}};
  for (int i = 0; i < 6; ++i) {
    SCOPED_TRACE(cameras[i].id);
    EXPECT_DOUBLE_EQ(cameras[i].x, expected[i].x);
    EXPECT_DOUBLE_EQ(cameras[i].y, expected[i].y);
    EXPECT_DOUBLE_EQ(cameras[i].z, 1.60);
    EXPECT_DOUBLE_EQ(cameras[i].yaw, expected[i].yaw);
    EXPECT_DOUBLE_EQ(cameras[i].roll, 0.0);
    EXPECT_DOUBLE_EQ(cameras[i].pitch, 0.0);
    EXPECT_DOUBLE_EQ(cameras[i].fov, expected[i].fov);
    EXPECT_EQ(cameras[i].width, 1600);
    EXPECT_EQ(cameras[i].height, 900);
    const rsd::data::Camera camera = rsd::drive::camera_from_carla(cameras[i]);
    EXPECT_NEAR(camera.intrinsics(0, 0), expected[i].fov == 70.0 ? 1142.518405 : 560.166031, 1e-6);
    EXPECT_DOUBLE_EQ(camera.intrinsics(1, 1), camera.intrinsics(0, 0));
    EXPECT_DOUBLE_EQ(camera.intrinsics(0, 2), 800.0);
    EXPECT_DOUBLE_EQ(camera.intrinsics(1, 2), 450.0);
    EXPECT_EQ(camera.folder, rsd::data::camera_folder(cameras[i].id));
  }
  const auto other = rsd::drive::bench2drive_other_sensors();
  ASSERT_EQ(other.size(), 3u);
  EXPECT_EQ(other[0].id, "IMU");
  EXPECT_EQ(other[1].id, "GPS");
  EXPECT_DOUBLE_EQ(other[1].x, -1.4);
  EXPECT_EQ(other[2].type, "sensor.speedometer");
  EXPECT_EQ(other[2].reading_frequency, 20);
}

TEST(CarlaSensors, ExtrinsicsGiveBench2DriveZoosLidar2CamIncludingCamBack) {
  // Bench2DriveZoo's vad_b2d_agent.py lidar2cam constants (format document section 4): the camera
  // frame (OpenCV) from the Zoo's lidar frame (x right, y forward, z up at (-0.39, 0, 1.84)).
  Eigen::Matrix4d lidar2ego;
  lidar2ego << 0, 1, 0, -0.39, -1, 0, 0, 0, 0, 0, 1, 1.84, 0, 0, 0, 1;
  const double zoo[6][12] = {
      {1, 0, 0, 0, 0, 0, -1, -0.24, 0, 1, 0, -1.19},
      {0.57357644, 0.81915204, 0, -0.22517331, 0, 0, -1, -0.24, -0.81915204, 0.57357644, 0, -0.82909407},
      {0.57357644, -0.81915204, 0, 0.22517331, 0, 0, -1, -0.24, 0.81915204, 0.57357644, 0, -0.82909407},
      {-1, 0, 0, 0, 0, 0, -1, -0.24, 0, -1, 0, -1.61},
      {-0.34202014, 0.93969262, 0, -0.25388956, 0, 0, -1, -0.24, -0.93969262, -0.34202014, 0, -0.49288953},
      {-0.34202014, -0.93969262, 0, 0.25388956, 0, 0, -1, -0.24, 0.93969262, -0.34202014, 0, -0.49288953}};
  const auto& cameras = rsd::drive::bench2drive_cameras();
  for (int i = 0; i < 6; ++i) {
    SCOPED_TRACE(cameras[i].id);
    const Eigen::Matrix4d lidar2cam = rsd::drive::camera_from_carla(cameras[i]).cam2ego.inverse() * lidar2ego;
    for (int r = 0; r < 3; ++r) {
      for (int c = 0; c < 4; ++c) EXPECT_NEAR(lidar2cam(r, c), zoo[i][4 * r + c], 1e-7) << r << "," << c;
    }
  }
  // CAM_BACK looks backwards: a point 10 m behind the ego projects to the image centre.
  const rsd::data::Camera back = rsd::drive::camera_from_carla(cameras[3]);
  const Eigen::Vector4d p = back.cam2ego.inverse() * Eigen::Vector4d(-12.0, 0.0, 1.6, 1.0);
  ASSERT_GT(p.z(), 0.0);
  const Eigen::Vector3d pixel = back.intrinsics * (p.head<3>() / p.z());
  EXPECT_NEAR(pixel.x(), 800.0, 1e-9);
  EXPECT_NEAR(pixel.y(), 450.0, 1e-9);
}

TEST(CarlaSensors, GeoProjectionIsCarlasAndItsInverseIsExact) {
  for (const GeoReference reference : {GeoReference{}, GeoReference{49.0, 8.0, 10.0}, GeoReference{0.0, 0.0, 0.0}}) {
    const Eigen::Vector3d origin = rsd::drive::world_to_gnss(reference, Eigen::Vector3d::Zero());
    EXPECT_NEAR(origin.x(), reference.latitude, 1e-12);
    EXPECT_NEAR(origin.y(), reference.longitude, 1e-12);
    EXPECT_NEAR(origin.z(), reference.altitude, 1e-12);
    // CARLA's +x is east (longitude grows), its +y south (latitude falls).
    const Eigen::Vector3d east = rsd::drive::world_to_gnss(reference, {100.0, 0.0, 0.0});
    const Eigen::Vector3d south = rsd::drive::world_to_gnss(reference, {0.0, 100.0, 0.0});
    EXPECT_GT(east.y(), reference.longitude);
    EXPECT_NEAR(east.x(), reference.latitude, 1e-12);
    EXPECT_LT(south.x(), reference.latitude);
    // 100 m along the equator-scaled Mercator x is 100 / (R cos(lat_ref)) radians of longitude.
    EXPECT_NEAR((east.y() - reference.longitude) * M_PI / 180.0 * 6378137.0 * std::cos(reference.latitude * M_PI / 180.0),
                100.0, 1e-9);
    for (const Eigen::Vector3d& location : {Eigen::Vector3d(-497.42, 3640.61, 364.4), Eigen::Vector3d(5123.0, -2210.5, -3.0)}) {
      const Eigen::Vector3d gnss = rsd::drive::world_to_gnss(reference, location);
      EXPECT_LT((rsd::drive::gnss_to_world(reference, gnss) - location).norm(), 1e-6);
      const GeoReference recovered = rsd::drive::geo_reference_from(location, gnss);
      EXPECT_NEAR(recovered.latitude, reference.latitude, 1e-9);
      EXPECT_NEAR(recovered.longitude, reference.longitude, 1e-9);
      EXPECT_NEAR(recovered.altitude, reference.altitude, 1e-9);
    }
  }
}

// A tick of CARLA sensor values made from an annotation: what the leaderboard would hand the agent
// in that state (the GPS 1.4 m behind the ego origin).
rsd::drive::CarlaTick tick_of(const nlohmann::json& anno, const GeoReference& reference, int index) {
  rsd::drive::CarlaTick tick;
  tick.index = index;
  const Eigen::Matrix4d ego2world_lh = matrix4(anno["bounding_boxes"][0]["world2ego"]).inverse();
  const Eigen::Vector4d gps = ego2world_lh * Eigen::Vector4d(-1.4, 0.0, 0.0, 1.0);
  tick.gnss = rsd::drive::world_to_gnss(reference, gps.head<3>());
  tick.compass = anno["theta"].get<double>();
  tick.accelerometer = vector3(anno["acceleration"]);
  tick.gyroscope = vector3(anno["angular_velocity"]);
  tick.speed = anno["speed"].get<double>();
  tick.applied = {anno["throttle"].get<double>(), anno["steer"].get<double>(), anno["brake"].get<double>()};
  tick.road_option = anno["command_near"].get<int>();
  tick.target = Eigen::Vector2d(anno["x_command_near"].get<double>(), anno["y_command_near"].get<double>());
  return tick;
}

TEST(CarlaSensors, FrameOfSensorValuesEqualsTheReadersFrameOfTheAnnotation) {
  namespace synth = rsd::data::synth;
  synth::ClosedLoopOptions options;
  options.image_width = 352;
  options.image_height = 198;
  const synth::RouteSpec route = synth::make_route_set(1, 7, 30)[0];
  synth::ClosedLoopWorld world(route, options);
  const rsd::data::FrameReader reader(rsd::data::default_camera_names(), {false});
  rsd::data::ClipInfo clip;
  clip.name = world.clip_name();
  std::vector<CarlaCamera> cameras = rsd::drive::bench2drive_cameras();
  for (CarlaCamera& c : cameras) {
    c.width = options.image_width;
    c.height = options.image_height;
  }
  const GeoReference reference{49.0, 8.0, 10.0};
  rsd::drive::CarlaFrameOptions frame_options;
  frame_options.geo = reference;
  int compared = 0;
  for (int tick = 0; tick < 25 && !world.finished(); ++tick) {
    const std::string text = world.annotation();
    const nlohmann::json anno = nlohmann::json::parse(text, nullptr, true, true);
    if (anno["theta"].is_number() && anno["speed"].is_number()) {
      SCOPED_TRACE("tick " + std::to_string(tick));
      const rsd::data::Frame expected = reader.parse(text, clip, tick, "tick");
      const rsd::data::Frame frame = rsd::drive::carla_frame(tick_of(anno, reference, tick), cameras, frame_options);
      EXPECT_LT((frame.ego2world - expected.ego2world).cwiseAbs().maxCoeff(), 1e-6);
      EXPECT_NEAR(frame.ego.speed, expected.ego.speed, 1e-12);
      EXPECT_LT((frame.ego.acceleration - expected.ego.acceleration).norm(), 1e-12);
      EXPECT_LT((frame.ego.angular_velocity - expected.ego.angular_velocity).norm(), 1e-12);
      EXPECT_DOUBLE_EQ(frame.ego.steer, expected.ego.steer);
      EXPECT_DOUBLE_EQ(frame.ego.throttle, expected.ego.throttle);
      EXPECT_DOUBLE_EQ(frame.ego.brake, expected.ego.brake);
      EXPECT_EQ(frame.command, expected.command);
      EXPECT_LT((frame.command_target - expected.command_target).norm(), 1e-6);
      ASSERT_EQ(frame.cameras.size(), expected.cameras.size());
      for (std::size_t c = 0; c < frame.cameras.size(); ++c) {
        EXPECT_EQ(frame.cameras[c].name, expected.cameras[c].name);
        EXPECT_EQ(frame.cameras[c].width, expected.cameras[c].width);
        EXPECT_EQ(frame.cameras[c].height, expected.cameras[c].height);
        EXPECT_LT((frame.cameras[c].intrinsics - expected.cameras[c].intrinsics).cwiseAbs().maxCoeff(), 1e-9);
        EXPECT_LT((frame.cameras[c].cam2ego - expected.cameras[c].cam2ego).cwiseAbs().maxCoeff(), 1e-12);
      }
      ++compared;
    }
    world.step({0.6, tick < 12 ? 0.3 : -0.2, 0.0});
  }
  EXPECT_GE(compared, 20);
}

TEST(CarlaSensors, TickWithoutPositionOrCompassOrWithABadCommandIsRefused) {
  rsd::drive::CarlaTick tick;
  EXPECT_THROW(rsd::drive::carla_frame(tick, {}), rsd::DataError);  // neither GNSS nor location
  tick.location = Eigen::Vector3d(1.0, 2.0, 0.0);
  EXPECT_NO_THROW(rsd::drive::carla_frame(tick, {}));
  tick.compass = std::nan("");
  EXPECT_THROW(rsd::drive::carla_frame(tick, {}), rsd::DataError);
  tick.compass = 0.0;
  tick.road_option = 9;
  EXPECT_THROW(rsd::drive::carla_frame(tick, {}), rsd::DataError);
  EXPECT_THROW(rsd::drive::bench2drive_cameras({"CAM_FRONT", "TOP_DOWN"}), rsd::ConfigError);
  // Compass 0 faces north (CARLA -y): our world's +y, the ego's x axis.
  tick.road_option = 4;
  const rsd::data::Frame north = rsd::drive::carla_frame(tick, {});
  EXPECT_NEAR(north.ego2world(0, 0), 0.0, 1e-12);
  EXPECT_NEAR(north.ego2world(1, 0), 1.0, 1e-12);
  EXPECT_NEAR(north.ego2world(1, 3), -2.0, 1e-12);
}

}  // namespace
