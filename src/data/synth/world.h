// The synthetic world of one clip: what exists (road, scenery, actors with their appearance and
// blueprint), and what happened (one FrameState per 10 Hz frame). Poses are kept in the clip's
// map frame (CARLA left-handed, flat ground); map_to_world places the map in CARLA world
// coordinates when the annotation is written.
#pragma once

#include <Eigen/Core>

#include <cstdint>
#include <string>
#include <vector>

#include "data/synth/carla_math.h"
#include "data/synth/road_layout.h"
#include "data/synth/weather.h"

namespace rsd::data::synth {

struct Rgb {
  uint8_t r = 0, g = 0, b = 0;
};

enum class ActorKind { vehicle, walker, traffic_light, traffic_sign, prop };

/// How an actor is drawn (its parts inside its bounding box).
enum class BodyShape { car, van, truck, bicycle, walker, traffic_light, speed_sign, warning_board, cone };

struct ActorSpec {
  int id = 0;                       // CARLA actor id (written as a string)
  ActorKind kind = ActorKind::vehicle;
  BodyShape shape = BodyShape::car;
  bool parked_mesh = false;         // vehicle of state "static" (a parked level mesh)
  std::string type_id;
  std::string base_type;            // vehicles only ("car", "van", "truck", "bicycle")
  Eigen::Vector3d extent = Eigen::Vector3d::Zero();   // half sizes
  Eigen::Vector3d bbx_loc = Eigen::Vector3d::Zero();  // box centre in the actor frame
  Rgb color;                        // paint; walkers: shirt
  Rgb secondary;                    // walkers: trousers; cyclists: rider
  Rgb skin;                         // walkers and riders
  std::vector<int> semantic_tags;
  std::string gender, age;          // walkers
  std::string light_state = "NONE"; // vehicles
  bool emergency = false;           // other traffic yields to it
  bool blocking = false;            // a scenario obstacle the ego may drive around
  int light_group = -1;             // traffic lights: the signal group showing on it
  bool affects_ego = false;         // traffic lights and signs
  bool has_trigger = false;         // traffic lights and speed signs
  Transform trigger;                // trigger volume pose, map frame
  Eigen::Vector3d trigger_extent = Eigen::Vector3d::Zero();
};

struct ActorState {
  Transform transform;              // actor origin, map frame
  double speed = 0.0;               // m/s, forward (what CARLA's speedometer reports)
  double brake = 0.0;
  int light = 4;                    // traffic lights: 0 red, 1 yellow, 2 green, 3 off, 4 unknown
  double gait = 0.0;                // walkers: phase of the stride, radians
};

struct EgoSpec {
  int id = 0;
  std::string type_id = "vehicle.lincoln.mkz_2020";
  Eigen::Vector3d extent{2.4508, 1.0641, 0.7553};
  Eigen::Vector3d bbx_loc{0.0, 0.0, 0.7553};
  Rgb color{17, 37, 103};
};

struct EgoFrame {
  Transform transform;              // map frame
  double speed = 0.0;
  Eigen::Vector3d acceleration = Eigen::Vector3d::Zero();      // IMU, m/s^2, ego frame (LH), gravity included
  Eigen::Vector3d angular_velocity = Eigen::Vector3d::Zero();  // IMU, rad/s, ego frame (LH)
  double throttle = 0.0, steer = 0.0, brake = 0.0;
  bool should_brake = false;        // braking for a hazard (actor, red light, yield)
  double route_s = 0.0;             // arc length along the route
  int lane_change = 0;              // -1 changing to the left, +1 to the right
};

struct FrameState {
  double time = 0.0;
  EgoFrame ego;
  std::vector<ActorState> actors;   // parallel to ClipWorld::actors
};

/// A node of the route given to the expert: CARLA RoadOption of the piece it belongs to.
struct RouteNode {
  double s = 0.0;
  Eigen::Vector2d position = Eigen::Vector2d::Zero();
  int command = 4;
};

enum class Scenery { building, kerb, pole, lamp, trunk, crown };

/// Level geometry: drawn, never annotated (as in CARLA's get_bounding_boxes).
struct SceneryBox {
  Scenery kind = Scenery::building;
  Eigen::Vector3d center = Eigen::Vector3d::Zero();  // map frame
  double yaw = 0.0;                                  // radians
  Eigen::Vector3d half = Eigen::Vector3d::Ones();
  Rgb color;
};

/// CARLA RoadOption values.
enum RoadOption : int { kVoid = -1, kLeft = 1, kRight = 2, kStraight = 3, kLaneFollow = 4, kChangeLaneLeft = 5, kChangeLaneRight = 6 };

struct ClipWorld {
  std::string scenario;
  std::string town;
  int route_id = 0;
  Weather weather;
  RoadLayout road;
  Transform map_to_world;           // yaw about z and a translation
  EgoSpec ego;
  std::vector<ActorSpec> actors;
  std::vector<SceneryBox> scenery;
  std::vector<RouteNode> route;
  std::vector<FrameState> frames;

  /// <Scenario>_<Town>_Route<r>_Weather<w>
  std::string name() const;
  /// A map-frame transform in CARLA world coordinates.
  Transform to_world(const Transform& map) const;
};

}  // namespace rsd::data::synth
