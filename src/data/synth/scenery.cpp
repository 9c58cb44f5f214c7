#include "data/synth/scenery.h"

#include <algorithm>
#include <cmath>

namespace rsd::data::synth {
namespace {

constexpr double kKerbHeight = 0.15;
constexpr double kKerbWidth = 0.3;

constexpr Rgb kFacades[] = {{170, 150, 130}, {140, 120, 105}, {190, 185, 170}, {120, 110, 110}, {160, 90, 70},
                            {200, 200, 195}, {110, 120, 135}, {175, 160, 120}};

void box(ClipWorld& world, Scenery kind, double x, double y, double z_bottom, double half_x, double half_y,
         double height, double yaw, Rgb color) {
  SceneryBox b;
  b.kind = kind;
  b.center = Eigen::Vector3d(x, y, world.road.ground_z + z_bottom + height / 2);
  b.half = Eigen::Vector3d(half_x, half_y, height / 2);
  b.yaw = yaw;
  b.color = color;
  world.scenery.push_back(b);
}

// Intervals of [from, to] that avoid the junction's cross road and its sidewalks.
std::vector<std::pair<double, double>> open_spans(double from, double to, bool junction, double centre, double half) {
  if (!junction || centre + half <= from || centre - half >= to) return {{from, to}};
  std::vector<std::pair<double, double>> spans;
  if (centre - half > from) spans.emplace_back(from, centre - half);
  if (centre + half < to) spans.emplace_back(centre + half, to);
  return spans;
}

// [from, to] cut into pieces of at most 25 m, so that distance culling and clipping stay local.
std::vector<std::pair<double, double>> segments(double from, double to) {
  std::vector<std::pair<double, double>> out;
  for (double a = from; a < to; a += 25.0) out.emplace_back(a, std::min(a + 25.0, to));
  return out;
}

// One side of a road: `along` runs over the spans, `across` = side * (distance from centre).
template <typename Place>
void line_of_buildings(ClipWorld& world, Rng& rng, const std::vector<std::pair<double, double>>& spans,
                       double setback, Place place) {
  for (const auto& [from, to] : spans) {
    double along = from + uniform(rng, 0.0, 6.0);
    while (along < to - 6.0) {
      const double length = std::min(uniform(rng, 8.0, 24.0), to - along);
      const double depth = uniform(rng, 8.0, 16.0);
      const double height = chance(rng, 0.15) ? uniform(rng, 20.0, 40.0) : uniform(rng, 6.0, 18.0);
      const Rgb color = kFacades[uniform_int(rng, 0, 7)];
      place(along + length / 2, setback + uniform(rng, 0.0, 2.5) + depth / 2, length / 2, depth / 2, height, color);
      along += length + (chance(rng, 0.3) ? uniform(rng, 2.0, 8.0) : 0.2);
    }
  }
}

}  // namespace

void add_scenery(ClipWorld& world, Rng& rng) {
  const RoadLayout& road = world.road;
  const double main_half = road.main_half();
  const double cross_half = road.cross_half();
  const double clear_x = road.junction_half_x();  // kerbs and sidewalks stop at the junction area
  const double clear_y = road.junction_half_y();
  const Rgb kerb{150, 150, 145};
  const Rgb metal{70, 72, 75};
  const Rgb bark{80, 60, 40};

  // Kerbs along the main road (both sides), broken by the junction.
  for (const auto& [from, to] : open_spans(road.x_min, road.x_max, road.junction, road.junction_x, clear_x)) {
    for (const auto& [a, b] : segments(from, to)) {
      for (const int side : {-1, 1}) {
        box(world, Scenery::kerb, (a + b) / 2, side * (main_half + kKerbWidth / 2), 0.0, (b - a) / 2,
            kKerbWidth / 2, kKerbHeight, 0.0, kerb);
      }
    }
  }
  if (road.junction) {
    for (const auto& [from, to] : open_spans(road.y_min, road.y_max, true, 0.0, clear_y)) {
      for (const auto& [a, b] : segments(from, to)) {
        for (const int side : {-1, 1}) {
          box(world, Scenery::kerb, road.junction_x + side * (cross_half + kKerbWidth / 2), (a + b) / 2, 0.0,
              kKerbWidth / 2, (b - a) / 2, kKerbHeight, 0.0, kerb);
        }
      }
    }
  }

  // Buildings behind the sidewalks.
  const double building_gap = road.sidewalk_width + 0.5;
  const auto main_spans = open_spans(road.x_min, road.x_max, road.junction, road.junction_x,
                                     cross_half + road.sidewalk_width + 1.0);
  for (const int side : {-1, 1}) {
    line_of_buildings(world, rng, main_spans, main_half + building_gap,
                      [&](double along, double across, double half_along, double half_across, double height, Rgb color) {
                        box(world, Scenery::building, along, side * across, 0.0, half_along, half_across, height, 0.0, color);
                      });
  }
  if (road.junction) {
    const auto cross_spans = open_spans(road.y_min, road.y_max, true, 0.0, main_half + road.sidewalk_width + 1.0);
    for (const int side : {-1, 1}) {
      line_of_buildings(world, rng, cross_spans, cross_half + building_gap,
                        [&](double along, double across, double half_along, double half_across, double height, Rgb color) {
                          box(world, Scenery::building, road.junction_x + side * across, along, 0.0, half_across,
                              half_along, height, 0.0, color);
                        });
    }
  }

  // Street lamps and trees on the sidewalks of the main road.
  for (const auto& [from, to] : main_spans) {
    for (const int side : {-1, 1}) {
      const double phase = uniform(rng, 0.0, 30.0);
      for (double x = from + phase; x < to; x += 30.0) {
        const double y = side * (main_half + 0.6);
        box(world, Scenery::pole, x, y, 0.0, 0.08, 0.08, 7.5, 0.0, metal);
        box(world, Scenery::lamp, x, y - side * 0.9, 7.3, 0.25, 1.0, 0.2, 0.0, metal);
        if (chance(rng, 0.7)) {
          const double tx = x + 15.0 + uniform(rng, -3.0, 3.0);
          if (tx >= to) continue;
          const double ty = side * (main_half + road.sidewalk_width - 1.2);
          const double crown = uniform(rng, 1.4, 2.4);
          box(world, Scenery::trunk, tx, ty, 0.0, 0.15, 0.15, 2.6, 0.0, bark);
          box(world, Scenery::crown, tx, ty, 2.4, crown, crown, crown * 1.6, uniform(rng, 0.0, 1.5),
              Rgb{static_cast<uint8_t>(uniform_int(rng, 40, 70)), static_cast<uint8_t>(uniform_int(rng, 85, 120)), 40});
        }
      }
    }
  }
}

}  // namespace rsd::data::synth
