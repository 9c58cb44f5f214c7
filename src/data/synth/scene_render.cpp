#include "data/synth/scene_render.h"

#include <algorithm>
#include <cmath>

namespace rsd::data::synth {
namespace {

void set_colour(float out[3], Rgb rgb) {
  out[0] = rgb.r / 255.0f;
  out[1] = rgb.g / 255.0f;
  out[2] = rgb.b / 255.0f;
}

// Places boxes given in an actor's box frame: x forward, y right, z up from the box bottom.
class PartPlacer {
 public:
  PartPlacer(const ActorSpec& spec, const ActorState& state, std::vector<Face>& faces)
      : faces_(faces), yaw_(radians(state.transform.rotation.yaw)) {
    const Eigen::Matrix4d to_world = get_matrix(state.transform);
    const Eigen::Vector3d center = apply(to_world, spec.bbx_loc);
    bottom_ = center - Eigen::Vector3d(0.0, 0.0, spec.extent.z());
    style_.instance = static_cast<uint16_t>(spec.id);
  }
  Face& style() { return style_; }

  // A part spanning [x0, x1] x [-half_y + y, half_y + y] x [z0, z1] in the box frame.
  void part(double x0, double x1, double y, double half_y, double z0, double z1, Material side, Material front,
            Material back, Material top, uint8_t tag, bool bottom = false) {
    const double cx = 0.5 * (x0 + x1), cz = 0.5 * (z0 + z1);
    const Eigen::Vector3d offset(cx * std::cos(yaw_) - y * std::sin(yaw_), cx * std::sin(yaw_) + y * std::cos(yaw_), cz);
    style_.tag = tag;
    add_box_faces(faces_, bottom_ + offset, yaw_, Eigen::Vector3d(0.5 * (x1 - x0), half_y, 0.5 * (z1 - z0)), style_,
                  side, front, back, top, bottom);
  }

 private:
  std::vector<Face>& faces_;
  Face style_;
  Eigen::Vector3d bottom_;
  double yaw_;
};

void vehicle_parts(PartPlacer& p, const ActorSpec& spec, const ActorState& state) {
  const double ex = spec.extent.x(), ey = spec.extent.y(), h = 2.0 * spec.extent.z();
  const uint8_t tag = static_cast<uint8_t>(spec.semantic_tags.empty() ? kTagCar : spec.semantic_tags.front());
  set_colour(p.style().color, spec.color);
  p.style().state = state.brake > 0.1 ? 1 : 0;
  switch (spec.shape) {
    case BodyShape::van:
      p.part(-ex, ex, 0.0, ey, 0.0, 0.45 * h, Material::car_side, Material::car_front, Material::car_back, Material::paint, tag);
      p.part(-0.97 * ex, 0.62 * ex, 0.0, 0.96 * ey, 0.45 * h, h, Material::glass_side, Material::glass_end, Material::paint,
             Material::paint, tag);
      break;
    case BodyShape::truck:
      p.part(-ex, ex, 0.0, ey, 0.0, 0.4 * h, Material::car_side, Material::car_front, Material::car_back, Material::paint, tag);
      p.part(0.55 * ex, ex, 0.0, 0.97 * ey, 0.4 * h, 0.85 * h, Material::glass_side, Material::glass_end, Material::paint,
             Material::paint, tag);
      p.part(-ex, 0.5 * ex, 0.0, ey, 0.4 * h, h, Material::paint, Material::paint, Material::paint, Material::paint, tag);
      break;
    default:
      p.part(-ex, ex, 0.0, ey, 0.0, 0.55 * h, Material::car_side, Material::car_front, Material::car_back, Material::paint, tag);
      p.part(-0.65 * ex, 0.3 * ex, 0.0, 0.88 * ey, 0.55 * h, h, Material::glass_side, Material::glass_end,
             Material::glass_end, Material::paint, tag);
  }
}

void person_parts(PartPlacer& p, double x, double body_half_y, double leg_bottom, double hip, double shoulder,
                  double top, double gait, const ActorSpec& spec, uint8_t tag) {
  set_colour(p.style().color, spec.secondary);
  const double swing = 0.07 * std::sin(gait);
  p.part(x - 0.07 + swing, x + 0.07 + swing, -0.085, 0.07, leg_bottom, hip, Material::legs, Material::legs, Material::legs,
         Material::legs, tag);
  p.part(x - 0.07 - swing, x + 0.07 - swing, 0.085, 0.07, leg_bottom, hip, Material::legs, Material::legs, Material::legs,
         Material::legs, tag);
  set_colour(p.style().color, spec.color);
  p.part(x - 0.11, x + 0.11, 0.0, body_half_y, hip, shoulder, Material::torso, Material::torso, Material::torso,
         Material::torso, tag);
  set_colour(p.style().color, spec.skin);
  p.style().color2[0] = 0.16f;
  p.style().color2[1] = 0.1f;
  p.style().color2[2] = 0.06f;
  p.part(x - 0.1, x + 0.1, 0.0, 0.09, shoulder + 0.02, top, Material::head, Material::head, Material::head, Material::head, tag);
}

void actor_parts(std::vector<Face>& faces, const ActorSpec& spec, const ActorState& state) {
  PartPlacer p(spec, state, faces);
  const double h = 2.0 * spec.extent.z();
  switch (spec.shape) {
    case BodyShape::car:
    case BodyShape::van:
    case BodyShape::truck:
      vehicle_parts(p, spec, state);
      break;
    case BodyShape::walker:
      person_parts(p, 0.0, std::min(spec.extent.y(), 0.19), 0.0, 0.47 * h, 0.84 * h, h, state.gait, spec, kTagPedestrian);
      break;
    case BodyShape::bicycle: {
      const double ex = spec.extent.x();
      set_colour(p.style().color, spec.color);
      p.part(-ex, ex, 0.0, 0.06, 0.0, 0.95, Material::bike_frame, Material::invisible, Material::invisible,
             Material::invisible, kTagBicycle);
      person_parts(p, -0.05, 0.17, 0.35, 0.95, 1.45, std::min(h, 1.68), 0.0, spec, kTagRider);
      break;
    }
    case BodyShape::traffic_light: {
      const Rgb metal{60, 62, 64};
      set_colour(p.style().color, metal);
      p.style().state = state.light;
      p.part(-0.06, 0.06, 0.0, 0.06, 0.0, 3.2, Material::metal, Material::metal, Material::metal, Material::metal, kTagPole);
      p.part(-0.15, 0.15, 0.0, 0.17, 3.2, 4.1, Material::metal, Material::light_face, Material::metal, Material::metal,
             kTagTrafficLight, true);
      break;
    }
    case BodyShape::speed_sign: {
      set_colour(p.style().color, Rgb{120, 122, 125});
      p.part(-0.04, 0.04, 0.0, 0.04, 0.0, 2.0, Material::metal, Material::metal, Material::metal, Material::metal, kTagPole);
      p.part(-0.02, 0.02, 0.0, 0.3, 1.9, 2.5, Material::metal, Material::sign_face, Material::metal, Material::metal,
             kTagTrafficSign, true);
      break;
    }
    case BodyShape::warning_board: {
      set_colour(p.style().color, Rgb{50, 50, 50});
      p.part(-0.04, 0.04, -0.8, 0.04, 0.0, 1.0, Material::metal, Material::metal, Material::metal, Material::metal, kTagStatic);
      p.part(-0.04, 0.04, 0.8, 0.04, 0.0, 1.0, Material::metal, Material::metal, Material::metal, Material::metal, kTagStatic);
      p.part(-0.05, 0.05, 0.0, 1.05, 1.0, 2.3, Material::metal, Material::warning_face, Material::warning_face,
             Material::metal, kTagStatic, true);
      break;
    }
    case BodyShape::cone: {
      set_colour(p.style().color, Rgb{240, 100, 15});
      p.part(-0.17, 0.17, 0.0, 0.17, 0.0, 0.05, Material::paint, Material::paint, Material::paint, Material::paint, kTagStatic);
      p.part(-0.11, 0.11, 0.0, 0.11, 0.05, 0.45, Material::cone_band, Material::cone_band, Material::cone_band,
             Material::paint, kTagStatic);
      p.part(-0.06, 0.06, 0.0, 0.06, 0.45, 0.68, Material::paint, Material::paint, Material::paint, Material::paint, kTagStatic);
      break;
    }
  }
}

}  // namespace

SceneRenderer::SceneRenderer(const ClipWorld& world) : world_(world), lighting_(lighting_for(world.weather)) {
  night_ = lighting_.exposure < 0.6;
  int salt = 0;
  for (const SceneryBox& box : world.scenery) {
    Face style;
    set_colour(style.color, box.color);
    style.color2[0] = night_ ? 1.0f : 0.0f;
    style.state = ++salt;
    switch (box.kind) {
      case Scenery::building:
        style.tag = kTagBuilding;
        add_box_faces(scenery_, box.center, box.yaw, box.half, style, Material::building, Material::building,
                      Material::building, Material::roof);
        break;
      case Scenery::kerb:
        style.tag = kTagSidewalk;
        add_box_faces(scenery_, box.center, box.yaw, box.half, style, Material::concrete, Material::concrete,
                      Material::concrete, Material::concrete);
        break;
      case Scenery::pole:
      case Scenery::lamp:
        style.tag = kTagPole;
        add_box_faces(scenery_, box.center, box.yaw, box.half, style, Material::metal, Material::metal, Material::metal,
                      Material::metal, box.kind == Scenery::lamp);
        break;
      case Scenery::trunk:
        style.tag = kTagVegetation;
        add_box_faces(scenery_, box.center, box.yaw, box.half, style, Material::bark, Material::bark, Material::bark,
                      Material::bark);
        break;
      case Scenery::crown:
        style.tag = kTagVegetation;
        add_box_faces(scenery_, box.center, box.yaw, box.half, style, Material::foliage, Material::foliage,
                      Material::foliage, Material::foliage, true);
        break;
    }
  }
}

CameraView SceneRenderer::view(const FrameState& frame, const SensorMount& camera, int width, int height) const {
  const Transform pose = compose(frame.ego.transform, camera.mount);
  const Eigen::Matrix4d matrix = get_matrix(pose);
  CameraView view;
  view.width = width;
  view.height = height;
  view.fx = view.fy = focal_length(width, camera.fov);
  view.cx = width / 2.0;
  view.cy = height / 2.0;
  view.rotation = matrix.topLeftCorner<3, 3>();
  view.position = matrix.topRightCorner<3, 1>();
  return view;
}

std::vector<Face> SceneRenderer::actor_faces(const FrameState& frame) const {
  std::vector<Face> faces;
  faces.reserve(world_.actors.size() * 18);
  for (std::size_t i = 0; i < world_.actors.size(); ++i) actor_parts(faces, world_.actors[i], frame.actors[i]);
  return faces;
}

void SceneRenderer::render(const CameraView& view, const std::vector<Face>& actors, Rasterizer& raster) const {
  raster.begin(view, world_.road, lighting_);
  // Front to back, so that hidden pixels fail the depth test before they are shaded. Ties keep
  // list order, which keeps the output deterministic.
  constexpr double kFarSquared = 450.0 * 450.0;
  std::vector<std::pair<double, const Face*>> order;
  order.reserve(scenery_.size() + actors.size());
  for (const std::vector<Face>* faces : {&scenery_, &actors}) {
    for (const Face& face : *faces) {
      const Eigen::Vector3d center = face.origin + 0.5 * (face.u + face.v);
      const double distance = (center - view.position).squaredNorm();
      if (distance > kFarSquared) continue;
      if ((face.origin - view.position).dot(face.normal) >= 0.0) continue;  // facing away
      order.emplace_back(distance, &face);
    }
  }
  std::stable_sort(order.begin(), order.end(),
                   [](const auto& a, const auto& b) { return a.first < b.first; });
  for (const auto& [distance, face] : order) raster.draw(*face);
  raster.finish();
}

}  // namespace rsd::data::synth
