// Bench2Drive's object types -> librsd's five classes. Follows Bench2DriveZoo's NameMapping
// (docs/data.md; Bench2Drive's CARLA type ids) folded onto fewer classes: car/van/truck ->
// vehicle, bicycle -> cyclist (plus CARLA's motorbikes, which the Zoo does not list),
// traffic_cone -> traffic_sign; its "others" (dirt debris) map to no class.
#include <algorithm>
#include <array>
#include <string>

#include "rsd/data/frame_reader.h"

namespace rsd::data {
namespace {

bool starts_with(const std::string& text, const char* prefix) {
  return text.rfind(prefix, 0) == 0;
}

bool is_two_wheeler(const std::string& type_id, const std::string& base_type) {
  if (base_type == "bicycle" || base_type == "motorcycle") return true;
  static const std::array<const char*, 7> kTwoWheelers = {
      "vehicle.bh.crossbike",         "vehicle.diamondback.century", "vehicle.gazelle.omafiets",
      "vehicle.harley-davidson.low_rider", "vehicle.kawasaki.ninja", "vehicle.vespa.zx125",
      "vehicle.yamaha.yzf"};
  return std::any_of(kTwoWheelers.begin(), kTwoWheelers.end(),
                     [&](const char* name) { return type_id == name; });
}

// Props that mark a hazard or a work zone and that a driver must respect like a sign.
bool is_sign_like_prop(const std::string& type_id) {
  static const std::array<const char*, 6> kProps = {
      "static.prop.constructioncone", "static.prop.trafficwarning", "static.prop.warningconstruction",
      "static.prop.warningaccident",  "static.prop.trafficcone01",  "static.prop.trafficcone02"};
  return std::any_of(kProps.begin(), kProps.end(),
                     [&](const char* name) { return type_id == name; });
}

}  // namespace

std::optional<ObjectClass> classify_object(const std::string& annotation_class,
                                           const std::string& type_id,
                                           const std::string& base_type) {
  if (annotation_class == "vehicle") {
    return is_two_wheeler(type_id, base_type) ? ObjectClass::cyclist : ObjectClass::vehicle;
  }
  if (annotation_class == "walker") return ObjectClass::pedestrian;
  if (annotation_class == "traffic_light") return ObjectClass::traffic_light;
  if (annotation_class == "traffic_sign") {
    // traffic.stop, traffic.yield, traffic.speed_limit.NN (and any other traffic.* sign).
    if (starts_with(type_id, "traffic.") && type_id != "traffic.traffic_light") {
      return ObjectClass::traffic_sign;
    }
    if (is_sign_like_prop(type_id)) return ObjectClass::traffic_sign;
    return std::nullopt;  // static.prop.dirtdebris01/02 and other props
  }
  return std::nullopt;
}

}  // namespace rsd::data
