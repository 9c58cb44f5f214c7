// One frame's annotation (anno/NNNNN.json.gz) exactly as Bench2Drive's collector writes it: the
// 24 top-level keys in save() order, bounding_boxes (ego first, then dynamic vehicles, parked
// vehicles, walkers, traffic lights, traffic signs and props, all within 100 m) with each class's
// keys, and the 13-sensor block. World quantities are CARLA world coordinates (left-handed),
// rotations [pitch, roll, yaw] in degrees.
#pragma once

#include <nlohmann/json.hpp>

#include "data/synth/world.h"

namespace rsd::data::synth {

struct AnnotationOptions {
  int width = 1600;        // image size written into the camera entries and intrinsics
  int height = 900;
  bool quirks = false;     // now and then a NaN theta or a null speed, as real files have
};

nlohmann::ordered_json make_annotation(const ClipWorld& world, int frame, const AnnotationOptions& options);

}  // namespace rsd::data::synth
