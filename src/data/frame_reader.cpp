#include "rsd/data/frame_reader.h"

#include <cctype>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <unordered_map>
#include <unordered_set>

#include "data/annotation_json.h"
#include "data/carla_geometry.h"
#include "rsd/util/error.h"

namespace rsd::data {
namespace {

using detail::JsonFields;
using nlohmann::json;
using rsd::detail::concat;

// The ego of one annotation file, in both handednesses.
struct EgoGeometry {
  Eigen::Matrix4d world2ego_lh;  // CARLA world -> CARLA ego
  Eigen::Matrix4d world2ego;     // our world -> our ego
  Eigen::Matrix4d ego2world;
};

const json& bounding_boxes(const JsonFields& fields, const json& root) {
  const json& boxes = fields.required(root, "bounding_boxes", "");
  if (!boxes.is_array() || boxes.empty()) {
    fields.fail("", "bounding_boxes", "expected a non-empty list (element 0 is the ego)");
  }
  return boxes;
}

EgoGeometry read_ego_geometry(const JsonFields& fields, const json& root) {
  const json& ego = bounding_boxes(fields, root)[0];
  const std::string where = "bounding_boxes[0]";
  if (const json* cls = fields.optional(ego, "class"); cls != nullptr && *cls != "ego_vehicle") {
    fields.fail(where, "class", concat("expected \"ego_vehicle\" (the ego comes first), got ", *cls));
  }
  EgoGeometry geometry;
  geometry.world2ego_lh = fields.matrix4(ego, "world2ego", where);
  if (!detail::is_rotation(geometry.world2ego_lh)) {
    fields.fail(where, "world2ego", "not a rigid transform (rotation part not orthonormal)");
  }
  const Eigen::Matrix4d flip = detail::left_to_right();
  geometry.world2ego = flip * geometry.world2ego_lh * flip;
  geometry.ego2world = geometry.world2ego.inverse();
  return geometry;
}

// Which matrix holds an object's exact pose, by annotation class (static vehicles have wrong
// location/rotation but a right world2vehicle).
const char* pose_matrix_key(const std::string& annotation_class) {
  if (annotation_class == "vehicle") return "world2vehicle";
  if (annotation_class == "walker") return "world2ped";
  if (annotation_class == "traffic_sign") return "world2sign";
  return nullptr;
}

// Forward axis of the object in CARLA's world.
Eigen::Vector3d world_heading_lh(const JsonFields& fields, const json& object,
                                 const std::string& annotation_class, const std::string& where) {
  if (const char* key = pose_matrix_key(annotation_class);
      key != nullptr && fields.optional(object, key) != nullptr) {
    const Eigen::Matrix4d world2object = fields.matrix4(object, key, where);
    return world2object.topLeftCorner<3, 3>().row(0).transpose();  // = R_object2world column 0
  }
  const Eigen::Vector3d rotation = fields.vector3(object, "rotation", where);
  return detail::carla_matrix(Eigen::Vector3d::Zero(), rotation).topLeftCorner<3, 1>();
}

Eigen::Vector3d to_right_handed(const Eigen::Vector3d& v) { return {v.x(), -v.y(), v.z()}; }

std::string frame_file_name(int frame) {
  char buffer[24];
  std::snprintf(buffer, sizeof(buffer), "%05d.json.gz", frame);
  return buffer;
}

bool frame_exists(const ClipInfo& clip, int frame) {
  if (!clip.frames.empty()) return clip.has_frame(frame);
  std::error_code error;
  return std::filesystem::exists(annotation_path(clip, frame), error);
}

// Object centres of `ids` in our world frame, from another frame's annotation.
std::unordered_map<std::string, Eigen::Vector3d> world_centers(
    const std::string& path, const std::unordered_set<std::string>& ids) {
  const json root = detail::read_annotation_json(path);
  const JsonFields fields(path);
  const json& boxes = bounding_boxes(fields, root);
  std::unordered_map<std::string, Eigen::Vector3d> centers;
  for (size_t i = 1; i < boxes.size(); ++i) {
    const std::string where = concat("bounding_boxes[", i, "]");
    const std::string id = fields.optional_id(boxes[i], "id", where);
    if (ids.count(id) == 0) continue;
    centers[id] = to_right_handed(fields.vector3(boxes[i], "center", where));
  }
  return centers;
}

struct PendingMotion {
  size_t box;  // index into Frame::boxes
  std::string id;
  Eigen::Vector3d world_center;
};

// Velocities of the boxes in `pending` from the motion of their centres (see FrameReaderOptions).
void derive_velocities(const ClipInfo& clip, int frame, const EgoGeometry& ego,
                       const std::vector<PendingMotion>& pending, std::vector<Box>& boxes) {
  std::unordered_set<std::string> ids;
  for (const PendingMotion& motion : pending) ids.insert(motion.id);
  std::unordered_map<std::string, Eigen::Vector3d> previous, next;
  if (frame_exists(clip, frame - 1)) previous = world_centers(annotation_path(clip, frame - 1), ids);
  if (frame_exists(clip, frame + 1)) next = world_centers(annotation_path(clip, frame + 1), ids);
  const Eigen::Matrix3d world2ego = ego.world2ego.topLeftCorner<3, 3>();
  for (const PendingMotion& motion : pending) {
    const auto before = previous.find(motion.id);
    const auto after = next.find(motion.id);
    const bool has_before = before != previous.end(), has_after = after != next.end();
    if (!has_before && !has_after) continue;
    const Eigen::Vector3d from = has_before ? before->second : motion.world_center;
    const Eigen::Vector3d to = has_after ? after->second : motion.world_center;
    const double seconds = (has_before && has_after ? 2.0 : 1.0) / kFrameRateHz;
    const Eigen::Vector3d velocity = world2ego * ((to - from) / seconds);
    boxes[motion.box].velocity = velocity.head<2>();
  }
}

Camera read_camera(const JsonFields& fields, const json& sensors, const std::string& name,
                   const ClipInfo& clip, int frame) {
  const std::string where = "sensors." + name;
  const json& sensor = fields.required(sensors, name.c_str(), "sensors");
  Camera camera;
  camera.name = name;
  camera.folder = camera_folder(name);
  camera.width = fields.integer(sensor, "image_size_x", where);
  camera.height = fields.integer(sensor, "image_size_y", where);
  if (camera.width <= 0 || camera.height <= 0) {
    fields.fail(where, "image_size_x", concat("image size ", camera.width, "x", camera.height));
  }
  camera.intrinsics = fields.matrix3(sensor, "intrinsic", where);
  const Eigen::Matrix4d cam2ego_ue = fields.matrix4(sensor, "cam2ego", where);
  if (!detail::is_rotation(cam2ego_ue)) {
    fields.fail(where, "cam2ego", "not a rigid transform (rotation part not orthonormal)");
  }
  camera.cam2ego = detail::left_to_right() * cam2ego_ue * detail::opencv_to_ue_camera();
  char file[16];
  std::snprintf(file, sizeof(file), "%05d.jpg", frame);
  camera.image_path = clip.path + "/camera/" + camera.folder + "/" + file;
  return camera;
}

EgoStatus read_ego_status(const JsonFields& fields, const json& root) {
  const json& ego_box = bounding_boxes(fields, root)[0];
  EgoStatus status;
  const std::optional<double> speed = fields.optional_number(root, "speed", "");
  status.speed = speed ? *speed
                       : fields.optional_number(ego_box, "speed", "bounding_boxes[0]").value_or(0.0);
  if (fields.optional(root, "acceleration") != nullptr) {
    const Eigen::Vector3d a = fields.vector3(root, "acceleration", "");
    status.acceleration = detail::acceleration_to_right_handed(a);
  }
  if (fields.optional(root, "angular_velocity") != nullptr) {
    status.angular_velocity = detail::angular_velocity_to_right_handed(fields.vector3(root, "angular_velocity", ""));
  }
  status.steer = detail::steer_to_right_handed(fields.optional_number(root, "steer", "").value_or(0.0));
  status.throttle = fields.optional_number(root, "throttle", "").value_or(0.0);
  status.brake = fields.optional_number(root, "brake", "").value_or(0.0);
  return status;
}

}  // namespace

std::vector<std::string> default_camera_names() {
  return {"CAM_FRONT", "CAM_FRONT_LEFT", "CAM_FRONT_RIGHT",
          "CAM_BACK",  "CAM_BACK_LEFT",  "CAM_BACK_RIGHT"};
}

std::string camera_folder(const std::string& camera_name) {
  std::string suffix = camera_name.rfind("CAM_", 0) == 0 ? camera_name.substr(4) : camera_name;
  for (char& c : suffix) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return "rgb_" + suffix;
}

std::string annotation_path(const ClipInfo& clip, int frame) {
  return clip.path + "/anno/" + frame_file_name(frame);
}

Command command_from_road_option(int road_option) {
  // Bench2DriveZoo: command = command_near; if command < 0: command = 4; command -= 1.
  if (road_option == -1) return Command::lane_follow;
  if (road_option < 1 || road_option > 6) {
    throw DataError(concat("command ", road_option,
                           " is not a CARLA RoadOption (-1 VOID, 1 LEFT ... 6 CHANGELANERIGHT)"));
  }
  return static_cast<Command>(road_option - 1);
}

FrameReader::FrameReader(std::vector<std::string> cameras, FrameReaderOptions options)
    : cameras_(std::move(cameras)), options_(options) {}

Eigen::Matrix4d FrameReader::read_ego_pose(const ClipInfo& clip, int frame) const {
  const std::string path = annotation_path(clip, frame);
  const json root = detail::read_annotation_json(path);
  return read_ego_geometry(JsonFields(path), root).ego2world;
}

namespace {

Frame frame_from_json(const FrameReader& reader, const json& root, const std::string& path,
                      const ClipInfo& clip, int frame) {
  const JsonFields fields(path);
  const EgoGeometry ego = read_ego_geometry(fields, root);

  Frame out;
  out.clip = clip.name;
  out.index = frame;
  out.ego2world = ego.ego2world;
  out.ego = read_ego_status(fields, root);
  if (const std::optional<int> command = fields.optional_integer(root, "command_near", "")) {
    try {
      out.command = command_from_road_option(*command);
    } catch (const DataError& e) {
      fields.fail("", "command_near", e.what());
    }
  }
  const std::optional<double> target_x = fields.optional_number(root, "x_command_near", "");
  const std::optional<double> target_y = fields.optional_number(root, "y_command_near", "");
  if (target_x && target_y) {
    // A ground point: at the ego's height, so that only its horizontal position matters.
    const Eigen::Vector4d world(*target_x, -*target_y, ego.ego2world(2, 3), 1.0);
    out.command_target = (ego.world2ego * world).head<2>();
  }

  const json& sensors = fields.required(root, "sensors", "");
  for (const std::string& name : reader.cameras()) {
    out.cameras.push_back(read_camera(fields, sensors, name, clip, frame));
  }

  const json& boxes = bounding_boxes(fields, root);
  out.ego_size = 2.0 * fields.vector3(boxes[0], "extent", "bounding_boxes[0]");
  const Eigen::Matrix3d world2ego_lh = ego.world2ego_lh.topLeftCorner<3, 3>();
  std::vector<PendingMotion> pending;
  for (size_t i = 1; i < boxes.size(); ++i) {
    const json& object = boxes[i];
    const std::string where = concat("bounding_boxes[", i, "]");
    const std::string annotation_class = fields.string(object, "class", where);
    const std::string type_id = fields.optional_id(object, "type_id", where);
    const json* base_type = fields.optional(object, "base_type");
    const std::optional<ObjectClass> object_class = classify_object(
        annotation_class, type_id,
        base_type != nullptr && base_type->is_string() ? base_type->get<std::string>() : "");
    if (!object_class) {
      out.ignored_type_ids.push_back(type_id.empty() ? annotation_class : type_id);
      continue;
    }
    Box box;
    box.id = fields.optional_id(object, "id", where);
    box.object_class = *object_class;
    box.type_id = type_id;
    const Eigen::Vector3d world_center_lh = fields.vector3(object, "center", where);
    box.center = to_right_handed((ego.world2ego_lh * world_center_lh.homogeneous()).head<3>());
    box.size = 2.0 * fields.vector3(object, "extent", where);
    const Eigen::Vector3d heading =
        to_right_handed(world2ego_lh * world_heading_lh(fields, object, annotation_class, where));
    box.yaw = std::atan2(heading.y(), heading.x());
    const json* state = fields.optional(object, "state");
    box.is_static = state != nullptr && state->is_string() && *state == "static";
    box.num_points = fields.optional_integer(object, "num_points", where).value_or(-1);
    box.affects_ego = fields.flag(object, "affects_ego", where, false);
    if (*object_class == ObjectClass::traffic_light) {
      const int light = fields.optional_integer(object, "state", where).value_or(4);
      box.light_state = light >= 0 && light <= 4 ? static_cast<TrafficLightState>(light)
                                                 : TrafficLightState::unknown;
    }
    const bool moves = annotation_class == "vehicle" || annotation_class == "walker";
    const std::optional<double> speed = fields.optional_number(object, "speed", where);
    if (annotation_class == "vehicle" && speed) {
      box.velocity = *speed * Eigen::Vector2d(std::cos(box.yaw), std::sin(box.yaw));
    } else if (moves && reader.options().derive_velocity_from_motion) {
      pending.push_back({out.boxes.size(), box.id, to_right_handed(world_center_lh)});
    }
    out.boxes.push_back(std::move(box));
  }
  if (!pending.empty()) derive_velocities(clip, frame, ego, pending, out.boxes);
  return out;
}

}  // namespace

Frame FrameReader::read(const ClipInfo& clip, int frame) const {
  const std::string path = annotation_path(clip, frame);
  return frame_from_json(*this, detail::read_annotation_json(path), path, clip, frame);
}

Frame FrameReader::parse(const std::string& annotation_text, const ClipInfo& clip, int frame,
                         const std::string& source) const {
  return frame_from_json(*this, detail::parse_annotation_text(annotation_text, source), source,
                         clip, frame);
}

}  // namespace rsd::data
