// A small z-buffer renderer for the synthetic world: the flat ground (road, markings, sidewalks,
// terrain) is ray-cast per pixel, everything else is drawn as textured quads with perspective-
// correct texture coordinates, back-face culling and near-plane clipping. Besides colour it keeps
// per-pixel depth (along the optical axis, like CARLA's depth camera), CARLA semantic tag and actor
// id, which become Bench2Drive's depth/semantic/instance images.
//
// Camera frame: CARLA's (x forward, y right, z up); a point p of the camera frame lands on pixel
// u = cx + fx * p.y / p.x, v = cy - fy * p.z / p.x, the projection Bench2Drive's tools use.
// Pixel (i, j) samples the ray through u = i, v = j (OpenCV's pixel-centre convention).
#pragma once

#include <opencv2/core.hpp>

#include <Eigen/Core>

#include <cstdint>
#include <vector>

#include "data/synth/road_layout.h"
#include "data/synth/weather.h"
#include "data/synth/world.h"

namespace rsd::data::synth {

struct CameraView {
  int width = 0, height = 0;
  double fx = 0.0, fy = 0.0, cx = 0.0, cy = 0.0;
  Eigen::Matrix3d rotation = Eigen::Matrix3d::Identity();  // columns: camera x, y, z in the map frame
  Eigen::Vector3d position = Eigen::Vector3d::Zero();      // map frame
};

/// Procedural surface of a quad; (s, t) are metres along its two edges (t up on vertical faces).
enum class Material : uint8_t {
  paint, car_side, car_front, car_back, glass_side, glass_end, building, roof, concrete, metal, bark,
  foliage, legs, torso, head, bike_frame, light_face, sign_face, warning_face, cone_band, invisible
};

struct Face {
  Eigen::Vector3d origin = Eigen::Vector3d::Zero();  // corner at (s, t) = (0, 0)
  Eigen::Vector3d u = Eigen::Vector3d::Zero();       // edge along s (full length)
  Eigen::Vector3d v = Eigen::Vector3d::Zero();       // edge along t
  Eigen::Vector3d normal = Eigen::Vector3d::Zero();  // outward unit normal
  Material material = Material::paint;
  float color[3] = {0.5f, 0.5f, 0.5f};               // base colour, linear 0..1
  float color2[3] = {0.5f, 0.5f, 0.5f};              // secondary colour (material dependent)
  int state = 0;                                     // light state, brake lights on, ...
  uint16_t instance = 0;                             // actor id; 0 for level geometry
  uint8_t tag = kTagUnlabeled;
};

/// Appends the faces of a box (centre, yaw about z in radians, half sizes) with `material` on
/// its sides and `top` on its top; `bottom` adds the underside (for raised boxes).
void add_box_faces(std::vector<Face>& faces, const Eigen::Vector3d& center, double yaw, const Eigen::Vector3d& half,
                   const Face& style, Material side, Material front, Material back, Material top, bool bottom = false);

class Rasterizer {
 public:
  /// Clears to sky and ray-casts the ground's depth for this camera.
  void begin(const CameraView& camera, const RoadLayout& road, const Lighting& lighting);
  /// Draws a quad (cheapest front to back: hidden pixels are not shaded).
  void draw(const Face& face);
  /// Shades the ground where no quad covers it. Call after the last draw().
  void finish();

  const cv::Mat& colour() const { return colour_; }       // CV_8UC3, BGR
  const std::vector<float>& depth() const { return depth_; }
  const std::vector<uint16_t>& instance() const { return instance_; }
  const std::vector<uint8_t>& semantic() const { return semantic_; }
  int width() const { return camera_.width; }
  int height() const { return camera_.height; }

 private:
  void put(int index, const float rgb[3], float depth, double light, bool emissive, const Face& face);
  float fog(double distance) const;

  CameraView camera_;
  Lighting lighting_;
  const RoadLayout* road_ = nullptr;
  std::vector<uint8_t> ground_;      // 1 where the ground is visible (shaded by finish())
  std::vector<float> fog_table_;     // haze factor per half metre of distance
  double fog_table_density_ = -1.0;
  Eigen::Matrix3d to_camera_ = Eigen::Matrix3d::Identity();
  cv::Mat colour_;
  std::vector<float> depth_;
  std::vector<uint16_t> instance_;
  std::vector<uint8_t> semantic_;
};

}  // namespace rsd::data::synth
