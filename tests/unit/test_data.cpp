// Data layer: Bench2Drive annotations into the right-handed ego frame, training samples (image
// geometry, BEV augmentation, trajectories, risk targets), the loader, and dataset inspection.
//
// The fixtures are written here, independently of librsd, with the formulas of
// ../shared/docs/bench2drive-format.md (CARLA's left-handed get_matrix, world2* = inverse, the
// 24 annotation keys, NaN/Infinity tokens, gzip through zlib, JPEGs through OpenCV). The truth they
// come from is a right-handed scene, so every check compares librsd against that scene.
#include <gtest/gtest.h>

#include <Eigen/Geometry>
#include <nlohmann/json.hpp>
#include <opencv2/core.hpp>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>
#include <torch/torch.h>
#include <zlib.h>

#include <atomic>
#include <chrono>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <numeric>
#include <thread>

#include "rsd/data/batch.h"
#include "rsd/data/bev_augmentation.h"
#include "rsd/data/clip_index.h"
#include "rsd/data/dataset.h"
#include "rsd/data/frame_reader.h"
#include "rsd/data/inspect.h"
#include "rsd/data/loader.h"
#include "rsd/data/risk_target_source.h"
#include "rsd/model/focal_loss.h"
#include "rsd/util/error.h"
#include "rsd/util/seed.h"
#include "support/carla_pose.h"
#include "support/error_message.h"
#include "support/temp_dir.h"

namespace {

namespace fs = std::filesystem;
using json = nlohmann::ordered_json;
using Eigen::Matrix3d;
using Eigen::Matrix4d;
using Eigen::Vector2d;
using Eigen::Vector3d;
using rsd::data::Box;
using rsd::data::ObjectClass;
using rsd::test::carla_get_matrix;
using rsd::test::error_message;

constexpr double kPi = 3.14159265358979323846;
constexpr int kClipFrames = 36;

double degrees(double radians) { return radians * 180.0 / kPi; }
double wrap(double angle) { return std::atan2(std::sin(angle), std::cos(angle)); }

// ---- CARLA's side, from the format document ----------------------------------------------------

Vector3d left_handed(const Vector3d& v) { return {v.x(), -v.y(), v.z()}; }

json to_json(const Vector3d& v) { return json::array({v.x(), v.y(), v.z()}); }
json to_json(const Matrix4d& m) {
  json rows = json::array();
  for (int r = 0; r < 4; ++r) rows.push_back(json::array({m(r, 0), m(r, 1), m(r, 2), m(r, 3)}));
  return rows;
}

void write_gzip(const std::string& path, const std::string& text) {
  fs::create_directories(fs::path(path).parent_path());
  gzFile file = gzopen(path.c_str(), "wb");
  ASSERT_NE(file, nullptr) << path;
  ASSERT_EQ(gzwrite(file, text.data(), static_cast<unsigned>(text.size())), static_cast<int>(text.size()));
  ASSERT_EQ(gzclose(file), Z_OK);
}

void truncate_file(const std::string& path, double keep_fraction) {
  const auto size = fs::file_size(path);
  fs::resize_file(path, static_cast<uintmax_t>(static_cast<double>(size) * keep_fraction));
}

// Python's json writes NaN/Infinity for non-finite floats; nlohmann cannot, so placeholders are
// swapped for the bare tokens after dumping.
std::string with_python_tokens(std::string text) {
  for (const auto& [placeholder, token] :
       {std::pair<std::string, std::string>{"\"__NaN__\"", "NaN"},
        {"\"__-Infinity__\"", "-Infinity"},
        {"\"__Infinity__\"", "Infinity"}}) {
    for (size_t at = text.find(placeholder); at != std::string::npos; at = text.find(placeholder)) {
      text.replace(at, placeholder.size(), token);
    }
  }
  return text;
}

// ---- The scene: the truth, right-handed ---------------------------------------------------------

struct CameraRig {
  const char* name;
  Vector3d mount_lh;  // section 4: x, y (CARLA: right), z
  double yaw_lh_deg;
  double fov_deg;
};
const std::vector<CameraRig> kRig = {{"CAM_FRONT", {0.80, 0.00, 1.60}, 0, 70},
                                     {"CAM_FRONT_LEFT", {0.27, -0.55, 1.60}, -55, 70},
                                     {"CAM_FRONT_RIGHT", {0.27, 0.55, 1.60}, 55, 70},
                                     {"CAM_BACK", {-2.00, 0.00, 1.60}, 180, 110},
                                     {"CAM_BACK_LEFT", {-0.32, -0.55, 1.60}, -110, 70},
                                     {"CAM_BACK_RIGHT", {-0.32, 0.55, 1.60}, 110, 70}};

const CameraRig& rig(const std::string& name) {
  for (const CameraRig& camera : kRig) {
    if (name == camera.name) return camera;
  }
  throw std::runtime_error("no camera " + name);
}

Matrix3d intrinsics(int width, int height, double fov_deg) {
  const double f = width / (2.0 * std::tan(fov_deg * kPi / 360.0));
  Matrix3d k;
  k << f, 0, width / 2.0, 0, f, height / 2.0, 0, 0, 1;
  return k;
}

struct ObjectTruth {
  std::string annotation_class;
  std::string id;
  std::string type_id;
  Vector3d center0;             // world, right-handed, box centre at frame 0
  Vector2d velocity;            // world, m/s
  double yaw = 0;               // world heading, right-handed
  Vector3d extent;              // half sizes
  bool is_static = false;
  int absent_frame = -1;        // a frame the object is not annotated in
  Vector3d center(int frame) const {
    return center0 + Vector3d(velocity.x(), velocity.y(), 0) * (frame / 10.0);
  }
};

Vector3d ego_position(int frame) { return {50.0 + 0.5 * frame, -20.0 + 0.1 * frame + 0.01 * frame * frame, 2.0}; }
double ego_yaw(int frame) { return 0.2 + 0.02 * frame; }
Matrix4d ego2world(int frame) {
  Matrix4d m = Matrix4d::Identity();
  m.topLeftCorner<3, 3>() = Eigen::AngleAxisd(ego_yaw(frame), Vector3d::UnitZ()).toRotationMatrix();
  m.topRightCorner<3, 1>() = ego_position(frame);
  return m;
}
// A world point in the ego frame of `frame` (the truth librsd must reproduce).
Vector3d in_ego(int frame, const Vector3d& world) {
  return (ego2world(frame).inverse() * world.homogeneous()).head<3>();
}
Vector2d rotate_into_ego(int frame, const Vector2d& world_vector) {
  return Eigen::Rotation2Dd(-ego_yaw(frame)) * world_vector;
}

std::vector<ObjectTruth> scene_objects() {
  const auto heading = [](double speed, double yaw) {
    return Vector2d(speed * std::cos(yaw), speed * std::sin(yaw));
  };
  return {
      {"vehicle", "301", "vehicle.audi.tt", {62, -18, 2.75}, heading(3.0, 0.5), 0.5, {2.4, 1.08, 0.75}},
      {"walker", "410", "walker.pedestrian.0012", {58, -25, 2.9}, {0.3, 1.2}, 1.3, {0.3, 0.3, 0.9},
       false, 10},
      {"vehicle", "80", "vehicle.bh.crossbike", {45, -15, 2.8}, heading(4.0, -0.4), -0.4, {0.8, 0.4, 0.8}},
      {"vehicle", "70",
       "/Game/Carla/Static/Car/4Wheeled/ParkedVehicles/FordCrown/SM_FordCrown_parked.SM_FordCrown_parked",
       {55, -12, 2.7}, {0, 0}, 2.0, {2.6, 1.0, 0.7}, true},
      {"traffic_light", "50", "traffic.traffic_light", {70, -22, 5.0}, {0, 0}, 1.57, {0.6, 0.6, 3.0}},
      {"traffic_sign", "60", "static.prop.constructioncone", {52, -23, 2.3}, {0, 0}, 0.0, {0.2, 0.2, 0.3}},
      {"traffic_sign", "61", "static.prop.dirtdebris01", {53, -24, 2.0}, {0, 0}, 0.0, {1.0, 1.0, 0.05}},
      {"traffic_sign", "62", "static.prop.\"NaN\" Infinity", {53, -26, 2.0}, {0, 0}, 0.0, {0.5, 0.5, 0.5}},
      {"vehicle", "302", "vehicle.tesla.model3", {150, -20, 2.75}, heading(2.0, 0.0), 0.0, {2.4, 1.0, 0.75}},
  };
}

int command_near(int frame) { return std::vector<int>{-1, 1, 2, 3, 4, 5, 6}[frame % 7]; }
int expected_command(int frame) { return std::vector<int>{3, 0, 1, 2, 3, 4, 5}[frame % 7]; }

json box_json(const ObjectTruth& object, int frame, const Matrix4d& world2ego_lh) {
  const Vector3d center_lh = left_handed(object.center(frame));
  const Vector3d bbx_loc(0, 0, object.extent.z());
  const Vector3d location_lh = center_lh - bbx_loc;
  const Vector3d rotation(0, 0, -degrees(object.yaw));
  const Matrix4d world2object = carla_get_matrix(location_lh, rotation).inverse();
  json box;
  box["class"] = object.annotation_class;
  if (object.annotation_class == "vehicle") box["state"] = object.is_static ? "static" : "dynamic";
  box["id"] = object.id;
  // Static vehicles have a wrong location/rotation in the real files: so do ours.
  box["location"] = to_json(object.is_static ? Vector3d(0, 0, 0) : location_lh);
  box["rotation"] = to_json(object.is_static ? Vector3d(0, 0, 123.0) : rotation);
  if (object.annotation_class != "traffic_light") box["bbx_loc"] = to_json(bbx_loc);
  box["center"] = to_json(center_lh);
  box["extent"] = to_json(object.extent);
  box["semantic_tags"] = json::array({14});
  box["type_id"] = object.type_id;
  box["distance"] = (object.center(frame) - ego_position(frame)).head<2>().norm();
  const Vector3d in_carla_ego = (world2ego_lh * center_lh.homogeneous()).head<3>();
  (void)in_carla_ego;
  if (object.annotation_class == "vehicle") {
    box["base_type"] = "car";
    box["num_points"] = 42;
    box["speed"] = object.velocity.norm();
    box["brake"] = object.is_static ? 1.0 : 0.0;
    box["light_state"] = "NONE";
    box["world2vehicle"] = to_json(world2object);
  } else if (object.annotation_class == "walker") {
    box["gender"] = "female";
    box["speed"] = 0.0;  // CARLA's bug, as in the real files
    box["world2ped"] = to_json(world2object);
  } else if (object.annotation_class == "traffic_light") {
    box["state"] = 0;
    box["affects_ego"] = true;
    box["trigger_volume_extent"] = json::array({0.5, 5.0, 2.0});
  } else {
    box["affects_ego"] = false;
    box["world2sign"] = to_json(world2object);
  }
  box["road_id"] = 35;
  box["lane_id"] = -1;
  box["section_id"] = 0;
  return box;
}

struct ClipSpec {
  std::string name = "PedestrianCrossing_Town12_Route7_Weather3";
  int frames = kClipFrames;
  int image_width = 16;
  int image_height = 9;
  std::vector<std::string> image_cameras = {"CAM_FRONT", "CAM_BACK_LEFT"};
  std::vector<Vector3d> blobs;  // ego-frame points drawn as white disks into every image
};

// The pixel (corner convention, see batch.h) of an ego-frame point, via CARLA's matrices; nullopt
// when behind the camera.
std::optional<Vector2d> project_carla(const CameraRig& camera, const Matrix3d& k, const Vector3d& ego_point) {
  const Matrix4d cam2ego = carla_get_matrix(camera.mount_lh, {0, 0, camera.yaw_lh_deg});
  const Vector3d ue = (cam2ego.inverse() * left_handed(ego_point).homogeneous()).head<3>();
  const Vector3d cv(ue.y(), -ue.z(), ue.x());  // tools/utils.py get_image_point
  if (cv.z() <= 0) return std::nullopt;
  return Vector2d(k(0, 0) * cv.x() / cv.z() + k(0, 2), k(1, 1) * cv.y() / cv.z() + k(1, 2));
}

std::string write_annotation(const std::string& clip_path, int frame, const ClipSpec& spec) {
  const Vector3d position_lh = left_handed(ego_position(frame));
  const double yaw_lh_deg = -degrees(ego_yaw(frame));
  const Matrix4d ego2world_lh = carla_get_matrix(position_lh, {0, 0, yaw_lh_deg});
  const Matrix4d world2ego_lh = ego2world_lh.inverse();
  const Vector3d ego_extent(2.4508, 1.0641, 0.7553);
  const Vector3d near_point = left_handed(
      (ego2world(frame) * Eigen::Vector4d(20.0, 1.0, 0.0, 1.0)).head<3>());

  json anno;
  anno["x"] = position_lh.x() + 0.3;  // GNSS-like, not the exact pose
  anno["y"] = position_lh.y() - 0.2;
  anno["throttle"] = 0.5;
  anno["steer"] = 0.25;
  anno["brake"] = 0.0;
  anno["reverse"] = false;
  anno["theta"] = frame == 2 ? json("__NaN__") : json(std::fmod((yaw_lh_deg + 90.0) * kPi / 180.0 + 4 * kPi, 2 * kPi));
  anno["speed"] = frame == 3 ? json(nullptr) : json(4.5);
  anno["x_command_far"] = near_point.x() + 30;
  anno["y_command_far"] = near_point.y();
  anno["command_far"] = 4;
  anno["x_command_near"] = near_point.x();
  anno["y_command_near"] = near_point.y();
  anno["command_near"] = command_near(frame);
  anno["should_brake"] = 0;
  anno["x_target"] = near_point.x();
  anno["y_target"] = near_point.y();
  anno["next_command"] = 4;
  anno["weather"] = {{"cloudiness", 100.0}, {"precipitation", 50.0}, {"precipitation_deposits", 100.0},
                     {"wind_intensity", 80.0}, {"sun_azimuth_angle", -1.0}, {"sun_altitude_angle", 45.0},
                     {"fog_density", 10.0}, {"fog_distance", "__-Infinity__"}, {"wetness", 80.0},
                     {"fog_falloff", "__Infinity__"}};
  anno["acceleration"] = json::array({0.4, -0.3, 9.8});
  anno["angular_velocity"] = json::array({0.01, 0.02, -0.05});

  json boxes = json::array();
  json ego;
  ego["class"] = "ego_vehicle";
  ego["id"] = "2137";
  ego["type_id"] = "vehicle.lincoln.mkz_2020";
  ego["base_type"] = "car";
  ego["location"] = to_json(position_lh);
  ego["rotation"] = to_json(Vector3d(0, 0, yaw_lh_deg));
  ego["bbx_loc"] = json::array({0.0, 0.0, ego_extent.z()});
  ego["center"] = to_json(Vector3d(position_lh + Vector3d(0, 0, ego_extent.z())));
  ego["extent"] = to_json(ego_extent);
  ego["semantic_tags"] = json::array({json::array({14})});
  ego["color"] = "17,37,103";
  ego["speed"] = 4.5;
  ego["brake"] = 0.0;
  ego["world2ego"] = to_json(world2ego_lh);
  boxes.push_back(ego);
  for (const ObjectTruth& object : scene_objects()) {
    if (object.absent_frame == frame) continue;
    boxes.push_back(box_json(object, frame, world2ego_lh));
  }
  anno["bounding_boxes"] = boxes;

  json sensors;
  for (const CameraRig& camera : kRig) {
    const Matrix4d cam2ego = carla_get_matrix(camera.mount_lh, {0, 0, camera.yaw_lh_deg});
    const Matrix4d cam2world = ego2world_lh * cam2ego;
    const Matrix3d k = intrinsics(spec.image_width, spec.image_height, camera.fov_deg);
    json sensor;
    sensor["location"] = to_json(Vector3d(cam2world.topRightCorner<3, 1>()));
    sensor["rotation"] = to_json(Vector3d(0, 0, yaw_lh_deg + camera.yaw_lh_deg));
    sensor["intrinsic"] = json::array({json::array({k(0, 0), 0.0, k(0, 2)}),
                                       json::array({0.0, k(1, 1), k(1, 2)}),
                                       json::array({0.0, 0.0, 1.0})});
    sensor["world2cam"] = to_json(Matrix4d(cam2world.inverse()));
    sensor["cam2ego"] = to_json(cam2ego);
    sensor["fov"] = camera.fov_deg;
    sensor["image_size_x"] = spec.image_width;
    sensor["image_size_y"] = spec.image_height;
    sensors[camera.name] = sensor;
  }
  const Matrix4d lidar2ego = carla_get_matrix({-0.39, 0, 1.84}, {0, 0, 0});
  sensors["LIDAR_TOP"] = {{"location", to_json(Vector3d((ego2world_lh * lidar2ego).topRightCorner<3, 1>()))},
                          {"rotation", to_json(Vector3d(0, 0, yaw_lh_deg))},
                          {"world2lidar", to_json(Matrix4d((ego2world_lh * lidar2ego).inverse()))},
                          {"lidar2ego", to_json(lidar2ego)}};
  anno["sensors"] = sensors;
  anno["only_ap_brake"] = 0;

  char name[32];
  std::snprintf(name, sizeof(name), "/anno/%05d.json.gz", frame);
  const std::string path = clip_path + name;
  write_gzip(path, with_python_tokens(anno.dump(4)));
  return path;
}

void write_images(const std::string& clip_path, int frame, const ClipSpec& spec) {
  for (const std::string& name : spec.image_cameras) {
    const CameraRig& camera = rig(name);
    const Matrix3d k = intrinsics(spec.image_width, spec.image_height, camera.fov_deg);
    cv::Mat image(spec.image_height, spec.image_width, CV_8UC3, cv::Scalar(20, 20, 20));
    for (const Vector3d& blob : spec.blobs) {
      const std::optional<Vector2d> pixel = project_carla(camera, k, blob);
      if (!pixel) continue;
      // cv::circle works on pixel indices (centres at integers): shift by half a pixel; 4
      // fractional bits keep the centre sub-pixel.
      const cv::Point centre(static_cast<int>(std::lround((pixel->x() - 0.5) * 16)),
                             static_cast<int>(std::lround((pixel->y() - 0.5) * 16)));
      cv::circle(image, centre, 8 * 16, cv::Scalar(255, 255, 255), cv::FILLED, cv::LINE_AA, 4);
    }
    char file[64];
    std::snprintf(file, sizeof(file), "/camera/%s/%05d.jpg", rsd::data::camera_folder(name).c_str(), frame);
    fs::create_directories(fs::path(clip_path + file).parent_path());
    ASSERT_TRUE(cv::imwrite(clip_path + file, image, {cv::IMWRITE_JPEG_QUALITY, 95}));
  }
}

std::string write_clip(const std::string& root, const ClipSpec& spec) {
  const std::string clip_path = root + "/" + spec.name;
  for (int frame = 0; frame < spec.frames; ++frame) {
    write_annotation(clip_path, frame, spec);
    write_images(clip_path, frame, spec);
  }
  return clip_path;
}

rsd::GridSpec test_grid() { return rsd::GridSpec({-32, 32, 0.5}, {-32, 32, 0.5}, {-5, 3, 8}); }

rsd::data::DatasetOptions dataset_options(const std::string& root) {
  rsd::data::DatasetOptions options(test_grid());
  options.root = root;
  options.cameras = {"CAM_FRONT", "CAM_BACK_LEFT"};
  options.image_height = 64;
  options.image_width = 112;
  options.seed = 7;
  return options;
}


// ---- Reader -------------------------------------------------------------------------------------

// The example annotation of bench2drive-format.md section 3.4, with theta NaN and speed null.
const char* kFormatExample = R"({
  "x": -497.42, "y": 3640.61,
  "throttle": 0.7, "steer": 0.0, "brake": 0.0, "reverse": false,
  "theta": NaN,
  "speed": null,
  "x_command_far": -497.9, "y_command_far": 3596.9, "command_far": 4,
  "x_command_near": -497.8, "y_command_near": 3626.9, "command_near": 4,
  "should_brake": 0,
  "x_target": -497.8, "y_target": 3618.9, "next_command": 4,
  "weather": {"cloudiness": 100.0, "precipitation": 50.0, "precipitation_deposits": 100.0,
              "wind_intensity": 80.0, "sun_azimuth_angle": -1.0, "sun_altitude_angle": 45.0,
              "fog_density": 10.0, "fog_distance": 0.0, "wetness": 80.0, "fog_falloff": 0.2},
  "acceleration": [0.41, -0.02, 9.8],
  "angular_velocity": [0.0003, -0.0011, 0.0021],
  "bounding_boxes": [
    {
      "class": "ego_vehicle", "id": "2137", "type_id": "vehicle.lincoln.mkz_2020", "base_type": "car",
      "location": [-497.7, 3640.2, 364.4], "rotation": [0.0, 0.0, -90.2],
      "bbx_loc": [0.0, 0.0, 0.7553], "center": [-497.7, 3640.2, 365.1553],
      "extent": [2.4508, 1.0641, 0.7553],
      "semantic_tags": [[14]], "color": "17,37,103", "speed": 6.12, "brake": 0.0,
      "road_id": 35, "lane_id": -1, "section_id": 0,
      "world2ego": [[-0.003491, -0.999994, 0.0, 3638.440525], [0.999994, -0.003491, -0.0, 510.403637],
                    [0.0, 0.0, 1.0, -364.4], [0.0, 0.0, 0.0, 1.0]]
    },
    {
      "class": "vehicle", "state": "dynamic", "id": "2151",
      "location": [-497.7698, 3620.2001, 364.3], "rotation": [0.0, 0.0, -90.0],
      "bbx_loc": [0.0, 0.0, 0.7446], "center": [-497.7698, 3620.2001, 365.0446],
      "extent": [2.396, 1.0818, 0.7446],
      "semantic_tags": [14], "type_id": "vehicle.audi.tt", "color": "20,20,20", "base_type": "car",
      "num_points": 412, "distance": 20.0, "speed": 5.87, "brake": 0.0, "light_state": "NONE",
      "road_id": 35, "lane_id": -1, "section_id": 0,
      "world2vehicle": [[0.0, -1.0, 0.0, 3620.200122], [1.0, 0.0, -0.0, 497.769813],
                        [0.0, 0.0, 1.0, -364.3], [0.0, 0.0, 0.0, 1.0]]
    },
    {
      "class": "traffic_light", "id": "311", "location": [-489.1, 3590.4, 369.9],
      "rotation": [0.0, 0.0, 90.0], "center": [-489.1, 3590.4, 369.9], "extent": [0.6, 0.6, 3.8],
      "semantic_tags": [7], "type_id": "traffic.traffic_light", "distance": 50.7, "state": 0,
      "affects_ego": true, "trigger_volume_location": [-498.2, 3594.0, 364.2],
      "trigger_volume_rotation": [0.0, 0.0, 270.0], "trigger_volume_extent": [0.5, 5.0, 2.0],
      "road_id": 35, "lane_id": -1, "section_id": 0
    }
  ],
  "sensors": {
    "CAM_FRONT": {
      "location": [-497.7028, 3639.4, 366.0], "rotation": [0.0, 0.0, -90.2],
      "intrinsic": [[1142.518405, 0.0, 800.0], [0.0, 1142.518405, 450.0], [0.0, 0.0, 1.0]],
      "world2cam": [[-0.003491, -0.999994, 0.0, 3637.640525], [0.999994, -0.003491, 0.0, 510.403637],
                    [0.0, 0.0, 1.0, -366.0], [0.0, 0.0, 0.0, 1.0]],
      "cam2ego": [[1.0, 0.0, -0.0, 0.8], [0.0, 1.0, 0.0, 0.0], [0.0, -0.0, 1.0, 1.6], [0.0, 0.0, 0.0, 1.0]],
      "fov": 70.0, "image_size_x": 1600, "image_size_y": 900
    }
  },
  "only_ap_brake": 0
})";

TEST(DataReader, FormatExampleReadsIntoTheRightHandedEgoFrame) {
  rsd::test::TempDir dir;
  rsd::data::ClipInfo clip = rsd::data::parse_clip_name("HardBreakRoute_Town01_Route30_Weather3");
  clip.path = dir.path() + "/" + clip.name;
  write_gzip(clip.path + "/anno/00000.json.gz", kFormatExample);
  const rsd::data::FrameReader reader({"CAM_FRONT"});
  const rsd::data::Frame frame = reader.read(clip, 0);

  // Ego: pose from world2ego (y negated; the file rounds it to 6 decimals, hence 2 mm), speed
  // null -> the ego box's speed, LH -> RH status.
  EXPECT_NEAR(frame.ego2world(0, 3), -497.7, 2e-3);
  EXPECT_NEAR(frame.ego2world(1, 3), -3640.2, 2e-3);
  EXPECT_NEAR(frame.ego2world(2, 3), 364.4, 2e-3);
  EXPECT_NEAR(std::atan2(frame.ego2world(1, 0), frame.ego2world(0, 0)), 90.2 * kPi / 180, 1e-5);
  EXPECT_DOUBLE_EQ(frame.ego.speed, 6.12);
  EXPECT_NEAR(frame.ego.acceleration.y(), 0.02, 1e-12);
  EXPECT_NEAR(frame.ego.angular_velocity.z(), -0.0021, 1e-12);
  EXPECT_EQ(frame.command, rsd::data::Command::lane_follow);
  EXPECT_NEAR(frame.command_target.x(), 13.30, 0.01);  // 13.3 m ahead, 0.05 m left
  EXPECT_NEAR(frame.command_target.y(), 0.0535, 0.005);
  EXPECT_NEAR(frame.ego_size.x(), 4.9016, 1e-9);

  // The vehicle 20 m ahead: the document gives (-0.001, 20.39, -1.195) in the Zoo's lidar frame
  // (x right, y forward, origin (-0.39, 0, 1.84)), i.e. (20.0, 0.001, 0.645) in the ego frame.
  ASSERT_EQ(frame.boxes.size(), 2u);
  const Box& car = frame.boxes[0];
  EXPECT_EQ(car.id, "2151");
  EXPECT_EQ(car.object_class, ObjectClass::vehicle);
  EXPECT_NEAR(car.center.x(), 20.0, 2e-3);
  EXPECT_NEAR(car.center.y(), 0.001, 2e-3);
  EXPECT_NEAR(car.center.z(), 0.645, 2e-3);
  EXPECT_NEAR(car.size.x(), 4.792, 1e-9);
  EXPECT_NEAR(car.size.y(), 2.1636, 1e-9);
  EXPECT_NEAR(car.yaw, -0.2 * kPi / 180, 1e-4);  // heading -90 vs the ego's -90.2 (CARLA, clockwise)
  EXPECT_NEAR(car.velocity.norm(), 5.87, 1e-9);
  EXPECT_NEAR(car.velocity.x(), 5.87, 1e-3);
  EXPECT_EQ(car.num_points, 412);
  const Box& light = frame.boxes[1];
  EXPECT_EQ(light.object_class, ObjectClass::traffic_light);
  EXPECT_EQ(light.light_state, rsd::data::TrafficLightState::red);
  EXPECT_TRUE(light.affects_ego);

  // ... and projects to (u, v) ~ (800, 507) at 19.2 m in CAM_FRONT (the document's numbers).
  const rsd::data::Camera& camera = frame.cameras.at(0);
  EXPECT_EQ(camera.folder, "rgb_front");
  EXPECT_EQ(camera.width, 1600);
  const Vector3d in_camera = (camera.cam2ego.inverse() * car.center.homogeneous()).head<3>();
  const Vector3d pixel = camera.intrinsics * in_camera / in_camera.z();
  EXPECT_NEAR(in_camera.z(), 19.2, 0.01);
  EXPECT_NEAR(pixel.x(), 800.0, 1.0);
  EXPECT_NEAR(pixel.y(), 507.0, 1.0);
}

TEST(DataReader, SceneRoundTripsThroughTheFormat) {
  rsd::test::TempDir dir;
  ClipSpec spec;
  spec.image_cameras = {};
  write_clip(dir.path(), spec);
  const rsd::data::ClipIndex index = rsd::data::ClipIndex::scan(dir.path());
  ASSERT_EQ(index.clips().size(), 1u);
  const rsd::data::ClipInfo& clip = index.clips()[0];
  EXPECT_EQ(clip.scenario, "PedestrianCrossing");
  EXPECT_EQ(clip.frames.size(), static_cast<size_t>(kClipFrames));
  const rsd::data::FrameReader reader;

  for (const int t : {0, 2, 3, 9, 11, kClipFrames - 1}) {
    SCOPED_TRACE("frame " + std::to_string(t));
    const rsd::data::Frame frame = reader.read(clip, t);
    EXPECT_TRUE(frame.ego2world.isApprox(ego2world(t), 1e-9));
    EXPECT_DOUBLE_EQ(frame.ego.speed, 4.5);  // frame 3: null -> the ego box's speed
    EXPECT_TRUE(frame.ego.acceleration.isApprox(Vector3d(0.4, 0.3, 9.8)));
    EXPECT_TRUE(frame.ego.angular_velocity.isApprox(Vector3d(-0.01, 0.02, 0.05)));
    EXPECT_DOUBLE_EQ(frame.ego.steer, -0.25);
    EXPECT_EQ(static_cast<int>(frame.command), expected_command(t));
    EXPECT_TRUE(frame.command_target.isApprox(Vector2d(20.0, 1.0), 1e-9));
    ASSERT_EQ(frame.cameras.size(), 6u);
    for (size_t n = 0; n < 6; ++n) {
      // An ego point 10 m along the camera's axis lands on the principal point.
      const rsd::data::Camera& camera = frame.cameras[n];
      const double yaw_rh = -kRig[n].yaw_lh_deg * kPi / 180;
      const Vector3d mount = left_handed(kRig[n].mount_lh);
      const Vector3d point = mount + 10.0 * Vector3d(std::cos(yaw_rh), std::sin(yaw_rh), 0);
      const Vector3d q = (camera.cam2ego.inverse() * point.homogeneous()).head<3>();
      EXPECT_NEAR(q.z(), 10.0, 1e-9) << camera.name;
      EXPECT_NEAR((camera.intrinsics * q / q.z()).x(), 8.0, 1e-9) << camera.name;
    }
    EXPECT_EQ(frame.ignored_type_ids,
              (std::vector<std::string>{"static.prop.dirtdebris01", "static.prop.\"NaN\" Infinity"}));

    for (const ObjectTruth& object : scene_objects()) {
      if (object.absent_frame == t || object.id == "61" || object.id == "62") continue;
      SCOPED_TRACE("object " + object.id);
      const auto found = std::find_if(frame.boxes.begin(), frame.boxes.end(),
                                      [&](const Box& box) { return box.id == object.id; });
      ASSERT_NE(found, frame.boxes.end());
      EXPECT_TRUE(found->center.isApprox(in_ego(t, object.center(t)), 1e-9));
      EXPECT_TRUE(found->size.isApprox(2.0 * object.extent));
      EXPECT_NEAR(wrap(found->yaw - (object.yaw - ego_yaw(t))), 0.0, 1e-9);
      EXPECT_EQ(found->is_static, object.is_static);
      // Published speeds for vehicles; derived from motion for the walker, one-sided next to
      // the frame it is missing from (10) and at the clip's ends, exact for constant motion.
      if (object.velocity.norm() == 0.0) {
        EXPECT_LT(found->velocity.norm(), 1e-12);
      } else if (object.annotation_class != "traffic_light") {
        EXPECT_TRUE(found->velocity.isApprox(rotate_into_ego(t, object.velocity), 1e-9))
            << found->velocity.transpose();
      }
    }
    const auto class_of = [&](const std::string& id) {
      return std::find_if(frame.boxes.begin(), frame.boxes.end(),
                          [&](const Box& box) { return box.id == id; })->object_class;
    };
    EXPECT_EQ(class_of("80"), ObjectClass::cyclist);
    EXPECT_EQ(class_of("60"), ObjectClass::traffic_sign);
    EXPECT_EQ(class_of("70"), ObjectClass::vehicle);
    if (t != 10) {
      EXPECT_EQ(class_of("410"), ObjectClass::pedestrian);
    }
  }
}

TEST(DataReader, ClipNamesSplitsAndListsAreTolerant) {
  const rsd::data::ClipInfo parsed = rsd::data::parse_clip_name("AccidentTwoWays_Town10HD_Route1102_Weather10");
  EXPECT_TRUE(parsed.name_parsed);
  EXPECT_EQ(parsed.scenario, "AccidentTwoWays");
  EXPECT_EQ(parsed.town, "Town10HD");
  EXPECT_EQ(parsed.route, 1102);
  EXPECT_EQ(parsed.weather, 10);
  const rsd::data::ClipInfo truncated = rsd::data::parse_clip_name("VehicleTurningRoutePedestrian_Town15_Route523_Weathe");
  EXPECT_FALSE(truncated.name_parsed);
  EXPECT_EQ(truncated.scenario, "VehicleTurningRoutePedestrian_Town15_Route523_Weathe");
  EXPECT_EQ(truncated.route, -1);

  rsd::test::TempDir dir;
  const std::string good = "Accident_Town03_Route156_Weather0";
  const std::string val = "ControlLoss_Town11_Route401_Weather11";
  const std::string odd = "VehicleTurningRoutePedestrian_Town15_Route523_Weathe";
  for (const std::string& name : {good, val, odd}) {
    for (const int frame : {0, 1, 2, 5}) {  // 3 and 4 missing
      char file[32];
      std::snprintf(file, sizeof(file), "/anno/%05d.json.gz", frame);
      dir.write(name + file, "x");
    }
  }
  dir.write(good + "/anno/notes.txt", "x");
  fs::create_directories(dir.file("HardBreakRoute_Town01_Route30_Weather3/camera"));
  fs::create_directories(dir.file("not_a_clip/stuff"));
  const rsd::data::ClipIndex index = rsd::data::ClipIndex::scan(dir.path());
  ASSERT_EQ(index.clips().size(), 3u);
  EXPECT_EQ(index.clip(good).frames, (std::vector<int>{0, 1, 2, 5}));
  EXPECT_TRUE(index.clip(good).has_frame(5));
  EXPECT_FALSE(index.clip(good).has_frame(3));
  EXPECT_EQ(index.num_frames(), 12);
  const auto has_problem = [](const rsd::data::ClipIndex& i, const std::string& path_end,
                              const std::string& words) {
    return std::any_of(i.problems().begin(), i.problems().end(), [&](const rsd::data::DataProblem& p) {
      return p.path.size() >= path_end.size() &&
             p.path.compare(p.path.size() - path_end.size(), path_end.size(), path_end) == 0 &&
             p.message.find(words) != std::string::npos;
    });
  };
  EXPECT_TRUE(has_problem(index, good + "/anno/notes.txt", "not an annotation file"));
  EXPECT_TRUE(has_problem(index, good + "/anno", "2 frame(s) missing from the numbering: 00003..00004"));
  EXPECT_TRUE(has_problem(index, "HardBreakRoute_Town01_Route30_Weather3", "without an anno/"));
  EXPECT_TRUE(has_problem(index, odd, "does not follow"));
  EXPECT_THROW(index.clip("Nope_Town01_Route1_Weather1"), rsd::DataError);
  EXPECT_THROW(rsd::data::ClipIndex::scan(dir.file("absent")), rsd::DataError);

  // Official split file: {"val": ["v1/<clip>", ...]}; train = the rest.
  const std::string split = dir.write("split.json", "{\"val\": [\"v1/" + val + "\", \"v1/Missing_Town01_Route1_Weather1\"]}");
  const rsd::data::ClipIndex val_index = index.select(rsd::data::Split::val, split);
  ASSERT_EQ(val_index.clips().size(), 1u);
  EXPECT_EQ(val_index.clips()[0].name, val);
  EXPECT_TRUE(has_problem(val_index, "split.json", "names 1 clip(s) not under"));
  EXPECT_FALSE(has_problem(val_index, good + "/anno/notes.txt", "not an annotation"));
  const rsd::data::ClipIndex train = index.select(rsd::data::Split::train, split);
  EXPECT_EQ(train.clips().size(), 2u);
  EXPECT_THROW(index.select(rsd::data::Split::train), rsd::ConfigError);
  // Mini lists: the official file list object, or a plain list of names.
  const std::string mini = dir.write("mini.json", "{\"" + good + ".tar.gz\": {\"sha256\": \"ab\", \"size\": 1}}");
  EXPECT_EQ(index.select(rsd::data::Split::train, split, mini).clips().size(), 1u);
  const std::string text_list = dir.write("list.txt", "# mini\n" + odd + "\n  " + val + "  \n");
  EXPECT_EQ(index.select(rsd::data::Split::all, "", text_list).clips().size(), 2u);
  EXPECT_NE(error_message<std::exception>([&] { rsd::data::read_split_val_list(dir.write("bad.json", "{\"train\": []}")); })
                .find("no \"val\" key"),
            std::string::npos);
}

TEST(DataReader, CorruptFilesAreErrorsNamingFileAndKey) {
  rsd::test::TempDir dir;
  ClipSpec spec;
  spec.frames = 6;
  spec.image_cameras = {};
  const std::string clip_path = write_clip(dir.path(), spec);
  const rsd::data::ClipIndex index = rsd::data::ClipIndex::scan(dir.path());
  const rsd::data::ClipInfo& clip = index.clips()[0];
  const rsd::data::FrameReader reader;
  const auto anno = [&](int frame) { return rsd::data::annotation_path(clip, frame); };

  truncate_file(anno(1), 0.5);
  EXPECT_NE(error_message<std::exception>([&] { reader.read(clip, 1); }).find(anno(1) + ": truncated gzip"), std::string::npos);
  dir.write(spec.name + "/anno/00002.json.gz", "{\"not\": \"gzip\"}");
  EXPECT_NE(error_message<std::exception>([&] { reader.read(clip, 2); }).find(anno(2) + ": not a gzip file"), std::string::npos);
  write_gzip(anno(3), "{\"x\": 1.0, \"bounding_boxes\": [");
  EXPECT_NE(error_message<std::exception>([&] { reader.read(clip, 3); }).find(anno(3) + ": bad JSON"), std::string::npos);
  // A NaN in the ego pose, an unknown command, a camera missing from the sensors.
  const auto rewrite = [&](int frame, const std::string& from, const std::string& to, bool number) {
    const std::string path = anno(frame);
    gzFile in = gzopen(path.c_str(), "rb");
    std::string text;
    char buffer[65536];
    for (int n; (n = gzread(in, buffer, sizeof(buffer))) > 0;) text.append(buffer, static_cast<size_t>(n));
    gzclose(in);
    size_t at = text.find(from);
    ASSERT_NE(at, std::string::npos) << from;
    size_t length = from.size();
    if (number) {  // the first number after `from`
      at = text.find_first_of("-0123456789", at + from.size());
      length = text.find_first_of(",\n]", at) - at;
    }
    text.replace(at, length, to);
    write_gzip(path, text);
  };
  rewrite(4, "\"world2ego\": [", "NaN", true);
  EXPECT_NE(error_message<std::exception>([&] { reader.read(clip, 4); })
                .find(anno(4) + ": bounding_boxes[0].world2ego: element (0, 0) is NaN"),
            std::string::npos)
      << error_message<std::exception>([&] { reader.read(clip, 4); });
  rewrite(5, "\"command_near\": 5", "\"command_near\": 9", false);
  EXPECT_NO_THROW(reader.read_ego_pose(clip, 5));
  EXPECT_NE(error_message<std::exception>([&] { reader.read(clip, 5); }).find(anno(5) + ": command_near: command 9 is not"),
            std::string::npos);
  const rsd::data::FrameReader reader_with_extra({"CAM_FRONT", "CAM_SIDE"});
  EXPECT_NE(error_message<std::exception>([&] { reader_with_extra.read(clip, 0); }).find(anno(0) + ": sensors.CAM_SIDE: missing"),
            std::string::npos);
  // Frame 0's walker velocity needs frame 1, which is truncated: the error names frame 1's file.
  EXPECT_NE(error_message<std::exception>([&] { reader.read(clip, 0); }).find(anno(1) + ": truncated gzip"), std::string::npos);
  EXPECT_NE(error_message<std::exception>([&] { reader.read(clip, 7); }).find(anno(7) + ": cannot open"), std::string::npos);

  // The dataset adds the clip and frame; with on_bad_frame = skip it moves on and counts.
  rsd::test::TempDir other;
  spec.image_cameras = {"CAM_FRONT"};
  write_clip(other.path(), spec);
  truncate_file(other.path() + "/" + spec.name + "/camera/rgb_front/00003.jpg", 0.5);
  rsd::data::DatasetOptions options = dataset_options(other.path());
  options.cameras = {"CAM_FRONT"};
  const rsd::data::Bench2DriveDataset strict(options);
  const std::string message = error_message<std::exception>([&] { strict.get(3, 0); });
  EXPECT_NE(message.find("clip " + spec.name + " frame 3: "), std::string::npos) << message;
  EXPECT_NE(message.find("00003.jpg"), std::string::npos) << message;
  options.on_bad_frame = rsd::data::BadFramePolicy::skip;
  const rsd::data::Bench2DriveDataset lenient(options);
  EXPECT_EQ(lenient.get(3, 0).frame, 4);
  EXPECT_EQ(lenient.skipped(), 1);
}

// ---- Samples ------------------------------------------------------------------------------------

// Intensity-weighted centre of the bright pixels of one network image (corner convention).
Vector2d bright_centroid(const torch::Tensor& image) {
  const torch::Tensor red = image[0] * 0.229 + 0.485;  // back to [0, 1]
  const torch::Tensor weight = (red - 0.5).clamp_min(0.0);
  const int64_t height = red.size(0), width = red.size(1);
  const torch::Tensor xs = torch::arange(width, torch::kFloat64).add(0.5).view({1, width});
  const torch::Tensor ys = torch::arange(height, torch::kFloat64).add(0.5).view({height, 1});
  const torch::Tensor w = weight.to(torch::kFloat64);
  const double total = w.sum().item<double>();
  EXPECT_GT(total, 5.0) << "no blob in the image";
  return {(w * xs).sum().item<double>() / total, (w * ys).sum().item<double>() / total};
}

Eigen::MatrixXd to_eigen(const torch::Tensor& t) {
  const torch::Tensor d = t.to(torch::kFloat64).contiguous();
  Eigen::MatrixXd m(d.size(0), d.size(1));
  for (int64_t r = 0; r < d.size(0); ++r) {
    for (int64_t c = 0; c < d.size(1); ++c) m(r, c) = d[r][c].item<double>();
  }
  return m;
}

// Network pixel of an ego-frame point through the sample's matrices (the contract of batch.h).
Vector2d project_sample(const rsd::data::Sample& sample, int64_t camera, const Vector3d& ego_point) {
  const Matrix4d bev = to_eigen(sample.bev_aug);
  const Matrix4d cam2ego = to_eigen(sample.cam2ego[camera]);
  const Matrix3d k = to_eigen(sample.intrinsics[camera]);
  const Matrix3d img_aug = to_eigen(sample.img_aug[camera]);
  const Vector3d q = (cam2ego.inverse() * bev * ego_point.homogeneous()).head<3>();
  return (img_aug * k * q / q.z()).head<2>();
}

TEST(DataSample, ImageMatricesLandPointsOnTheirPixels) {
  rsd::test::TempDir dir;
  ClipSpec spec;
  spec.frames = 8;
  spec.image_width = 320;
  spec.image_height = 180;
  const Vector3d front_point(20.0, 0.5, 1.2), back_left_point(-4.0, 6.0, 1.0);
  spec.blobs = {front_point, back_left_point};
  write_clip(dir.path(), spec);
  rsd::data::DatasetOptions options = dataset_options(dir.path());
  options.image_height = 128;
  options.image_width = 224;

  // No augmentation, by hand: base scale max(224/320, 128/180); 320 x 0.7111 -> 228 columns
  // (sx = 228/320), 180 -> 128 rows; 2 columns cropped on each side, no rows (bottom kept).
  const rsd::data::Bench2DriveDataset plain(options);
  const rsd::data::Sample sample = plain.get(3, 0);
  const double sx = 228.0 / 320.0, sy = 128.0 / 180.0;
  Matrix3d by_hand;
  by_hand << sx, 0, -2, 0, sy, 0, 0, 0, 1;
  const std::vector<Vector3d> points = {front_point, back_left_point};
  for (int64_t n = 0; n < 2; ++n) {
    EXPECT_TRUE(to_eigen(sample.img_aug[n]).isApprox(by_hand, 1e-6)) << to_eigen(sample.img_aug[n]);
    const CameraRig& camera = rig(options.cameras[static_cast<size_t>(n)]);
    const Vector2d original = *project_carla(camera, intrinsics(320, 180, camera.fov_deg), points[n]);
    const Vector2d resized(sx * original.x() - 2.0, sy * original.y());
    EXPECT_TRUE(project_sample(sample, n, points[n]).isApprox(resized, 1e-4));
    const Vector2d seen = bright_centroid(sample.images[n]);
    EXPECT_NEAR(seen.x(), resized.x(), 0.3) << camera.name;
    EXPECT_NEAR(seen.y(), resized.y(), 0.3) << camera.name;
  }
  EXPECT_EQ(sample.images.sizes(), (std::vector<int64_t>{2, 3, 128, 224}));

  // Random resize, crop, mirror and rotation of the images, and a random BEV transform: the
  // point still lands where the pixels went.
  options.augment = true;
  options.image_augment = {0.8, 1.2, 10.0, true};
  options.bev_augment = {30.0, 0.9, 1.1, true};
  const rsd::data::Bench2DriveDataset augmented(options);
  int mirrored = 0;
  for (const int64_t index : {0, 5, 7}) {
    for (const int64_t epoch : {0, 1}) {
      const rsd::data::Sample s = augmented.get(index, epoch);
      for (int64_t n = 0; n < 2; ++n) {
        SCOPED_TRACE("index " + std::to_string(index) + " epoch " + std::to_string(epoch) +
                     " camera " + std::to_string(n));
        const Vector2d expected = project_sample(s, n, points[static_cast<size_t>(n)]);
        const Vector2d seen = bright_centroid(s.images[n]);
        EXPECT_NEAR(seen.x(), expected.x(), 0.35);
        EXPECT_NEAR(seen.y(), expected.y(), 0.35);
        if (to_eigen(s.img_aug[n]).topLeftCorner<2, 2>().determinant() < 0) ++mirrored;
      }
    }
  }
  EXPECT_GT(mirrored, 0);
  // Same (seed, epoch, index): the same sample; another epoch: another augmentation.
  EXPECT_TRUE(torch::equal(augmented.get(5, 1).images, augmented.get(5, 1).images));
  EXPECT_FALSE(torch::equal(augmented.get(5, 0).img_aug, augmented.get(5, 1).img_aug));
}

// Risk maps with one hot cell at the walker, for even frames only.
class WalkerRisk : public rsd::data::RiskTargetSource {
 public:
  explicit WalkerRisk(rsd::GridSpec grid) : grid_(grid) {}
  const rsd::GridSpec& grid() const override { return grid_; }
  torch::Tensor risk_map(const std::string&, int frame) const override {
    if (frame % 2 == 1) return {};
    torch::Tensor map = torch::zeros({grid_.ny(), grid_.nx()});
    const Vector3d walker = in_ego(frame, scene_objects()[1].center(frame));
    map[grid_.y().cell_of(walker.y())][grid_.x().cell_of(walker.x())] = 1.0f;
    return map;
  }

 private:
  rsd::GridSpec grid_;
};

TEST(DataSample, BevAugmentationMovesEverythingTogether) {
  rsd::test::TempDir dir;
  ClipSpec spec;
  write_clip(dir.path(), spec);
  rsd::data::DatasetOptions options = dataset_options(dir.path());
  options.image_height = 16;
  options.image_width = 32;
  const auto risk = std::make_shared<WalkerRisk>(test_grid());
  const rsd::data::Bench2DriveDataset plain(options, risk);
  ASSERT_EQ(plain.size(), kClipFrames);

  // Trajectories: the truth's ego positions in the current ego frame, masks at the clip's ends.
  const rsd::data::Sample early = plain.get(5, 0);
  for (int k = 0; k < 6; ++k) {
    const Vector3d expected = in_ego(5, ego_position(5 + 5 * (k + 1)));
    EXPECT_NEAR(early.future_waypoints[k][0].item<float>(), expected.x(), 1e-4);
    EXPECT_NEAR(early.future_waypoints[k][1].item<float>(), expected.y(), 1e-4);
  }
  EXPECT_TRUE(early.future_mask.all().item<bool>());
  EXPECT_NEAR(early.past_waypoints[0][0].item<float>(), in_ego(5, ego_position(0)).x(), 1e-4);
  EXPECT_EQ(early.past_mask.to(torch::kInt64).sum().item<int64_t>(), 1);
  EXPECT_TRUE(early.past_mask[0].item<bool>());
  const rsd::data::Sample late = plain.get(kClipFrames - 3, 0);
  EXPECT_FALSE(late.future_mask.any().item<bool>());
  EXPECT_TRUE(torch::equal(late.future_waypoints, torch::zeros({6, 2})));
  EXPECT_TRUE(late.past_mask.all().item<bool>());
  // Boxes: in the grid only (the vehicle 100 m ahead is not), debris has no class.
  std::vector<std::string> ids = early.box_ids;
  std::sort(ids.begin(), ids.end());
  EXPECT_EQ(ids, (std::vector<std::string>{"301", "410", "50", "60", "70", "80"}));
  EXPECT_EQ(early.command, expected_command(5));
  EXPECT_FALSE(early.risk_mask);  // odd frames have no label
  EXPECT_EQ(early.risk_target.sum().item<float>(), 0.0f);
  EXPECT_TRUE(plain.get(6, 0).risk_mask);
  EXPECT_EQ(plain.get(6, 0).risk_target.sum().item<float>(), 1.0f);

  options.augment = true;
  options.bev_augment = {40.0, 0.8, 1.2, true};
  const rsd::data::Bench2DriveDataset augmented(options, risk);
  int flips = 0;
  for (const int64_t index : {4, 9, 12, 16, 20}) {
    SCOPED_TRACE("index " + std::to_string(index));
    const rsd::data::Sample a = plain.get(index, 0);
    const rsd::data::Sample b = augmented.get(index, 3);
    const Matrix4d bev = to_eigen(b.bev_aug);
    const double scale = std::cbrt(std::fabs(bev.topLeftCorner<3, 3>().determinant()));
    const bool flipped = bev.topLeftCorner<3, 3>().determinant() < 0;
    flips += flipped;
    for (int64_t n = 0; n < 2; ++n) {
      EXPECT_TRUE(to_eigen(b.cam2ego[n]).isApprox(bev * to_eigen(a.cam2ego[n]), 1e-5));
    }
    EXPECT_NEAR(b.ego_status[rsd::data::kEgoSpeed].item<float>(),
                scale * a.ego_status[rsd::data::kEgoSpeed].item<float>(), 1e-4);
    EXPECT_NEAR(b.ego_status[rsd::data::kEgoAngularVelocityZ].item<float>(),
                (flipped ? -1 : 1) * a.ego_status[rsd::data::kEgoAngularVelocityZ].item<float>(), 1e-6);
    const int64_t swapped[] = {1, 0, 2, 3, 5, 4};
    EXPECT_EQ(b.command, flipped ? swapped[a.command] : a.command);
    const auto row_of = [](const rsd::data::Sample& s, const std::string& id) -> int64_t {
      const auto it = std::find(s.box_ids.begin(), s.box_ids.end(), id);
      return it == s.box_ids.end() ? -1 : it - s.box_ids.begin();
    };
    for (const std::string id : {"301", "410", "80"}) {
      const int64_t ra = row_of(a, id), rb = row_of(b, id);
      ASSERT_GE(ra, 0);
      ASSERT_GE(rb, 0) << id;
      const Vector3d ca(a.boxes[ra][0].item<float>(), a.boxes[ra][1].item<float>(), a.boxes[ra][2].item<float>());
      const Vector3d cb(b.boxes[rb][0].item<float>(), b.boxes[rb][1].item<float>(), b.boxes[rb][2].item<float>());
      EXPECT_TRUE(cb.isApprox((bev * ca.homogeneous()).head<3>(), 1e-4));
      const double yaw_a = a.boxes[ra][rsd::data::kBoxYaw].item<float>();
      const double yaw_b = b.boxes[rb][rsd::data::kBoxYaw].item<float>();
      // The heading is the direction of the box's x axis: transform that direction.
      const Vector3d heading = bev.topLeftCorner<3, 3>() * Vector3d(std::cos(yaw_a), std::sin(yaw_a), 0);
      EXPECT_NEAR(wrap(yaw_b - std::atan2(heading.y(), heading.x())), 0.0, 1e-5);
      EXPECT_NEAR(b.boxes[rb][rsd::data::kBoxLength].item<float>(),
                  scale * a.boxes[ra][rsd::data::kBoxLength].item<float>(), 1e-4);
      const Vector3d va(a.boxes[ra][7].item<float>(), a.boxes[ra][8].item<float>(), 0);
      const Vector3d vb(b.boxes[rb][7].item<float>(), b.boxes[rb][8].item<float>(), 0);
      EXPECT_TRUE(vb.isApprox(bev.topLeftCorner<3, 3>() * va, 1e-4));
      // A box and a waypoint keep their relative position (up to the scale).
      for (int64_t k = 0; k < 6; ++k) {
        if (!a.future_mask[k].item<bool>()) continue;
        const Vector2d wa(a.future_waypoints[k][0].item<float>(), a.future_waypoints[k][1].item<float>());
        const Vector2d wb(b.future_waypoints[k][0].item<float>(), b.future_waypoints[k][1].item<float>());
        EXPECT_TRUE(wb.isApprox(bev.topLeftCorner<2, 2>() * wa, 1e-4));
        EXPECT_NEAR((cb.head<2>() - wb).norm(), scale * (ca.head<2>() - wa).norm(), 1e-3);
      }
    }
    // The risk map moved with the walker: its peak is at the augmented walker's cell.
    EXPECT_EQ(b.risk_mask, index % 2 == 0);
    if (b.risk_mask) {
      const int64_t walker = row_of(b, "410");
      const int64_t peak = b.risk_target.argmax().item<int64_t>();
      const rsd::GridSpec grid = test_grid();
      const Vector2d cell(grid.x().center(peak % grid.nx()), grid.y().center(peak / grid.nx()));
      const Vector2d at(b.boxes[walker][0].item<float>(), b.boxes[walker][1].item<float>());
      EXPECT_LT((cell - at).norm(), 0.5 * scale * 1.5 + 0.36) << cell.transpose() << " vs " << at.transpose();
      EXPECT_EQ(b.risk_target.max().item<float>(), 1.0f);  // the peak survives resampling
    }
  }
  EXPECT_GT(flips, 0);
  EXPECT_LT(flips, 5);

  // A risk source on another grid is refused, naming both grids.
  const auto other = std::make_shared<WalkerRisk>(rsd::GridSpec({-50, 50, 1}, {-50, 50, 1}, {-5, 3, 8}));
  const std::string message = error_message<std::exception>([&] { rsd::data::Bench2DriveDataset refused(options, other); });
  EXPECT_NE(message.find(other->grid().to_string()), std::string::npos) << message;
  EXPECT_NE(message.find(test_grid().to_string()), std::string::npos) << message;
}

// A one-cell peak of 1 (a risky object, CenterNet-style) and a 0.7 peak with a halo, moved by
// augmentations that put cell centres between cell centres: each peak keeps its exact value at the
// cell of its moved centre, so the focal loss with positive_threshold 1 still finds its positive.
TEST(BevAugmentation, HeatmapPeaksKeepTheirValuesAtTheirMovedCells) {
  const rsd::GridSpec grid = test_grid();
  const Vector2d peak(10.25, -4.75), other(-6.25, 12.25);  // cell centres
  const auto cell = [&](const Vector2d& p) {
    return std::pair{grid.y().cell_of(p.y()), grid.x().cell_of(p.x())};
  };
  torch::Tensor map = torch::zeros({grid.ny(), grid.nx()});
  const auto [py, px] = cell(peak);
  const auto [oy, ox] = cell(other);
  map.narrow(0, oy - 1, 3).narrow(1, ox - 1, 3).fill_(0.35f);
  map[oy][ox] = 0.7f;
  map[py][px] = 1.0f;

  rsd::data::BevAugmentation turn;
  turn.angle = 10.0 * M_PI / 180.0;
  turn.scale = 1.07;
  rsd::data::BevAugmentation mirror;
  mirror.angle = -23.0 * M_PI / 180.0;
  mirror.scale = 0.93;
  mirror.flip_y = true;
  for (const auto& augmentation : {turn, mirror}) {
    SCOPED_TRACE("flip " + std::to_string(augmentation.flip_y));
    const Vector2d moved = augmentation.point(Vector3d(peak.x(), peak.y(), 0)).head<2>();
    const Vector2d moved_other = augmentation.point(Vector3d(other.x(), other.y(), 0)).head<2>();
    const auto [ty, tx] = cell(moved);
    const auto [sy, sx] = cell(moved_other);
    ASSERT_GE(std::min({ty, tx, sy, sx}), 0);
    // The case bilinear weights alone fail: the moved centre is well off its cell's centre.
    ASSERT_GT((moved - Vector2d(grid.x().center(tx), grid.y().center(ty))).norm(), 0.1);

    const torch::Tensor out = augmentation.heatmap(map, grid);
    ASSERT_EQ(out.sizes(), map.sizes());
    EXPECT_EQ(out[ty][tx].item<float>(), 1.0f);
    EXPECT_EQ(out[sy][sx].item<float>(), 0.7f);
    EXPECT_EQ(out.max().item<float>(), 1.0f);
    // The halo is still resampled bilinearly: the 4 neighbours of the moved 0.7 peak are less
    // than 1 m from it in the source frame, strictly between the halo's 0 border and the peak.
    for (const auto& [dy, dx] : {std::pair{-1, 0}, std::pair{1, 0}, std::pair{0, -1}, std::pair{0, 1}}) {
      const float value = out[sy + dy][sx + dx].item<float>();
      EXPECT_GT(value, 0.0f);
      EXPECT_LT(value, 0.7f);
    }

    rsd::model::FocalLossOptions focal;
    focal.positive_threshold = 1.0;
    const auto terms = rsd::model::penalty_reduced_focal_terms(torch::zeros_like(out), out, focal);
    EXPECT_EQ(terms.positives.sum().item<float>(), 1.0f);
  }
  EXPECT_TRUE(torch::equal(rsd::data::BevAugmentation{}.heatmap(map, grid), map));
  EXPECT_THROW(turn.heatmap(map.narrow(0, 0, 10), grid), rsd::Error);
}

// ---- Loader -------------------------------------------------------------------------------------

// Samples that say who they are: ego_status[0] = index, [1] = a draw seeded by (epoch, index),
// index % 3 boxes; one index may throw.
class CountingDataset : public rsd::data::SampleDataset {
 public:
  CountingDataset(int64_t size, int64_t failing = -1, int delay_ms = 0)
      : size_(size), failing_(failing), delay_ms_(delay_ms) {}
  int64_t size() const override { return size_; }
  rsd::data::Sample get(int64_t index, int64_t epoch) const override {
    if (delay_ms_ > 0) std::this_thread::sleep_for(std::chrono::milliseconds(delay_ms_));
    if (index == failing_) throw rsd::DataError("clip X frame 7: corrupt");
    std::mt19937_64 rng = rsd::make_rng(1, {static_cast<uint64_t>(epoch), static_cast<uint64_t>(index)});
    rsd::data::Sample s;
    s.clip = "clip";
    s.frame = index;
    s.images = torch::full({1, 3, 2, 2}, static_cast<float>(index));
    s.intrinsics = torch::eye(3).unsqueeze(0);
    s.img_aug = torch::eye(3).unsqueeze(0);
    s.cam2ego = torch::eye(4).unsqueeze(0);
    s.bev_aug = torch::eye(4);
    s.ego_status = torch::zeros({rsd::data::kEgoStatusDim});
    s.ego_status[0] = static_cast<float>(index);
    s.ego_status[1] = static_cast<float>(rng() % 1000);
    s.future_waypoints = torch::zeros({6, 2});
    s.future_mask = torch::ones({6}, torch::kBool);
    s.past_waypoints = torch::zeros({4, 2});
    s.past_mask = torch::ones({4}, torch::kBool);
    const int64_t boxes = index % 3;
    s.boxes = torch::full({boxes, rsd::data::kBoxDim}, static_cast<float>(index));
    s.box_classes = torch::full({boxes}, 1, torch::kInt64);
    s.box_ids.assign(static_cast<size_t>(boxes), "id");
    s.risk_target = torch::zeros({4, 4});
    s.risk_mask = index % 2 == 0;
    return s;
  }

 private:
  int64_t size_, failing_;
  int delay_ms_;
};

std::vector<std::vector<float>> drain(rsd::data::Loader& loader, int64_t epoch) {
  std::vector<std::vector<float>> batches;
  loader.start_epoch(epoch);
  while (std::optional<rsd::data::Batch> batch = loader.next()) {
    const torch::Tensor status = batch->ego_status.narrow(1, 0, 2).contiguous();
    batches.emplace_back(status.data_ptr<float>(), status.data_ptr<float>() + status.numel());
  }
  return batches;
}

TEST(DataLoader, SameSeedSameBatchesWhateverTheWorkers) {
  const auto dataset = std::make_shared<CountingDataset>(23);
  rsd::data::LoaderOptions options;
  options.batch_size = 4;
  options.seed = 11;
  options.prefetch = 2;
  std::vector<std::vector<std::vector<float>>> runs;
  for (const int64_t workers : {0, 1, 3}) {
    options.workers = workers;
    rsd::data::Loader loader(dataset, options);
    EXPECT_EQ(loader.batches_per_epoch(), 5);  // drop_last: 23 -> 5 batches of 4
    runs.push_back(drain(loader, 2));
  }
  EXPECT_EQ(runs[0], runs[1]);
  EXPECT_EQ(runs[0], runs[2]);
  rsd::data::Loader loader(dataset, options);
  EXPECT_NE(drain(loader, 3), runs[0]);  // another epoch, another order
  options.seed = 12;
  rsd::data::Loader reseeded(dataset, options);
  EXPECT_NE(drain(reseeded, 2), runs[0]);

  // Collation: boxes padded to the batch's largest count, with mask and class -1.
  options.shuffle = false;
  rsd::data::Loader ordered(dataset, options);
  ordered.start_epoch(0);
  const rsd::data::Batch batch = *ordered.next();
  EXPECT_EQ(batch.frames, (std::vector<int64_t>{0, 1, 2, 3}));
  EXPECT_EQ(batch.images.sizes(), (std::vector<int64_t>{4, 1, 3, 2, 2}));
  EXPECT_EQ(batch.boxes.sizes(), (std::vector<int64_t>{4, 2, rsd::data::kBoxDim}));
  EXPECT_TRUE(torch::equal(batch.box_mask, torch::tensor({0, 0, 1, 0, 1, 1, 0, 0}).view({4, 2}).to(torch::kBool)));
  EXPECT_EQ(batch.box_classes[0][0].item<int64_t>(), -1);
  EXPECT_EQ(batch.boxes[2][1][0].item<float>(), 2.0f);
  EXPECT_EQ(batch.risk_target.sizes(), (std::vector<int64_t>{4, 1, 4, 4}));
  EXPECT_TRUE(torch::equal(batch.risk_mask, torch::tensor({1, 0, 1, 0}).to(torch::kBool)));
  EXPECT_EQ(batch.command.dtype(), torch::kInt64);

  // Resuming inside an epoch gives the rest of the same batches.
  options.shuffle = true;
  options.seed = 11;
  rsd::data::Loader resumed(dataset, options);
  resumed.start_epoch(2, 3);
  const torch::Tensor fourth = resumed.next()->ego_status.narrow(1, 0, 2).contiguous();
  EXPECT_EQ(std::vector<float>(fourth.data_ptr<float>(), fourth.data_ptr<float>() + fourth.numel()),
            runs[0][3]);
}

// The sharding tests' loader: 3 ranks, batches of 2 with the last one kept, one worker.
rsd::data::LoaderOptions three_rank_options() {
  rsd::data::LoaderOptions options;
  options.batch_size = 2;
  options.workers = 1;
  options.world_size = 3;
  options.drop_last = false;
  return options;
}

TEST(DataLoader, ShardsCoverEverySampleOnceAcrossRanks) {
  const auto dataset = std::make_shared<CountingDataset>(10);
  rsd::data::LoaderOptions options = three_rank_options();
  std::vector<int64_t> seen;
  for (int64_t rank = 0; rank < 3; ++rank) {
    options.rank = rank;
    rsd::data::Loader loader(dataset, options);
    EXPECT_EQ(loader.batches_per_epoch(), 2);  // 10 padded to 12: 4 per rank
    for (int64_t b = 0; b < 2; ++b) {
      const std::vector<int64_t> indices = loader.batch_indices(1, b);
      seen.insert(seen.end(), indices.begin(), indices.end());
    }
    const auto batches = drain(loader, 1);
    ASSERT_EQ(batches.size(), 2u);
    EXPECT_EQ(batches[0][0], static_cast<float>(loader.batch_indices(1, 0)[0]));
  }
  EXPECT_EQ(seen.size(), 12u);
  std::sort(seen.begin(), seen.end());
  seen.erase(std::unique(seen.begin(), seen.end()), seen.end());
  EXPECT_EQ(seen.size(), 10u);  // every sample, two of them twice (the padding)
  options.rank = 3;
  EXPECT_THROW({ rsd::data::Loader refused(dataset, options); }, rsd::ConfigError);
}

TEST(DataLoader, UnpaddedShardsHoldEverySampleExactlyOnceInUnequalBatchCounts) {
  // Evaluation's shards (pad_shards off): a mean over the ranks' samples must not count the
  // padding's duplicates. 10 samples on 3 ranks in batches of 2: 4, 3 and 3 samples.
  const auto dataset = std::make_shared<CountingDataset>(10);
  rsd::data::LoaderOptions options = three_rank_options();
  options.pad_shards = false;
  std::vector<int64_t> seen;
  for (int64_t rank = 0; rank < 3; ++rank) {
    options.rank = rank;
    rsd::data::Loader loader(dataset, options);
    EXPECT_EQ(loader.batches_per_epoch(), 2);
    const auto batches = drain(loader, 1);
    ASSERT_EQ(batches.size(), 2u);
    EXPECT_EQ(batches[1].size(), rank == 0 ? 4u : 2u);  // two values per sample
    for (int64_t b = 0; b < 2; ++b) {
      const std::vector<int64_t> indices = loader.batch_indices(1, b);
      seen.insert(seen.end(), indices.begin(), indices.end());
    }
  }
  std::sort(seen.begin(), seen.end());
  std::vector<int64_t> every(10);
  std::iota(every.begin(), every.end(), 0);
  EXPECT_EQ(seen, every);
}

TEST(DataLoader, WorkerErrorsReachTheConsumerWithContext) {
  rsd::data::LoaderOptions options;
  options.batch_size = 2;
  options.workers = 2;
  options.shuffle = false;
  {
    rsd::data::Loader loader(std::make_shared<CountingDataset>(12, 7), options);
    loader.start_epoch(0);
    for (int b = 0; b < 3; ++b) ASSERT_TRUE(loader.next().has_value());
    try {
      loader.next();
      FAIL() << "expected the worker's error";
    } catch (const rsd::DataError& e) {
      const std::string message = e.what();
      EXPECT_NE(message.find("loader: epoch 0 batch 3 sample 7: clip X frame 7: corrupt"), std::string::npos)
          << message;
    }
    EXPECT_FALSE(loader.next().has_value());  // the epoch is over
    loader.start_epoch(1);                     // and the next one starts cleanly
    EXPECT_TRUE(loader.next().has_value());
  }
  // Destroying a loader whose workers are busy joins them.
  rsd::data::Loader busy(std::make_shared<CountingDataset>(40, -1, 20), options);
  busy.start_epoch(0);
  EXPECT_TRUE(busy.next().has_value());
}

// ---- Inspect ------------------------------------------------------------------------------------

TEST(DataInspect, CountsAndListsEveryProblemWithItsPath) {
  rsd::test::TempDir dir;
  ClipSpec spec;
  spec.frames = 4;
  spec.image_cameras = {"CAM_FRONT", "CAM_FRONT_LEFT", "CAM_FRONT_RIGHT",
                        "CAM_BACK",  "CAM_BACK_LEFT",  "CAM_BACK_RIGHT"};
  const std::string good = write_clip(dir.path(), spec);
  spec.name = "Accident_Town03_Route156_Weather0";
  const std::string bad = write_clip(dir.path(), spec);
  truncate_file(bad + "/anno/00001.json.gz", 0.3);
  truncate_file(bad + "/camera/rgb_front/00002.jpg", 0.5);
  fs::remove(bad + "/camera/rgb_back/00003.jpg");
  fs::remove_all(bad + "/camera/rgb_back_right");

  rsd::data::InspectOptions options;
  options.root = dir.path();
  options.threads = 2;
  const rsd::data::DatasetReport report = rsd::data::inspect_dataset(options);
  EXPECT_EQ(report.clips, 2);
  EXPECT_EQ(report.frames, 8);
  EXPECT_EQ(report.unreadable_frames, 1);
  EXPECT_EQ(report.missing_or_bad_images, 2 + 4);
  EXPECT_EQ(report.clips_per_scenario.at("Accident"), 1);
  EXPECT_EQ(report.clips_per_scenario.at("PedestrianCrossing"), 1);
  // 7 readable frames: 4 vehicles (one far), 1 cyclist, 1 walker, 1 light, 1 cone, 2 ignored.
  EXPECT_EQ(report.boxes_per_class.at("vehicle"), 7 * 3);
  EXPECT_EQ(report.boxes_per_class.at("cyclist"), 7);
  EXPECT_EQ(report.boxes_per_class.at("pedestrian"), 7);
  EXPECT_EQ(report.boxes_per_class.at("ignored"), 14);
  EXPECT_EQ(report.ignored_types.at("static.prop.dirtdebris01"), 7);
  const auto problem = [&](const std::string& path, const std::string& words) {
    return std::any_of(report.problems.begin(), report.problems.end(), [&](const rsd::data::DataProblem& p) {
      return p.path == path && p.message.find(words) != std::string::npos;
    });
  };
  EXPECT_TRUE(problem(bad + "/anno/00001.json.gz", "truncated gzip"));
  EXPECT_TRUE(problem(bad + "/camera/rgb_front/00002.jpg", "truncated JPEG"));
  EXPECT_TRUE(problem(bad + "/camera/rgb_back/00003.jpg", "image missing"));
  EXPECT_TRUE(problem(bad + "/camera/rgb_back_right", "camera folder missing"));
  EXPECT_EQ(report.problems.size(), 4u);
  const nlohmann::json parsed = nlohmann::json::parse(report.to_json());
  EXPECT_EQ(parsed.at("frames"), 8);
  EXPECT_EQ(parsed.at("problems").size(), 4u);
  EXPECT_NE(report.to_text().find(bad + "/anno/00001.json.gz: truncated gzip"), std::string::npos);
}

}  // namespace
