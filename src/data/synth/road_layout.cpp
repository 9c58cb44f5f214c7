#include "data/synth/road_layout.h"

#include <cmath>

namespace rsd::data::synth {
namespace {

constexpr double kStopLineGap = 4.0;   // from the junction area to the stop line
constexpr double kStopLineWidth = 0.4;
constexpr double kCrosswalkNear = 0.5; // junction crosswalks: from the area edge...
constexpr double kCrosswalkFar = 3.5;  // ...to here
constexpr double kMidBlockCrosswalkHalf = 1.75;

void set(float rgb[3], float r, float g, float b) {
  rgb[0] = r;
  rgb[1] = g;
  rgb[2] = b;
}

bool zebra(double across) { return wrap(std::abs(across) + 0.25, 1.2) < 0.6; }

// Markings of one road, in road coordinates: `along` the road, `across` from its centre line
// (positive on the side of traffic heading along +), `half` its width without parking.
// Returns false when the point is plain asphalt.
bool road_marking(double across, double along_dashes, int lanes, double lane_width, double edge,
                  float rgb[3]) {
  const double a = std::abs(across);
  if (a >= 0.08 && a <= 0.2) {  // double solid yellow centre line
    set(rgb, 0.78f, 0.62f, 0.12f);
    return true;
  }
  for (int k = 1; k < lanes; ++k) {  // broken white lane dividers: 3 m painted, 6 m gap
    if (std::abs(a - k * lane_width) <= 0.07 && wrap(along_dashes, 9.0) < 3.0) {
      set(rgb, 0.82f, 0.82f, 0.8f);
      return true;
    }
  }
  if (a >= edge - 0.36 && a <= edge - 0.22) {  // solid white edge line
    set(rgb, 0.82f, 0.82f, 0.8f);
    return true;
  }
  return false;
}

}  // namespace

float cell_noise(int64_t x, int64_t y, uint32_t salt) {
  uint64_t h = static_cast<uint64_t>(x) * 0x9E3779B97F4A7C15ull ^ (static_cast<uint64_t>(y) + 0x632BE59BD9B4E019ull) * 0xC2B2AE3D27D4EB4Full;
  h ^= salt * 0x165667B19E3779F9ull;
  h ^= h >> 31;
  h *= 0xD6E8FEB86659FD93ull;
  h ^= h >> 32;
  return static_cast<float>(h & 0xFFFFFF) / static_cast<float>(0x1000000);
}

bool RoadLayout::in_junction(double x, double y) const {
  return junction && std::abs(x - junction_x) <= junction_half_x() && std::abs(y) <= junction_half_y();
}

double RoadLayout::main_lane_y(int direction, int lane) const { return direction * (lane + 0.5) * lane_width; }

double RoadLayout::cross_lane_x(int direction, int lane) const {
  return junction_x - direction * (lane + 0.5) * lane_width;
}

double RoadLayout::parking_y(int direction) const {
  return direction * (lanes * lane_width + parking_width * 0.5);
}

double RoadLayout::main_stop_x(int direction) const {
  return junction_x - direction * (junction_half_x() + kStopLineGap + kStopLineWidth);
}

double RoadLayout::cross_stop_y(int direction) const {
  return -direction * (junction_half_y() + kStopLineGap + kStopLineWidth);
}

void RoadLayout::shade(double x, double y, uint8_t* tag, float rgb[3]) const {
  const double dx = x - junction_x;
  const bool on_main = std::abs(y) <= main_half() && x >= x_min && x <= x_max;
  const bool on_cross = junction && std::abs(dx) <= cross_half() && y >= y_min && y <= y_max;
  const bool in_area = in_junction(x, y);
  if (on_main || on_cross || in_area) {
    // Asphalt: fine grain plus larger patches; wet roads are darker.
    const float grain = cell_noise(floor_int(x * 3.0), floor_int(y * 3.0), 1);
    const float patch = cell_noise(floor_int(x / 5.0), floor_int(y / 5.0), 2);
    const float v = 0.2f + 0.05f * grain + 0.04f * patch;
    set(rgb, v, v, v * 1.03f);
    *tag = kTagRoad;
    if (in_area) return;
    bool marked = false;
    if (on_main) {
      const double lanes_edge = lanes * lane_width;
      if (parking_width > 0.0 && std::abs(y) > lanes_edge - 0.07) {
        if (std::abs(std::abs(y) - lanes_edge) <= 0.07) {
          set(rgb, 0.82f, 0.82f, 0.8f);
          marked = true;
        } else {
          rgb[0] *= 1.08f; rgb[1] *= 1.08f; rgb[2] *= 1.08f;
        }
      } else {
        marked = road_marking(y, x, lanes, lane_width, parking_width > 0.0 ? 1e9 : main_half(), rgb);
      }
      if (junction) {
        const double from_area = std::abs(dx) - junction_half_x();
        const bool approaching = (dx < 0) == (y > 0);  // lanes heading towards the junction
        if (from_area >= kCrosswalkNear && from_area <= kCrosswalkFar && zebra(y)) {
          set(rgb, 0.85f, 0.85f, 0.83f);
          marked = true;
        } else if (approaching && from_area >= kStopLineGap && from_area <= kStopLineGap + kStopLineWidth &&
                   std::abs(y) <= lanes_edge) {
          set(rgb, 0.85f, 0.85f, 0.83f);
          marked = true;
        }
      }
      for (const double crosswalk : crosswalks) {
        if (std::abs(x - crosswalk) <= kMidBlockCrosswalkHalf && zebra(y)) {
          set(rgb, 0.85f, 0.85f, 0.83f);
          marked = true;
        }
      }
    } else {  // cross road: "across" is -dx so that lanes heading +y (x < junction_x) are positive
      marked = road_marking(-dx, y, lanes, lane_width, cross_half(), rgb);
      const double from_area = std::abs(y) - junction_half_y();
      const bool approaching = (y < 0) == (dx < 0);
      if (from_area >= kCrosswalkNear && from_area <= kCrosswalkFar && zebra(dx)) {
        set(rgb, 0.85f, 0.85f, 0.83f);
        marked = true;
      } else if (approaching && from_area >= kStopLineGap && from_area <= kStopLineGap + kStopLineWidth) {
        set(rgb, 0.85f, 0.85f, 0.83f);
        marked = true;
      }
    }
    if (marked) *tag = kTagRoadLine;
    return;
  }
  const bool main_sidewalk = std::abs(y) <= main_half() + sidewalk_width && x >= x_min && x <= x_max;
  const bool cross_sidewalk = junction && std::abs(dx) <= cross_half() + sidewalk_width && y >= y_min && y <= y_max;
  if (main_sidewalk || cross_sidewalk) {
    const bool joint = wrap(x, 1.5) < 0.06 || wrap(y, 1.5) < 0.06;
    const float tile = cell_noise(floor_int(x / 1.5), floor_int(y / 1.5), 3);
    const float v = joint ? 0.36f : 0.5f + 0.06f * tile;
    set(rgb, v, v * 0.98f, v * 0.95f);
    *tag = kTagSidewalk;
    return;
  }
  const float grain = cell_noise(floor_int(x * 2.0), floor_int(y * 2.0), 4);
  const float patch = cell_noise(floor_int(x / 7.0), floor_int(y / 7.0), 5);
  set(rgb, 0.2f + 0.08f * patch + 0.04f * grain, 0.3f + 0.06f * patch + 0.05f * grain, 0.14f + 0.04f * grain);
  *tag = kTagTerrain;
}

RoadLocation RoadLayout::locate(double x, double y) const {
  RoadLocation where;
  if (in_junction(x, y)) {
    where.road_id = junction_road_id;
    where.lane_id = -1;
    return where;
  }
  const double dx = x - junction_x;
  const bool cross = junction && std::abs(dx) <= cross_half() + sidewalk_width && std::abs(y) > junction_half_y() &&
                     std::abs(y) > std::abs(dx);
  const double across = cross ? -dx : y;  // positive on the side of the reference direction
  const double half = cross ? cross_half() : main_half();
  where.road_id = cross ? cross_road_id : main_road_id;
  const int side = across >= 0 ? -1 : 1;  // OpenDRIVE: right lanes negative
  int lane = static_cast<int>(std::floor(std::abs(across) / lane_width)) + 1;
  if (std::abs(across) > half) lane = lanes + (parking_width > 0.0 && !cross ? 2 : 1);
  else if (std::abs(across) > lanes * lane_width) lane = lanes + 1;
  where.lane_id = side * lane;
  return where;
}

}  // namespace rsd::data::synth
