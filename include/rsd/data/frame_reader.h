// Reads one frame's annotation (anno/NNNNN.json.gz) into a Frame in our right-handed frames.
//
// Conversions (done here and nowhere else; L = diag(1, -1, 1) flips CARLA's y):
//   ego pose      ego2world = L * inverse(bounding_boxes[0].world2ego) * L (the exact actor pose;
//                 the GNSS-like x, y, theta keys are not used)
//   cameras       cam2ego = L * sensors[CAM].cam2ego * [OpenCV camera -> UE camera axes], so that
//                 pixel = K * p / p.z with p = inverse(cam2ego) * p_ego; intrinsics = "intrinsic"
//   boxes         centre = L * world2ego * center; size = 2 * extent (length, width, height);
//                 heading from the box's world2vehicle / world2ped / world2sign matrix when
//                 present, else from its [pitch, roll, yaw] rotation
//   velocity      vehicles: speed * heading (absolute velocity expressed in the ego frame);
//                 walkers (published speed is always 0) and boxes whose speed is null: from the
//                 centre's motion between the neighbouring frames (see derive_velocity_from_motion)
//   ego status    acceleration (ax, -ay, az); angular velocity (-wx, wy, -wz) (a pseudo-vector
//                 under the y reflection: a left turn has a positive yaw rate); steer negated
//                 (positive = left); speed null -> the ego box's speed, else 0
//   command       command_near (CARLA RoadOption) -> Command as Bench2DriveZoo does:
//                 VOID (-1) -> LANEFOLLOW, then value - 1
// Non-finite values (NaN, Infinity, -Infinity tokens) and null read as "no value": a required
// quantity without a value (a pose, a box centre, a camera matrix) is an error naming the file and
// the key, never a silently wrong frame.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "rsd/data/clip_index.h"
#include "rsd/data/frame.h"

namespace rsd::data {

/// Bench2Drive's six cameras, in nuScenes order.
std::vector<std::string> default_camera_names();

/// The image folder of a camera: CAM_FRONT_LEFT -> rgb_front_left.
std::string camera_folder(const std::string& camera_name);

/// The annotation file of a frame: <clip>/anno/NNNNN.json.gz.
std::string annotation_path(const ClipInfo& clip, int frame);

/// The class a Bench2Drive object maps to, from its annotation `class` and `type_id` (see
/// docs/data.md): vehicles (cars, vans, trucks, buses, parked meshes) -> vehicle; bicycles and
/// motorbikes -> cyclist; walkers -> pedestrian; traffic lights -> traffic_light; stop, yield and
/// speed-limit signs, cones and warning props -> traffic_sign; anything else (dirt debris, unknown
/// classes) -> nullopt (the box goes to Frame::ignored_type_ids).
std::optional<ObjectClass> classify_object(const std::string& annotation_class,
                                           const std::string& type_id,
                                           const std::string& base_type = "");

/// Maps CARLA's RoadOption integer (command_near) to the six-class command. Throws rsd::DataError
/// for values that are no RoadOption (anything but -1 and 1..6).
Command command_from_road_option(int road_option);

struct FrameReaderOptions {
  /// Walkers are published with speed 0 (a CARLA bug), so their velocity is derived from the
  /// motion of their centre: the central difference between the previous and next frames, a
  /// one-sided difference at the first and last frame of a clip (or when the object is missing
  /// from one neighbour), zero when it is in neither neighbour or the clip has one frame. This
  /// reads the neighbouring annotation files. false: velocity stays zero for those boxes (e.g.
  /// for statistics that do not need it).
  bool derive_velocity_from_motion = true;
};

class FrameReader {
 public:
  explicit FrameReader(std::vector<std::string> cameras = default_camera_names(),
                       FrameReaderOptions options = {});

  /// Reads frame `frame` of `clip`. Throws rsd::DataError naming the file (and key) when the
  /// annotation is missing, truncated or malformed.
  /// Thread-safe (a const reader holds no mutable state).
  Frame read(const ClipInfo& clip, int frame) const;

  /// Reads an annotation given as its (decompressed) JSON text, e.g. what a closed-loop simulator
  /// writes for the current tick; `source` names it in errors. Image paths are where `clip` would
  /// keep them. Same conversions and errors as read().
  Frame parse(const std::string& annotation_text, const ClipInfo& clip, int frame,
              const std::string& source) const;

  /// Only the ego pose of a frame (ego2world, right-handed), for trajectories. Same errors.
  Eigen::Matrix4d read_ego_pose(const ClipInfo& clip, int frame) const;

  const std::vector<std::string>& cameras() const { return cameras_; }
  const FrameReaderOptions& options() const { return options_; }

 private:
  std::vector<std::string> cameras_;
  FrameReaderOptions options_;
};

}  // namespace rsd::data
