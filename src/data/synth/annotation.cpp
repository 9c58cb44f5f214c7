#include "data/synth/annotation.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "data/synth/sensor_rig.h"

namespace rsd::data::synth {
namespace {

using Json = nlohmann::ordered_json;

constexpr double kSaveDistance = 100.0;  // DIS_*_SAVE of the collector

Json vec(const Eigen::Vector3d& v) { return Json::array({v.x(), v.y(), v.z()}); }

Json rotation(const Rotation& r) { return Json::array({r.pitch, r.roll, r.yaw}); }

Json matrix(const Eigen::Matrix4d& m) {
  Json rows = Json::array();
  for (int r = 0; r < 4; ++r) rows.push_back(Json::array({m(r, 0), m(r, 1), m(r, 2), m(r, 3)}));
  return rows;
}

Json vertices(const Transform& transform, const Eigen::Vector3d& bbx_loc, const Eigen::Vector3d& extent) {
  Json out = Json::array();
  for (const Eigen::Vector3d& v : world_vertices(transform, bbx_loc, extent)) out.push_back(vec(v));
  return out;
}

std::string colour_text(Rgb rgb) {
  return std::to_string(rgb.r) + "," + std::to_string(rgb.g) + "," + std::to_string(rgb.b);
}

Json tags(const std::vector<int>& values) {
  Json out = Json::array();
  for (const int v : values) out.push_back(v);
  return out;
}

void put_road(Json& box, const ClipWorld& world, const Transform& map) {
  const RoadLocation where = world.road.locate(map.location.x(), map.location.y());
  box["road_id"] = where.road_id;
  box["lane_id"] = where.lane_id;
  box["section_id"] = where.section_id;
}

// LiDAR returns inside a box: beams of the 64-channel, 600k points/s, 10 Hz sensor (0.384 deg
// apart in azimuth, vertical field +10..-30 deg, range 85 m) that hit the box's silhouette.
// Occlusion is not modelled.
int lidar_points(const Eigen::Vector3d& lidar, const Eigen::Vector3d& center, const Eigen::Vector3d& extent,
                 double yaw_radians) {
  const Eigen::Vector3d d = center - lidar;
  const double range = d.head<2>().norm();
  if (range > 85.0 || range < 0.5) return 0;
  const double bearing = std::atan2(d.y(), d.x()) - yaw_radians;
  const double width = 2.0 * (std::abs(extent.x() * std::sin(bearing)) + std::abs(extent.y() * std::cos(bearing)));
  const double azimuth = 2.0 * std::atan2(width / 2.0, range) * 180.0 / M_PI;
  const double top = std::min(10.0, std::atan2(d.z() + extent.z(), range) * 180.0 / M_PI);
  const double bottom = std::max(-30.0, std::atan2(d.z() - extent.z(), range) * 180.0 / M_PI);
  if (top <= bottom) return 0;
  const double channels = (top - bottom) / (40.0 / 63.0);
  const double columns = azimuth / (360.0 / 937.5);
  return static_cast<int>(std::floor(std::max(0.0, channels) * std::max(0.0, columns)));
}

// Skeleton segments of a walker in world coordinates, from its pose and stride phase.
Json bones(const Transform& world_pose, const ActorSpec& spec, double gait) {
  const double h = 2.0 * spec.extent.z();
  const double swing = 0.18 * std::sin(gait);
  const double bottom = -spec.extent.z();  // walker origin is the box centre
  const auto joint = [&](double x, double y, double z) { return Eigen::Vector3d(x, y, bottom + z * h); };
  const Eigen::Vector3d pelvis = joint(0, 0, 0.5), spine = joint(0, 0, 0.68), neck = joint(0, 0, 0.84),
                        head = joint(0.02, 0, 0.95);
  std::vector<std::pair<Eigen::Vector3d, Eigen::Vector3d>> segments = {{pelvis, spine}, {spine, neck}, {neck, head}};
  for (const int side : {-1, 1}) {
    const Eigen::Vector3d shoulder = joint(0, side * 0.18, 0.82), elbow = joint(-side * swing * 0.5, side * 0.21, 0.64),
                          hand = joint(-side * swing, side * 0.22, 0.47), hip = joint(0, side * 0.09, 0.48),
                          knee = joint(side * swing * 0.6, side * 0.09, 0.26), foot = joint(side * swing, side * 0.09, 0.02);
    segments.push_back({neck, shoulder});
    segments.push_back({shoulder, elbow});
    segments.push_back({elbow, hand});
    segments.push_back({pelvis, hip});
    segments.push_back({hip, knee});
    segments.push_back({knee, foot});
  }
  const Eigen::Matrix4d to_world = get_matrix(world_pose);
  Json out = Json::array();
  for (const auto& [a, b] : segments) out.push_back(Json::array({vec(apply(to_world, a)), vec(apply(to_world, b))}));
  return out;
}

const RouteNode& node_beyond(const std::vector<RouteNode>& route, double s) {
  for (const RouteNode& node : route) {
    if (node.s > s) return node;
  }
  return route.back();
}

Eigen::Vector3d route_point(const ClipWorld& world, const RouteNode& node) {
  Transform map;
  map.location = Eigen::Vector3d(node.position.x(), node.position.y(), world.road.ground_z);
  return world.to_world(map).location;
}

}  // namespace

Json make_annotation(const ClipWorld& world, int frame, const AnnotationOptions& options) {
  const FrameState& state = world.frames[static_cast<std::size_t>(frame)];
  const EgoFrame& ego = state.ego;
  const Transform ego_world = world.to_world(ego.transform);
  const Eigen::Vector3d ego_location = ego_world.location;
  Json anno;
  anno["x"] = ego_location.x();
  anno["y"] = ego_location.y();
  anno["throttle"] = ego.throttle;
  anno["steer"] = ego.steer;
  anno["brake"] = ego.brake;
  anno["reverse"] = false;
  double theta = std::fmod(radians(ego_world.rotation.yaw + 90.0), 2.0 * M_PI);
  if (theta < 0.0) theta += 2.0 * M_PI;
  const bool nan_theta = options.quirks && cell_noise(frame, world.route_id, 11) < 0.04;
  const bool null_speed = options.quirks && cell_noise(frame, world.route_id, 12) < 0.04;
  anno["theta"] = nan_theta ? std::numeric_limits<double>::quiet_NaN() : theta;
  anno["speed"] = null_speed ? Json(nullptr) : Json(ego.speed);

  int near_command = kLaneFollow;
  const auto put_node = [&](const char* x_key, const char* y_key, const char* command_key, double ahead) {
    const RouteNode& node = node_beyond(world.route, ego.route_s + ahead);
    const Eigen::Vector3d p = route_point(world, node);
    anno[x_key] = p.x();
    anno[y_key] = p.y();
    int command = node.command;
    if (ego.lane_change != 0 && ahead < 20.0) command = ego.lane_change < 0 ? kChangeLaneLeft : kChangeLaneRight;
    if (command_key != nullptr) anno[command_key] = command;
    return command;
  };
  put_node("x_command_far", "y_command_far", "command_far", 40.0);
  near_command = put_node("x_command_near", "y_command_near", "command_near", 7.5);
  anno["should_brake"] = ego.should_brake ? 1 : 0;
  const int next_command = put_node("x_target", "y_target", nullptr, 15.0);
  anno["next_command"] = next_command;
  (void)near_command;

  const Weather& w = world.weather;
  anno["weather"] = Json{{"cloudiness", w.cloudiness},
                         {"precipitation", w.precipitation},
                         {"precipitation_deposits", w.precipitation_deposits},
                         {"wind_intensity", w.wind_intensity},
                         {"sun_azimuth_angle", w.sun_azimuth_angle},
                         {"sun_altitude_angle", w.sun_altitude_angle},
                         {"fog_density", w.fog_density},
                         {"fog_distance", w.fog_distance},
                         {"wetness", w.wetness},
                         {"fog_falloff", w.fog_falloff}};
  anno["acceleration"] = vec(ego.acceleration);
  anno["angular_velocity"] = vec(ego.angular_velocity);

  // ---- bounding boxes ----
  Json boxes = Json::array();
  {
    const EgoSpec& spec = world.ego;
    Json box;
    box["class"] = "ego_vehicle";
    box["id"] = std::to_string(spec.id);
    box["type_id"] = spec.type_id;
    box["base_type"] = "car";
    box["location"] = vec(ego_location);
    box["rotation"] = rotation(ego_world.rotation);
    box["bbx_loc"] = vec(spec.bbx_loc);
    box["center"] = vec(apply(get_matrix(ego_world), spec.bbx_loc));
    box["extent"] = vec(spec.extent);
    box["world_cord"] = vertices(ego_world, spec.bbx_loc, spec.extent);
    box["semantic_tags"] = Json::array({Json::array({static_cast<int>(kTagCar)})});
    box["color"] = colour_text(spec.color);
    box["speed"] = ego.speed;
    box["brake"] = ego.brake;
    put_road(box, world, ego.transform);
    box["world2ego"] = matrix(rigid_inverse(get_matrix(ego_world)));
    boxes.push_back(std::move(box));
  }
  const Transform lidar_world = compose(ego_world, sensor_rig().back().mount);
  enum Group { dynamic_vehicles, static_vehicles, walkers, lights, signs };
  const auto group_of = [](const ActorSpec& spec) {
    switch (spec.kind) {
      case ActorKind::vehicle: return spec.parked_mesh ? static_vehicles : dynamic_vehicles;
      case ActorKind::walker: return walkers;
      case ActorKind::traffic_light: return lights;
      default: return signs;
    }
  };
  for (const Group group : {dynamic_vehicles, static_vehicles, walkers, lights, signs}) {
    for (std::size_t i = 0; i < world.actors.size(); ++i) {
      const ActorSpec& spec = world.actors[i];
      if (group_of(spec) != group) continue;
      const ActorState& actor = state.actors[i];
      const Transform pose = world.to_world(actor.transform);
      const double distance = (pose.location - ego_location).head<2>().norm();
      if (distance > kSaveDistance) continue;
      const Eigen::Vector3d center = apply(get_matrix(pose), spec.bbx_loc);
      const Eigen::Matrix4d inverse = rigid_inverse(get_matrix(pose));
      const int points = lidar_points(lidar_world.location, center, spec.extent, radians(pose.rotation.yaw));
      Json box;
      // The keys vehicles and walkers share, in the order CARLA's writer emits them.
      const auto put_actor_body = [&]() {
        box["id"] = std::to_string(spec.id);
        box["location"] = vec(pose.location);
        box["rotation"] = rotation(pose.rotation);
        box["bbx_loc"] = vec(spec.bbx_loc);
        box["center"] = vec(center);
        box["extent"] = vec(spec.extent);
        box["world_cord"] = vertices(pose, spec.bbx_loc, spec.extent);
        box["semantic_tags"] = tags(spec.semantic_tags);
        box["type_id"] = spec.type_id;
      };
      if (group == dynamic_vehicles || group == static_vehicles) {
        box["class"] = "vehicle";
        box["state"] = group == dynamic_vehicles ? "dynamic" : "static";
        put_actor_body();
        if (group == dynamic_vehicles) {
          box["color"] = colour_text(spec.color);
          box["base_type"] = spec.base_type;
        }
        box["num_points"] = points;
        box["distance"] = distance;
        box["speed"] = actor.speed;
        box["brake"] = group == dynamic_vehicles ? actor.brake : 1.0;
        box["light_state"] = spec.light_state;
        put_road(box, world, actor.transform);
        box["world2vehicle"] = matrix(inverse);
      } else if (group == walkers) {
        box["class"] = "walker";
        put_actor_body();
        box["gender"] = spec.gender;
        box["age"] = spec.age;
        box["num_points"] = points;
        box["distance"] = distance;
        box["speed"] = 0.0;  // CARLA reports 0 for walkers; readers derive it from motion
        box["bone"] = bones(pose, spec, actor.gait);
        put_road(box, world, actor.transform);
        box["world2ped"] = matrix(inverse);
      } else {
        const bool light = group == lights;
        box["class"] = light ? "traffic_light" : "traffic_sign";
        box["id"] = std::to_string(spec.id);
        box["location"] = vec(pose.location);
        box["rotation"] = rotation(pose.rotation);
        if (!spec.has_trigger) box["bbx_loc"] = vec(spec.bbx_loc);
        box["center"] = vec(center);
        box["extent"] = vec(spec.extent);
        if (!spec.has_trigger) box["world_cord"] = vertices(pose, spec.bbx_loc, spec.extent);
        box["semantic_tags"] = tags(spec.semantic_tags);
        box["type_id"] = spec.type_id;
        box["distance"] = distance;
        if (light) box["state"] = actor.light;
        box["affects_ego"] = spec.affects_ego;
        if (spec.has_trigger) {
          const Transform trigger = world.to_world(spec.trigger);
          double yaw = std::fmod(trigger.rotation.yaw, 360.0);
          if (yaw < 0.0) yaw += 360.0;
          box["trigger_volume_location"] = vec(trigger.location);
          box["trigger_volume_rotation"] = Json::array({0.0, 0.0, yaw});
          box["trigger_volume_extent"] = vec(spec.trigger_extent);
        }
        put_road(box, world, spec.has_trigger ? spec.trigger : actor.transform);
        if (!light) box["world2sign"] = matrix(inverse);
      }
      boxes.push_back(std::move(box));
    }
  }
  anno["bounding_boxes"] = std::move(boxes);

  // ---- sensors ----
  Json sensors;
  for (const SensorMount& mount : sensor_rig()) {
    const Transform pose = compose(ego_world, mount.mount);
    const Eigen::Matrix4d to_ego = get_matrix(mount.mount);
    const Eigen::Matrix4d from_world = rigid_inverse(get_matrix(pose));
    Json entry;
    entry["location"] = vec(pose.location);
    entry["rotation"] = rotation(pose.rotation);
    switch (mount.kind) {
      case SensorKind::camera: {
        const double f = focal_length(options.width, mount.fov);
        entry["intrinsic"] = Json::array({Json::array({f, 0.0, options.width / 2.0}),
                                          Json::array({0.0, f, options.height / 2.0}), Json::array({0.0, 0.0, 1.0})});
        entry["world2cam"] = matrix(from_world);
        entry["cam2ego"] = matrix(to_ego);
        entry["fov"] = mount.fov;
        entry["image_size_x"] = options.width;
        entry["image_size_y"] = options.height;
        break;
      }
      case SensorKind::radar:
        entry["world2radar"] = matrix(from_world);
        entry["radar2ego"] = matrix(to_ego);
        break;
      case SensorKind::lidar:
        entry["world2lidar"] = matrix(from_world);
        entry["lidar2ego"] = matrix(to_ego);
        break;
    }
    sensors[mount.name] = std::move(entry);
  }
  anno["sensors"] = std::move(sensors);
  anno["only_ap_brake"] = 0;
  return anno;
}

}  // namespace rsd::data::synth
