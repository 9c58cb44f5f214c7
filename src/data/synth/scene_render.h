// Turns the synthetic world into textured quads and renders them into the rig's cameras. Every
// drawn part of an actor lies inside that actor's annotated bounding box, so a box projected with
// the annotation's matrices covers exactly the pixels the renderer gave it.
#pragma once

#include <vector>

#include "data/synth/rasterizer.h"
#include "data/synth/sensor_rig.h"
#include "data/synth/world.h"

namespace rsd::data::synth {

class SceneRenderer {
 public:
  explicit SceneRenderer(const ClipWorld& world);

  /// The view of `camera` (a camera of sensor_rig()) from the ego of `frame`, for an image of
  /// width x height pixels.
  CameraView view(const FrameState& frame, const SensorMount& camera, int width, int height) const;

  /// The faces of every actor of `frame` (scenery excluded).
  std::vector<Face> actor_faces(const FrameState& frame) const;

  /// Renders scenery plus `actors` (from actor_faces) into `raster`.
  void render(const CameraView& view, const std::vector<Face>& actors, Rasterizer& raster) const;

 private:
  const ClipWorld& world_;
  Lighting lighting_;
  bool night_ = false;
  std::vector<Face> scenery_;
};

}  // namespace rsd::data::synth
