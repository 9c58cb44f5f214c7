// The road network of one synthetic clip, in its map frame (CARLA's left-handed frame, z up): a
// straight two-way main road along x, optionally crossed at x = junction_x by a road along y.
// Traffic keeps right: on the main road the lanes heading +x lie at y > 0 (right of +x in a
// left-handed frame), on the cross road the lanes heading +y lie at x < junction_x.
#pragma once

#include <cstdint>
#include <vector>

namespace rsd::data::synth {

/// CARLA 0.9.15 semantic tags (the values of Bench2Drive's semantic_*/instance_* PNGs).
enum SemanticTag : uint8_t {
  kTagUnlabeled = 0, kTagRoad = 1, kTagSidewalk = 2, kTagBuilding = 3, kTagPole = 6,
  kTagTrafficLight = 7, kTagTrafficSign = 8, kTagVegetation = 9, kTagTerrain = 10, kTagSky = 11,
  kTagPedestrian = 12, kTagRider = 13, kTagCar = 14, kTagTruck = 15, kTagBicycle = 19,
  kTagStatic = 20, kTagRoadLine = 24
};

/// OpenDRIVE-style place of a point: what the collector reads from the map waypoint.
struct RoadLocation {
  int road_id = 0;
  int lane_id = -1;
  int section_id = 0;
};

struct RoadLayout {
  double ground_z = 0.0;        // altitude of the flat ground
  int lanes = 1;                // driving lanes per direction (both roads)
  double lane_width = 3.5;
  double parking_width = 0.0;   // parking strip on both sides of the main road; 0: none
  double sidewalk_width = 4.0;
  double x_min = -150.0, x_max = 400.0;  // extent of the main road
  bool junction = false;
  double junction_x = 0.0;
  double corner = 4.0;          // asphalt added around the crossing so that turns have room
  double y_min = -300.0, y_max = 300.0;  // extent of the cross road
  std::vector<double> crosswalks;        // mid-block zebra crossings on the main road (centre x)
  int main_road_id = 35, cross_road_id = 36, junction_road_id = 1035;

  double main_half() const { return lanes * lane_width + parking_width; }
  double cross_half() const { return lanes * lane_width; }
  double junction_half_x() const { return cross_half() + corner; }
  double junction_half_y() const { return main_half() + corner; }
  bool in_junction(double x, double y) const;

  /// Centre of driving lane `lane` (0 = next to the centre line). direction +1 heads +x (main
  /// road) or +y (cross road), -1 the opposite way.
  double main_lane_y(int direction, int lane) const;
  double cross_lane_x(int direction, int lane) const;
  /// Centre of the parking strip on the side of traffic heading `direction`.
  double parking_y(int direction) const;
  /// Where traffic heading `direction` stops before the junction: x on the main road, y on the
  /// cross road.
  double main_stop_x(int direction) const;
  double cross_stop_y(int direction) const;

  /// Ground appearance at (x, y): semantic tag and linear RGB in [0, 1] before lighting.
  void shade(double x, double y, uint8_t* tag, float rgb[3]) const;

  RoadLocation locate(double x, double y) const;
};

/// A deterministic value in [0, 1) for an integer cell (texture noise).
float cell_noise(int64_t x, int64_t y, uint32_t salt = 0);

/// floor() and a non-negative modulo without libm calls (texture lookups run per pixel).
inline int64_t floor_int(double x) {
  const int64_t i = static_cast<int64_t>(x);
  return x < static_cast<double>(i) ? i - 1 : i;
}
inline double wrap(double x, double period) { return x - period * static_cast<double>(floor_int(x / period)); }

}  // namespace rsd::data::synth
