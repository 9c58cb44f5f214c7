// The synthetic Bench2Drive writer (rsd_data synth), checked from its files alone with independent
// reference code: the folder layout and names, the gzip/JSON bytes, every annotation key, the
// geometry (get_matrix, world_cord, world2*, intrinsics, the camera rig), the rendering (instance
// and depth images against the annotated boxes), the expert's reactions and determinism.
#include <gtest/gtest.h>
#include <zlib.h>

#include <opencv2/imgcodecs.hpp>

#include <Eigen/Dense>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>
#include <regex>
#include <set>

#include "rsd/data/clip_index.h"
#include "rsd/data/frame_reader.h"
#include "rsd/data/synth/synth.h"
#include "rsd/util/error.h"
#include "support/carla_pose.h"
#include "support/temp_dir.h"

namespace {

namespace fs = std::filesystem;
namespace synth = rsd::data::synth;
using Json = nlohmann::ordered_json;
using rsd::test::read_text;
using rsd::test::TempDir;

// ---- independent reference code ----

std::string gunzip(const std::string& bytes) {
  z_stream stream{};
  EXPECT_EQ(inflateInit2(&stream, 16 + MAX_WBITS), Z_OK);
  std::string out;
  char buffer[1 << 16];
  stream.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(bytes.data()));
  stream.avail_in = static_cast<uInt>(bytes.size());
  int status = Z_OK;
  while (status == Z_OK) {
    stream.next_out = reinterpret_cast<Bytef*>(buffer);
    stream.avail_out = sizeof(buffer);
    status = inflate(&stream, Z_NO_FLUSH);
    out.append(buffer, sizeof(buffer) - stream.avail_out);
  }
  inflateEnd(&stream);
  EXPECT_EQ(status, Z_STREAM_END);
  return out;
}

// tools/utils.py get_matrix of an annotation's "location" and "rotation" arrays.
Eigen::Matrix4d get_matrix(const Json& location, const Json& rotation) {
  const auto vector = [](const Json& xyz) {
    return Eigen::Vector3d(xyz[0].get<double>(), xyz[1].get<double>(), xyz[2].get<double>());
  };
  return rsd::test::carla_get_matrix(vector(location), vector(rotation));
}

Eigen::Matrix4d matrix_of(const Json& rows) {
  Eigen::Matrix4d m;
  for (int r = 0; r < 4; ++r)
    for (int c = 0; c < 4; ++c) m(r, c) = rows[r][c].get<double>();
  return m;
}

Eigen::Vector3d vector_of(const Json& v) { return {v[0].get<double>(), v[1].get<double>(), v[2].get<double>()}; }

std::vector<std::string> keys_of(const Json& object) {
  std::vector<std::string> keys;
  for (const auto& item : object.items()) keys.push_back(item.key());
  return keys;
}

// Bench2Drive's rig (format doc §4): name, folder, x, y, z, pitch, yaw, fov.
struct RigCamera {
  const char* name;
  const char* folder;
  double x, y, z, pitch, yaw, fov;
};
const RigCamera kRig[] = {
    {"CAM_FRONT", "rgb_front", 0.80, 0.0, 1.60, 0, 0, 70},
    {"CAM_FRONT_LEFT", "rgb_front_left", 0.27, -0.55, 1.60, 0, -55, 70},
    {"CAM_FRONT_RIGHT", "rgb_front_right", 0.27, 0.55, 1.60, 0, 55, 70},
    {"CAM_BACK", "rgb_back", -2.0, 0.0, 1.60, 0, 180, 110},
    {"CAM_BACK_LEFT", "rgb_back_left", -0.32, -0.55, 1.60, 0, -110, 70},
    {"CAM_BACK_RIGHT", "rgb_back_right", -0.32, 0.55, 1.60, 0, 110, 70},
    {"TOP_DOWN", "rgb_top_down", 0.0, 0.0, 50.0, -90, 0, 110},
};

const std::vector<std::string> kTopLevelKeys = {
    "x", "y", "throttle", "steer", "brake", "reverse", "theta", "speed", "x_command_far", "y_command_far",
    "command_far", "x_command_near", "y_command_near", "command_near", "should_brake", "x_target", "y_target",
    "next_command", "weather", "acceleration", "angular_velocity", "bounding_boxes", "sensors", "only_ap_brake"};

const std::map<std::string, std::vector<std::string>> kBoxKeys = {
    {"ego_vehicle", {"class", "id", "type_id", "base_type", "location", "rotation", "bbx_loc", "center", "extent",
                     "world_cord", "semantic_tags", "color", "speed", "brake", "road_id", "lane_id", "section_id",
                     "world2ego"}},
    {"vehicle/dynamic", {"class", "state", "id", "location", "rotation", "bbx_loc", "center", "extent", "world_cord",
                         "semantic_tags", "type_id", "color", "base_type", "num_points", "distance", "speed", "brake",
                         "light_state", "road_id", "lane_id", "section_id", "world2vehicle"}},
    {"vehicle/static", {"class", "state", "id", "location", "rotation", "bbx_loc", "center", "extent", "world_cord",
                        "semantic_tags", "type_id", "num_points", "distance", "speed", "brake", "light_state", "road_id",
                        "lane_id", "section_id", "world2vehicle"}},
    {"walker", {"class", "id", "location", "rotation", "bbx_loc", "center", "extent", "world_cord", "semantic_tags",
                "type_id", "gender", "age", "num_points", "distance", "speed", "bone", "road_id", "lane_id",
                "section_id", "world2ped"}},
    {"traffic_light", {"class", "id", "location", "rotation", "center", "extent", "semantic_tags", "type_id",
                       "distance", "state", "affects_ego", "trigger_volume_location", "trigger_volume_rotation",
                       "trigger_volume_extent", "road_id", "lane_id", "section_id"}},
    {"traffic_sign/trigger", {"class", "id", "location", "rotation", "center", "extent", "semantic_tags", "type_id",
                              "distance", "affects_ego", "trigger_volume_location", "trigger_volume_rotation",
                              "trigger_volume_extent", "road_id", "lane_id", "section_id", "world2sign"}},
    {"traffic_sign/prop", {"class", "id", "location", "rotation", "bbx_loc", "center", "extent", "world_cord",
                           "semantic_tags", "type_id", "distance", "affects_ego", "road_id", "lane_id", "section_id",
                           "world2sign"}},
};

std::string box_kind(const Json& box) {
  const std::string cls = box["class"];
  if (cls == "vehicle") return "vehicle/" + box["state"].get<std::string>();
  if (cls == "traffic_sign") return box.contains("trigger_volume_location") ? "traffic_sign/trigger" : "traffic_sign/prop";
  return cls;
}

// The 8 world vertices of a box from its pose, centre offset and half sizes (calculate_cube_vertices order).
std::vector<Eigen::Vector3d> box_corners(const Json& box) {
  static const int signs[8][3] = {{1, 1, 1}, {1, 1, -1}, {1, -1, 1}, {1, -1, -1},
                                  {-1, 1, 1}, {-1, 1, -1}, {-1, -1, 1}, {-1, -1, -1}};
  const Eigen::Matrix4d pose = get_matrix(box["location"], box["rotation"]);
  const Eigen::Vector3d extent = vector_of(box["extent"]);
  // Boxes without bbx_loc (lights, signs): centre given in the world.
  const Eigen::Vector3d local_center =
      box.contains("bbx_loc") ? vector_of(box["bbx_loc"])
                              : Eigen::Vector3d(pose.topLeftCorner<3, 3>().transpose() *
                                                (vector_of(box["center"]) - pose.topRightCorner<3, 1>()));
  std::vector<Eigen::Vector3d> corners;
  for (const auto& s : signs) {
    const Eigen::Vector3d local = local_center + Eigen::Vector3d(s[0] * extent.x(), s[1] * extent.y(), s[2] * extent.z());
    corners.push_back(pose.topLeftCorner<3, 3>() * local + pose.topRightCorner<3, 1>());
  }
  return corners;
}

// World point -> (u, v, depth) with the annotation's world2cam and intrinsic (format doc §3.1).
Eigen::Vector3d project(const Json& camera, const Eigen::Vector3d& world) {
  const Eigen::Matrix4d world2cam = matrix_of(camera["world2cam"]);
  const Eigen::Vector3d q = world2cam.topLeftCorner<3, 3>() * world + world2cam.topRightCorner<3, 1>();
  const Eigen::Vector3d c(q.y(), -q.z(), q.x());
  const double fx = camera["intrinsic"][0][0], cx = camera["intrinsic"][0][2];
  const double fy = camera["intrinsic"][1][1], cy = camera["intrinsic"][1][2];
  return {fx * c.x() / c.z() + cx, fy * c.y() / c.z() + cy, c.z()};
}

struct Clip {
  std::string name;
  fs::path path;
  std::vector<Json> frames;
};

std::vector<Clip> read_clips(const fs::path& root) {
  std::vector<Clip> clips;
  for (const auto& entry : fs::directory_iterator(root)) {
    if (!entry.is_directory()) continue;
    Clip clip;
    clip.name = entry.path().filename().string();
    clip.path = entry.path();
    std::vector<fs::path> files;
    for (const auto& anno : fs::directory_iterator(entry.path() / "anno")) files.push_back(anno.path());
    std::sort(files.begin(), files.end());
    for (std::size_t i = 0; i < files.size(); ++i) {
      char expected[32];
      std::snprintf(expected, sizeof(expected), "%05zu.json.gz", i);
      EXPECT_EQ(files[i].filename().string(), expected) << "frames of " << clip.name << " are not consecutive";
      clip.frames.push_back(Json::parse(gunzip(read_text(files[i].string()))));
    }
    clips.push_back(std::move(clip));
  }
  std::sort(clips.begin(), clips.end(), [](const Clip& a, const Clip& b) { return a.name < b.name; });
  return clips;
}

// libjpeg's first luminance quantiser for `quality` (the IJG scaling of the standard table).
int jpeg_first_quantiser(int quality) {
  const int scale = quality < 50 ? 5000 / quality : 200 - 2 * quality;
  return std::clamp((16 * scale + 50) / 100, 1, 255);
}

int first_quantiser_in(const std::string& jpeg) {
  for (std::size_t i = 2; i + 5 < jpeg.size(); ++i) {
    if (static_cast<uint8_t>(jpeg[i]) == 0xFF && static_cast<uint8_t>(jpeg[i + 1]) == 0xDB) {
      return static_cast<uint8_t>(jpeg[i + 5]);  // FFDB, length (2), Pq/Tq, first value
    }
  }
  return -1;
}

synth::SynthOptions small_options(const std::string& out) {
  synth::SynthOptions options;
  options.out_dir = out;
  options.width = 128;
  options.height = 72;
  options.threads = 2;
  return options;
}

// ---- tests ----

TEST(Synth, WritesTheBench2DriveFormat) {
  TempDir dir;
  synth::SynthOptions options = small_options(dir.path());
  options.clips = 4;
  options.frames = 6;
  options.seed = 7;
  options.depth_and_segmentation = true;
  options.scenarios = {"DynamicObjectCrossing", "SignalizedJunctionLeftTurn", "ParkedObstacle", "PedestrianCrossing"};
  const synth::SynthSummary summary = synth::write_synthetic_dataset(options);
  ASSERT_EQ(summary.clips.size(), 4u);
  EXPECT_EQ(summary.frames, 24);
  EXPECT_EQ(summary.images, 24 * (7 + 18));

  // Split file: {"val": ["v1/<clip>", ...]} naming clips that exist.
  const Json split = Json::parse(read_text(summary.split_file));
  ASSERT_EQ(keys_of(split), std::vector<std::string>{"val"});
  ASSERT_EQ(split["val"].size(), 1u);
  EXPECT_TRUE(fs::is_directory(dir.file(split["val"][0].get<std::string>().substr(3))));

  const std::regex clip_name(R"(^([A-Za-z0-9]+)_(Town\d+(?:HD)?)_Route(\d+)_Weather(\d+)$)");
  const std::set<int> weathers = {0, 1, 2, 3, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 18, 19, 20, 21, 22, 23, 25, 26};
  const std::vector<Clip> clips = read_clips(dir.path());
  ASSERT_EQ(clips.size(), 4u);
  std::set<std::string> kinds_seen;
  for (const Clip& clip : clips) {
    std::smatch match;
    ASSERT_TRUE(std::regex_match(clip.name, match, clip_name)) << clip.name;
    EXPECT_TRUE(weathers.count(std::stoi(match[4].str()))) << clip.name;
    ASSERT_EQ(clip.frames.size(), 6u);
    for (const RigCamera& camera : kRig) {
      for (int f = 0; f < 6; ++f) {
        char name[16];
        std::snprintf(name, sizeof(name), "%05d.jpg", f);
        const std::string jpeg = read_text((clip.path / "camera" / camera.folder / name).string());
        ASSERT_EQ(first_quantiser_in(jpeg), jpeg_first_quantiser(20)) << "not JPEG quality 20";
        const cv::Mat image = cv::imread((clip.path / "camera" / camera.folder / name).string());
        ASSERT_EQ(image.cols, 128);
        ASSERT_EQ(image.rows, 72);
      }
    }
    // Bytes as Python writes them: gzip with FNAME, pretty JSON with indent 4.
    const std::string gz = read_text((clip.path / "anno" / "00000.json.gz").string());
    ASSERT_GT(gz.size(), 20u);
    EXPECT_EQ(gz.substr(0, 4), std::string("\x1f\x8b\x08\x08", 4));
    EXPECT_EQ(gz.substr(10, 11), std::string("00000.json\0", 11));
    const std::string text = gunzip(gz);
    EXPECT_EQ(text.substr(0, 11), "{\n    \"x\": ");
    const std::string end = "\n    \"only_ap_brake\": 0\n}";
    EXPECT_EQ(text.substr(text.size() - end.size()), end);

    for (std::size_t f = 0; f < clip.frames.size(); ++f) {
      const Json& anno = clip.frames[f];
      SCOPED_TRACE(clip.name + " frame " + std::to_string(f));
      ASSERT_EQ(keys_of(anno), kTopLevelKeys);
      EXPECT_TRUE(anno["reverse"].is_boolean());
      EXPECT_TRUE(anno["speed"].is_number_float());
      EXPECT_TRUE(anno["command_near"].is_number_integer());
      for (const char* key : {"cloudiness", "precipitation", "precipitation_deposits", "wetness", "wind_intensity",
                              "sun_azimuth_angle", "sun_altitude_angle", "fog_density"}) {
        EXPECT_TRUE(anno["weather"].contains(key)) << key;
      }

      // The ego: first box, pose consistent with x, y, theta and world2ego.
      const Json& ego = anno["bounding_boxes"][0];
      ASSERT_EQ(ego["class"], "ego_vehicle");
      EXPECT_EQ(ego["semantic_tags"], Json::parse("[[14]]"));
      const Eigen::Matrix4d ego2world = get_matrix(ego["location"], ego["rotation"]);
      EXPECT_TRUE(matrix_of(ego["world2ego"]).isApprox(ego2world.inverse(), 1e-9));
      EXPECT_NEAR(anno["x"].get<double>(), ego["location"][0].get<double>(), 1e-9);
      EXPECT_NEAR(anno["y"].get<double>(), ego["location"][1].get<double>(), 1e-9);
      const double theta = std::fmod((ego["rotation"][2].get<double>() + 90.0) * M_PI / 180.0 + 4 * M_PI, 2 * M_PI);
      EXPECT_NEAR(anno["theta"].get<double>(), theta, 1e-9);
      EXPECT_NEAR(ego["speed"].get<double>(), anno["speed"].get<double>(), 1e-12);

      // Every box: exact keys, world_cord and world2* agree with the pose.
      for (const Json& box : anno["bounding_boxes"]) {
        const std::string kind = box_kind(box);
        kinds_seen.insert(kind);
        ASSERT_TRUE(kBoxKeys.count(kind)) << kind;
        EXPECT_EQ(keys_of(box), kBoxKeys.at(kind)) << kind;
        EXPECT_TRUE(box["id"].is_string());
        const Eigen::Matrix4d pose = get_matrix(box["location"], box["rotation"]);
        if (box.contains("world_cord")) {
          const std::vector<Eigen::Vector3d> corners = box_corners(box);
          for (int k = 0; k < 8; ++k) EXPECT_LT((vector_of(box["world_cord"][k]) - corners[k]).norm(), 1e-6);
          const Eigen::Vector3d center = pose.topLeftCorner<3, 3>() * vector_of(box["bbx_loc"]) + pose.topRightCorner<3, 1>();
          EXPECT_LT((vector_of(box["center"]) - center).norm(), 1e-6);
        }
        for (const char* key : {"world2vehicle", "world2ped", "world2sign"}) {
          if (box.contains(key)) {
            EXPECT_TRUE(matrix_of(box[key]).isApprox(pose.inverse(), 1e-9)) << key;
          }
        }
        if (kind != "ego_vehicle") {
          const double distance = (vector_of(box["location"]) - vector_of(ego["location"])).head<2>().norm();
          EXPECT_NEAR(box["distance"].get<double>(), distance, 1e-6);
          EXPECT_LE(distance, 100.0);
        }
      }

      // Sensors: all 13, cameras with the rig's extrinsics and size-consistent intrinsics.
      const Json& sensors = anno["sensors"];
      EXPECT_EQ(keys_of(sensors), (std::vector<std::string>{"CAM_FRONT", "CAM_FRONT_LEFT", "CAM_FRONT_RIGHT", "CAM_BACK",
                                                            "CAM_BACK_LEFT", "CAM_BACK_RIGHT", "TOP_DOWN", "RADAR_FRONT",
                                                            "RADAR_FRONT_LEFT", "RADAR_FRONT_RIGHT", "RADAR_BACK_LEFT",
                                                            "RADAR_BACK_RIGHT", "LIDAR_TOP"}));
      for (const RigCamera& rig : kRig) {
        const Json& camera = sensors[rig.name];
        EXPECT_EQ(keys_of(camera), (std::vector<std::string>{"location", "rotation", "intrinsic", "world2cam", "cam2ego",
                                                             "fov", "image_size_x", "image_size_y"}));
        const Eigen::Matrix4d cam2ego = get_matrix(Json::array({rig.x, rig.y, rig.z}), Json::array({rig.pitch, 0.0, rig.yaw}));
        EXPECT_TRUE(matrix_of(camera["cam2ego"]).isApprox(cam2ego, 1e-12)) << rig.name;
        const double fx = 128.0 / (2.0 * std::tan(rig.fov * M_PI / 360.0));
        EXPECT_NEAR(camera["intrinsic"][0][0].get<double>(), fx, 1e-9);
        EXPECT_NEAR(camera["intrinsic"][1][1].get<double>(), fx, 1e-9);
        EXPECT_EQ(camera["intrinsic"][0][2].get<double>(), 64.0);
        EXPECT_EQ(camera["intrinsic"][1][2].get<double>(), 36.0);
        EXPECT_EQ(camera["image_size_x"], 128);
        EXPECT_EQ(camera["fov"].get<double>(), rig.fov);
        // world2cam = inverse(ego2world @ cam2ego), and the stored location/rotation give it too.
        EXPECT_TRUE(matrix_of(camera["world2cam"]).isApprox((ego2world * cam2ego).inverse(), 1e-9)) << rig.name;
        EXPECT_TRUE(matrix_of(camera["world2cam"]).isApprox(get_matrix(camera["location"], camera["rotation"]).inverse(), 1e-9));
      }
      const Eigen::Matrix4d lidar2ego = matrix_of(sensors["LIDAR_TOP"]["lidar2ego"]);
      EXPECT_TRUE(lidar2ego.isApprox(get_matrix(Json::array({-0.39, 0.0, 1.84}), Json::array({0.0, 0.0, 0.0})), 1e-12));
      EXPECT_TRUE(matrix_of(sensors["LIDAR_TOP"]["world2lidar"]).isApprox((ego2world * lidar2ego).inverse(), 1e-9));
    }
  }
  for (const auto& [kind, keys] : kBoxKeys) EXPECT_TRUE(kinds_seen.count(kind)) << "no " << kind << " box written";
}

// Every pixel the renderer gave an actor lies inside that actor's annotated box projected with the
// annotation's matrices; box centres in view are drawn there unless something nearer hides them.
TEST(Synth, RendersActorsWhereTheirBoxesProject) {
  TempDir dir;
  synth::SynthOptions options = small_options(dir.path());
  options.width = 320;
  options.height = 180;
  options.clips = 3;
  options.frames = 4;
  options.seed = 3;
  options.top_down = false;
  options.depth_and_segmentation = true;
  options.scenarios = {"HardBreakRoute", "ParkingCutIn", "SignalizedJunctionLeftTurn"};
  synth::write_synthetic_dataset(options);
  int centres_seen = 0, centres_hidden = 0;
  for (const Clip& clip : read_clips(dir.path())) {
    for (std::size_t f = 0; f < clip.frames.size(); ++f) {
      const Json& anno = clip.frames[f];
      const std::string ego_id = anno["bounding_boxes"][0]["id"];
      char png[32];
      std::snprintf(png, sizeof(png), "%05zu.png", f);
      for (int c = 0; c < 6; ++c) {
        const RigCamera& rig = kRig[c];
        const std::string suffix = std::string(rig.folder).substr(4);
        const cv::Mat instance = cv::imread((clip.path / "camera" / ("instance_" + suffix) / png).string(), cv::IMREAD_UNCHANGED);
        const cv::Mat depth = cv::imread((clip.path / "camera" / ("depth_" + suffix) / png).string(), cv::IMREAD_UNCHANGED);
        ASSERT_EQ(instance.type(), CV_8UC4);
        ASSERT_EQ(depth.type(), CV_8UC1);
        ASSERT_EQ(instance.cols, 320);
        const Json& camera = anno["sensors"][rig.name];
        // Pixel rectangles per id (OpenCV gives BGRA: B = id high byte, G = low byte).
        std::map<int, cv::Rect> drawn;
        for (int y = 0; y < instance.rows; ++y) {
          for (int x = 0; x < instance.cols; ++x) {
            const cv::Vec4b p = instance.at<cv::Vec4b>(y, x);
            const int id = p[0] * 256 + p[1];
            if (id == 0) continue;
            auto it = drawn.find(id);
            if (it == drawn.end()) drawn[id] = cv::Rect(x, y, 1, 1);
            else it->second |= cv::Rect(x, y, 1, 1);
          }
        }
        EXPECT_FALSE(drawn.count(std::stoi(ego_id))) << "the ego is drawn in " << rig.name;
        for (const Json& box : anno["bounding_boxes"]) {
          if (box["class"] == "ego_vehicle") continue;
          const int id = std::stoi(box["id"].get<std::string>());
          // Image rectangle of the box's part in front of the camera (its edges clipped at 5 cm).
          const std::vector<Eigen::Vector3d> corners = box_corners(box);
          std::vector<Eigen::Vector3d> visible;
          bool in_front = true;
          for (int a = 0; a < 8; ++a) {
            const double depth_a = project(camera, corners[a]).z();
            in_front = in_front && depth_a > 0.1;
            if (depth_a >= 0.05) visible.push_back(corners[a]);
            for (int b = a + 1; b < 8; ++b) {
              if (__builtin_popcount(a ^ b) != 1) continue;  // cube edges join vertices one sign apart
              const double depth_b = project(camera, corners[b]).z();
              if ((depth_a < 0.05) != (depth_b < 0.05)) {
                const double u = (0.05 - depth_a) / (depth_b - depth_a);
                visible.push_back(corners[a] + u * (corners[b] - corners[a]));
              }
            }
          }
          double u0 = 1e18, u1 = -1e18, v0 = 1e18, v1 = -1e18;
          for (const Eigen::Vector3d& point : visible) {
            const Eigen::Vector3d p = project(camera, point);
            u0 = std::min(u0, p.x()), u1 = std::max(u1, p.x()), v0 = std::min(v0, p.y()), v1 = std::max(v1, p.y());
          }
          const auto it = drawn.find(id);
          if (it != drawn.end()) {
            ASSERT_FALSE(visible.empty()) << "id " << id << " drawn in " << rig.name << " though behind the camera";
            const cv::Rect& r = it->second;
            EXPECT_GE(r.x, u0 - 1.0) << "id " << id << " in " << rig.name;
            EXPECT_LE(r.x + r.width - 1, u1 + 1.0) << "id " << id << " in " << rig.name;
            EXPECT_GE(r.y, v0 - 1.0) << "id " << id << " in " << rig.name;
            EXPECT_LE(r.y + r.height - 1, v1 + 1.0) << "id " << id << " in " << rig.name;
          }
          if (!box.contains("world_cord") || !in_front) continue;
          const Eigen::Vector3d centre = project(camera, vector_of(box["center"]));
          const int u = static_cast<int>(std::lround(centre.x())), v = static_cast<int>(std::lround(centre.y()));
          if (u < 0 || v < 0 || u >= 320 || v >= 180 || centre.z() > 60.0) continue;
          const cv::Vec4b p = instance.at<cv::Vec4b>(v, u);
          if (p[0] * 256 + p[1] == id) {
            ++centres_seen;
          } else {
            // Something else is drawn there: it must be in front of the box centre.
            ++centres_hidden;
            EXPECT_LE(depth.at<uint8_t>(v, u), centre.z() + 1.0) << "id " << id << " missing in " << rig.name;
          }
        }
      }
    }
  }
  EXPECT_GT(centres_seen, 20);
  EXPECT_GT(centres_seen, centres_hidden);
}

TEST(Synth, SameSeedWritesSameBytes) {
  TempDir a, b, c;
  synth::SynthOptions options = small_options(a.path());
  options.clips = 2;
  options.frames = 3;
  options.seed = 11;
  options.width = 64;
  options.height = 36;
  options.threads = 1;
  synth::write_synthetic_dataset(options);
  options.out_dir = b.path();
  options.threads = 3;  // frames are written in another order
  synth::write_synthetic_dataset(options);
  options.out_dir = c.path();
  options.seed = 12;
  synth::write_synthetic_dataset(options);
  std::vector<std::string> files;
  for (const auto& entry : fs::recursive_directory_iterator(a.path())) {
    if (entry.is_regular_file()) files.push_back(fs::relative(entry.path(), a.path()).string());
  }
  std::sort(files.begin(), files.end());
  ASSERT_EQ(files.size(), 2u * 3u * 8u + 1u);  // anno + 7 cameras per frame, split file
  for (const std::string& file : files) {
    ASSERT_TRUE(fs::exists(b.file(file))) << file;
    EXPECT_EQ(read_text(a.file(file)), read_text(b.file(file))) << file;
  }
  EXPECT_NE(read_text(a.file("train_val_split.json")), read_text(c.file("train_val_split.json")));
}

// 2-D overlap of two boxes' footprints (separating axis test on the world_cord rectangles).
bool footprints_overlap(const Json& a, const Json& b) {
  const auto rectangle = [](const Json& box) {
    std::vector<Eigen::Vector2d> r;
    for (const int k : {0, 2, 6, 4}) r.push_back(vector_of(box["world_cord"][k]).head<2>());
    return r;
  };
  const auto ra = rectangle(a), rb = rectangle(b);
  for (const auto* r : {&ra, &rb}) {
    for (int k = 0; k < 2; ++k) {
      const Eigen::Vector2d edge = (*r)[k + 1] - (*r)[k];
      const Eigen::Vector2d axis(-edge.y(), edge.x());
      double a0 = 1e18, a1 = -1e18, b0 = 1e18, b1 = -1e18;
      for (const auto& p : ra) a0 = std::min(a0, axis.dot(p)), a1 = std::max(a1, axis.dot(p));
      for (const auto& p : rb) b0 = std::min(b0, axis.dot(p)), b1 = std::max(b1, axis.dot(p));
      if (a1 < b0 || b1 < a0) return false;
    }
  }
  return true;
}

// The expert reacts to the scenario's risk and never collides.
TEST(Synth, ExpertReactsToRiskWithoutCollisions) {
  TempDir dir;
  synth::SynthOptions options = small_options(dir.path());
  options.width = 16;
  options.height = 16;
  options.frames = 90;
  options.seed = 5;
  options.top_down = false;
  options.scenarios = synth::supported_scenarios();
  options.clips = static_cast<int>(options.scenarios.size());
  ASSERT_GE(options.clips, 6);
  synth::write_synthetic_dataset(options);
  std::map<std::string, int> checked;
  for (const Clip& clip : read_clips(dir.path())) {
    const std::string scenario = clip.name.substr(0, clip.name.find('_'));
    SCOPED_TRACE(clip.name);
    double min_speed_after_start = 1e9, max_brake = 0.0;
    bool should_brake = false, stopped_at_red = false, changed_left = false, changed_right = false;
    for (std::size_t f = 0; f < clip.frames.size(); ++f) {
      const Json& anno = clip.frames[f];
      const Json& ego = anno["bounding_boxes"][0];
      const double speed = anno["speed"];
      if (f >= 10) min_speed_after_start = std::min(min_speed_after_start, speed);
      max_brake = std::max(max_brake, anno["brake"].get<double>());
      should_brake = should_brake || anno["should_brake"] == 1;
      changed_left = changed_left || anno["command_near"] == 5;
      changed_right = changed_right || anno["command_near"] == 6;
      for (const Json& box : anno["bounding_boxes"]) {
        if (box["class"] == "traffic_light" && box["affects_ego"] == true && box["state"] == 0 && speed < 0.5) {
          stopped_at_red = true;
        }
        if ((box["class"] == "vehicle" || box["class"] == "walker") && box["distance"].get<double>() < 8.0) {
          EXPECT_FALSE(footprints_overlap(ego, box)) << "ego collides with " << box["type_id"] << " at frame " << f;
        }
      }
    }
    if (scenario == "PedestrianCrossing" || scenario == "DynamicObjectCrossing" || scenario == "ParkingCutIn" ||
        scenario == "HardBreakRoute") {
      EXPECT_TRUE(should_brake) << "never braked for the hazard";
      EXPECT_GT(max_brake, 0.1);
      ++checked["emergency_brake"];
    }
    if (scenario == "PedestrianCrossing" || scenario == "HardBreakRoute") {
      EXPECT_LT(min_speed_after_start, 2.5);
    }
    if (scenario == "SignalizedJunctionLeftTurn" || scenario == "VanillaSignalizedTurnEncounterRedLight") {
      EXPECT_TRUE(stopped_at_red) << "did not stop at the red light";
      ++checked["traffic_signs"];
    }
    if (scenario == "ParkedObstacle") {
      EXPECT_TRUE(changed_left) << "did not change lanes around the obstacle";
      ++checked["overtaking"];
    }
    if (scenario == "YieldToEmergencyVehicle") {
      EXPECT_TRUE(changed_right) << "did not make way for the ambulance";
      ++checked["give_way"];
    }
  }
  EXPECT_EQ(checked.size(), 4u);
}

TEST(Synth, RejectsBadOptions) {
  TempDir dir;
  synth::SynthOptions options = small_options(dir.path());
  options.scenarios = {"NoSuchScenario"};
  try {
    synth::write_synthetic_dataset(options);
    FAIL() << "expected a ConfigError";
  } catch (const rsd::ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("NoSuchScenario"), std::string::npos);
    EXPECT_NE(std::string(e.what()).find("PedestrianCrossing"), std::string::npos);
  }
  options.scenarios.clear();
  options.width = 8;
  EXPECT_THROW(synth::write_synthetic_dataset(options), rsd::ConfigError);
}

// Round trip through librsd's reader: the frames it builds reproduce the generator's own ground
// truth, converted here independently (format doc §2: y flipped, yaw negated).
TEST(Synth, ReaderReproducesTheGroundTruth) {
  TempDir dir;
  synth::SynthOptions options = small_options(dir.path());
  options.width = 64;
  options.height = 36;
  options.clips = 2;
  options.frames = 5;
  options.seed = 21;
  options.scenarios = {"DynamicObjectCrossing", "SignalizedJunctionLeftTurn"};
  const synth::SynthSummary summary = synth::write_synthetic_dataset(options);
  const rsd::data::ClipIndex index = rsd::data::ClipIndex::scan(dir.path());
  ASSERT_EQ(index.clips().size(), 2u);
  EXPECT_TRUE(index.problems().empty());
  const rsd::data::ClipIndex val = index.select(rsd::data::Split::val, summary.split_file);
  const rsd::data::ClipIndex train = index.select(rsd::data::Split::train, summary.split_file);
  ASSERT_EQ(val.clips().size(), 1u);
  ASSERT_EQ(train.clips().size(), 1u);
  EXPECT_EQ(val.clips()[0].name, summary.clips.back().name);

  const Eigen::Matrix4d flip = Eigen::Vector4d(1, -1, 1, 1).asDiagonal();
  const rsd::data::FrameReader reader;
  const std::vector<Clip> clips = read_clips(dir.path());
  for (const Clip& clip : clips) {
    const rsd::data::ClipInfo& info = index.clip(clip.name);
    EXPECT_TRUE(info.name_parsed);
    EXPECT_EQ(info.scenario, clip.name.substr(0, clip.name.find('_')));
    ASSERT_EQ(info.frames.size(), clip.frames.size());
    for (std::size_t f = 0; f < clip.frames.size(); ++f) {
      const Json& anno = clip.frames[f];
      const rsd::data::Frame frame = reader.read(info, static_cast<int>(f));
      const Json& ego = anno["bounding_boxes"][0];
      const Eigen::Matrix4d ego2world_lh = get_matrix(ego["location"], ego["rotation"]);
      EXPECT_TRUE(frame.ego2world.isApprox(flip * ego2world_lh * flip, 1e-9));
      EXPECT_NEAR(frame.ego.speed, anno["speed"].get<double>(), 1e-9);
      EXPECT_EQ(static_cast<int>(frame.command), anno["command_near"].get<int>() - 1);
      const Eigen::Matrix4d world2ego_lh = ego2world_lh.inverse();
      const double ego_yaw = ego["rotation"][2].get<double>() * M_PI / 180.0;
      std::map<std::string, const rsd::data::Box*> read_boxes;
      for (const rsd::data::Box& box : frame.boxes) read_boxes[box.id] = &box;
      int compared = 0;
      for (const Json& box : anno["bounding_boxes"]) {
        if (box["class"] != "vehicle" && box["class"] != "walker") continue;
        const auto it = read_boxes.find(box["id"].get<std::string>());
        ASSERT_NE(it, read_boxes.end()) << "box " << box["id"] << " not read";
        const rsd::data::Box& read = *it->second;
        const Eigen::Vector3d center_lh = world2ego_lh.topLeftCorner<3, 3>() * vector_of(box["center"]) +
                                          world2ego_lh.topRightCorner<3, 1>();
        EXPECT_LT((read.center - Eigen::Vector3d(center_lh.x(), -center_lh.y(), center_lh.z())).norm(), 1e-4);
        EXPECT_LT((read.size - 2.0 * vector_of(box["extent"])).norm(), 1e-4);
        const double yaw = -(box["rotation"][2].get<double>() * M_PI / 180.0 - ego_yaw);
        EXPECT_NEAR(std::remainder(read.yaw - yaw, 2 * M_PI), 0.0, 1e-4) << box["type_id"];
        if (box["class"] == "vehicle") {
          const double speed = box["speed"];
          EXPECT_LT((read.velocity - speed * Eigen::Vector2d(std::cos(yaw), std::sin(yaw))).norm(), 1e-4);
        }
        ++compared;
      }
      EXPECT_GT(compared, 0);
      ASSERT_EQ(frame.cameras.size(), 6u);
      for (std::size_t c = 0; c < 6; ++c) {
        const rsd::data::Camera& camera = frame.cameras[c];
        const Json& stored = anno["sensors"][kRig[c].name];
        EXPECT_EQ(camera.width, 64);
        EXPECT_NEAR(camera.intrinsics(0, 0), stored["intrinsic"][0][0].get<double>(), 1e-9);
        // OpenCV camera (x right, y down, z forward) -> right-handed ego.
        Eigen::Matrix4d opencv_to_ue = Eigen::Matrix4d::Identity();
        opencv_to_ue.topLeftCorner<3, 3>() << 0, 0, 1, 1, 0, 0, 0, -1, 0;
        EXPECT_TRUE(camera.cam2ego.isApprox(flip * matrix_of(stored["cam2ego"]) * opencv_to_ue, 1e-9)) << kRig[c].name;
      }
    }
  }
}

}  // namespace
