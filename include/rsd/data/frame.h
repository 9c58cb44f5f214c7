// One Bench2Drive frame as librsd sees it: every quantity converted once, in the frame reader, from
// CARLA's left-handed frames into our right-handed ones.
//
// Frames used here:
//   ego frame    x forward, y left, z up; metres, radians (yaw counter-clockwise seen from above).
//   world frame  CARLA's world with y negated (right-handed, z up).
//   camera frame OpenCV convention: x right, y down, z along the optical axis; pixel = K * p / p.z.
#pragma once

#include <Eigen/Core>

#include <string>
#include <vector>

namespace rsd::data {

/// Bench2Drive's annotation rate: every frame is annotated, 10 frames per second.
constexpr double kFrameRateHz = 10.0;

/// Bench2Drive's ego vehicle, a Lincoln MKZ 2020 (CARLA bounding box): footprint length and width,
/// metres. For when a frame has no annotated ego box (Frame::ego_size).
constexpr double kEgoLength = 4.89;
constexpr double kEgoWidth = 2.12;

/// The object classes librsd detects and judges. Bench2Drive's type_ids map onto them in the reader.
enum class ObjectClass : int { vehicle = 0, pedestrian = 1, cyclist = 2, traffic_light = 3, traffic_sign = 4 };
constexpr int kNumObjectClasses = 5;
const char* to_string(ObjectClass object_class);

/// The six driving commands of Bench2DriveZoo, mapped from the annotation's command_near
/// (CARLA RoadOption: 1 LEFT, 2 RIGHT, 3 STRAIGHT, 4 LANEFOLLOW, 5 CHANGELANELEFT, 6 CHANGELANERIGHT).
enum class Command : int {
  turn_left = 0,
  turn_right = 1,
  straight = 2,
  lane_follow = 3,
  change_lane_left = 4,
  change_lane_right = 5
};
constexpr int kNumCommands = 6;
const char* to_string(Command command);

/// Bench2Drive's traffic-light state integers.
enum class TrafficLightState : int { red = 0, yellow = 1, green = 2, off = 3, unknown = 4 };
const char* to_string(TrafficLightState state);

/// One annotated object (the ego excluded), in the ego frame of its frame.
struct Box {
  std::string id;                                   // CARLA actor id
  ObjectClass object_class = ObjectClass::vehicle;
  std::string type_id;                              // e.g. "vehicle.audi.tt", "walker.pedestrian.0012"
  Eigen::Vector3d center = Eigen::Vector3d::Zero(); // box centre, metres
  Eigen::Vector3d size = Eigen::Vector3d::Zero();   // full length (along its heading), width, height
  double yaw = 0.0;                                 // heading; 0 = the ego's forward direction
  Eigen::Vector2d velocity = Eigen::Vector2d::Zero(); // m/s in the ego frame (absolute motion)
  bool is_static = false;                           // parked vehicles
  int num_points = -1;                              // LiDAR points inside; -1 when unknown
  TrafficLightState light_state = TrafficLightState::unknown;  // traffic lights only
  bool affects_ego = false;                         // traffic lights and signs: applies to the ego
};

/// One camera of one frame.
struct Camera {
  std::string name;                                     // CAM_FRONT, ...
  std::string folder;                                   // rgb_front, ...
  int width = 0;                                        // image size in pixels, as stored
  int height = 0;
  Eigen::Matrix3d intrinsics = Eigen::Matrix3d::Identity();  // pixels, of the stored image
  Eigen::Matrix4d cam2ego = Eigen::Matrix4d::Identity();     // camera frame -> ego frame
  std::string image_path;                               // this frame's JPEG
};

struct EgoStatus {
  double speed = 0.0;                                          // m/s, forward
  Eigen::Vector3d acceleration = Eigen::Vector3d::Zero();      // m/s^2, ego frame
  Eigen::Vector3d angular_velocity = Eigen::Vector3d::Zero();  // rad/s, ego frame
  double steer = 0.0;     // [-1, 1], positive = to the left (CARLA's sign flipped)
  double throttle = 0.0;  // [0, 1]
  double brake = 0.0;     // [0, 1]
};

struct Frame {
  std::string clip;                                     // clip folder name
  int index = 0;                                        // frame number (the NNNNN of its files)
  Eigen::Matrix4d ego2world = Eigen::Matrix4d::Identity();
  EgoStatus ego;
  Command command = Command::lane_follow;               // from command_near
  Eigen::Vector2d command_target = Eigen::Vector2d::Zero();  // (x_command_near, y_command_near), ego frame
  std::vector<Camera> cameras;                          // in the configured camera order
  std::vector<Box> boxes;
  Eigen::Vector3d ego_size = Eigen::Vector3d::Zero();   // ego box: full length, width, height
  /// type_ids of the annotated objects whose type maps to none of the classes (e.g.
  /// static.prop.dirtdebris01, Bench2DriveZoo's "others"); they are not in `boxes`.
  std::vector<std::string> ignored_type_ids;
};

}  // namespace rsd::data
