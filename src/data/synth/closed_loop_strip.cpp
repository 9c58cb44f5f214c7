// ClosedLoopWorld::write_strip: one PNG per route, an overview of the whole drive (road, path
// coloured by speed, plans, infractions) beside ego-centred panels (actors, plan, predicted risk).
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include <algorithm>
#include <cmath>
#include <cstdio>

#include "data/synth/closed_loop_state.h"
#include "rsd/util/error.h"

namespace rsd::data::synth {
namespace {

constexpr int kPanelPixels = 320;
constexpr double kPanelMetres = 48.0;

cv::Scalar speed_colour(double speed) {
  const double t = std::clamp(speed / 10.0, 0.0, 1.0);  // blue (standing) to red (10 m/s)
  return cv::Scalar(255.0 * (1.0 - t), 60.0, 255.0 * t);
}

uint8_t gamma_byte(float linear) { return static_cast<uint8_t>(std::clamp(std::sqrt(std::max(linear, 0.0f)) * 255.0f, 0.0f, 255.0f)); }

// Paints the ground of the map into `image`, whose pixel (column, row) shows map point to_map(c, r).
template <typename ToMap>
void paint_ground(cv::Mat& image, const RoadLayout& road, const ToMap& to_map) {
  for (int row = 0; row < image.rows; ++row) {
    auto* pixel = image.ptr<cv::Vec3b>(row);
    for (int column = 0; column < image.cols; ++column) {
      const Eigen::Vector2d p = to_map(column + 0.5, row + 0.5);
      uint8_t tag = 0;
      float rgb[3];
      road.shade(p.x(), p.y(), &tag, rgb);
      pixel[column] = cv::Vec3b(gamma_byte(rgb[2]), gamma_byte(rgb[1]), gamma_byte(rgb[0]));
    }
  }
}

void put_label(cv::Mat& image, const std::string& text, cv::Point at, double scale = 0.45) {
  cv::putText(image, text, at, cv::FONT_HERSHEY_SIMPLEX, scale, cv::Scalar(0, 0, 0), 3, cv::LINE_AA);
  cv::putText(image, text, at, cv::FONT_HERSHEY_SIMPLEX, scale, cv::Scalar(255, 255, 255), 1, cv::LINE_AA);
}

void draw_box(cv::Mat& image, const std::array<cv::Point2f, 4>& corners, const cv::Scalar& colour) {
  std::vector<cv::Point> polygon(corners.begin(), corners.end());
  cv::fillConvexPoly(image, polygon, colour, cv::LINE_AA);
}

}  // namespace

void ClosedLoopWorld::write_strip(const std::string& path, const std::vector<RiskMap>& risk, int panels,
                                  int plan_every) const {
  const Impl& s = *impl_;
  const auto& ticks = s.outcome.ticks;
  const RoadLayout& road = s.sim.world.road;

  // Overview, route frame: x to the right of the picture, y up.
  double x_min = -10.0, x_max = 10.0, y_min = -10.0, y_max = 10.0;
  for (const RouteTick& tick : ticks) {
    x_min = std::min(x_min, tick.position.x());
    x_max = std::max(x_max, tick.position.x());
    y_min = std::min(y_min, tick.position.y());
    y_max = std::max(y_max, tick.position.y());
  }
  x_min -= 20.0, x_max += 20.0, y_min -= 20.0, y_max += 20.0;
  const double scale = std::min(6.0, std::min(1200.0 / (x_max - x_min), 2.0 * kPanelPixels / (y_max - y_min)));
  const int width = static_cast<int>(std::ceil((x_max - x_min) * scale));
  const int height = std::max(static_cast<int>(std::ceil((y_max - y_min) * scale)), 2 * kPanelPixels);
  cv::Mat overview(height, width, CV_8UC3);
  // Centred vertically when the panels make the picture taller than the route.
  const double bottom = (height + (y_max - y_min) * scale) / 2.0;
  const auto to_pixel = [&](const Eigen::Vector2d& r) {
    return cv::Point2f(static_cast<float>((r.x() - x_min) * scale), static_cast<float>(bottom - (r.y() - y_min) * scale));
  };
  paint_ground(overview, road, [&](double column, double row) {
    return s.from_route(Eigen::Vector2d(x_min + column / scale, y_min + (bottom - row) / scale));
  });
  for (std::size_t i = 0; i < ticks.size(); i += static_cast<std::size_t>(std::max(plan_every, 1))) {
    const auto& plan = ticks[i].plan;
    for (std::size_t k = 0; k + 1 < plan.size(); ++k) {
      cv::line(overview, to_pixel(plan[k]), to_pixel(plan[k + 1]), cv::Scalar(40, 200, 40), 1, cv::LINE_AA);
    }
    if (!plan.empty()) cv::line(overview, to_pixel(ticks[i].position), to_pixel(plan[0]), cv::Scalar(40, 200, 40), 1, cv::LINE_AA);
  }
  for (std::size_t i = 1; i < ticks.size(); ++i) {
    cv::line(overview, to_pixel(ticks[i - 1].position), to_pixel(ticks[i].position), speed_colour(ticks[i].speed), 2, cv::LINE_AA);
  }
  for (const InfractionEvent& event : s.outcome.infractions) {
    cv::circle(overview, to_pixel(event.position), 7, cv::Scalar(0, 0, 255), 2, cv::LINE_AA);
    char text[96];
    std::snprintf(text, sizeof(text), "%s %.1fs", to_string(event.kind), event.time);
    const cv::Point2f at = to_pixel(event.position);
    put_label(overview, text, cv::Point(static_cast<int>(at.x) + 9, static_cast<int>(at.y) - 6));
  }
  char title[200];
  std::snprintf(title, sizeof(title), "%s  completion %.0f%%  end: %s", s.route.name().c_str(),
                100.0 * s.outcome.route_completion, s.outcome.end.c_str());
  put_label(overview, title, cv::Point(8, 20), 0.5);

  // Panels: ego-centred, forward up, at evenly spaced ticks (infraction ticks first).
  std::vector<int> chosen;
  for (const InfractionEvent& event : s.outcome.infractions) {
    const int tick = std::clamp(static_cast<int>(std::lround(event.time * 10.0)) - 1, 0, static_cast<int>(ticks.size()) - 1);
    if (static_cast<int>(chosen.size()) < panels && std::find(chosen.begin(), chosen.end(), tick) == chosen.end()) chosen.push_back(tick);
  }
  for (int k = 0; static_cast<int>(chosen.size()) < panels && k < panels && !ticks.empty(); ++k) {
    const int tick = static_cast<int>((k + 0.5) * ticks.size() / panels);
    if (std::find(chosen.begin(), chosen.end(), tick) == chosen.end()) chosen.push_back(tick);
  }
  std::sort(chosen.begin(), chosen.end());
  const int columns = (static_cast<int>(chosen.size()) + 1) / 2;
  cv::Mat strip(height, width + columns * kPanelPixels, CV_8UC3, cv::Scalar(30, 30, 30));
  overview.copyTo(strip(cv::Rect(0, 0, width, height)));
  const double panel_scale = kPanelPixels / kPanelMetres;
  for (std::size_t p = 0; p < chosen.size(); ++p) {
    const RouteTick& tick = ticks[static_cast<std::size_t>(chosen[p])];
    const FrameState& frame = s.sim.world.frames[static_cast<std::size_t>(chosen[p])];
    const double c = std::cos(tick.yaw), sn = std::sin(tick.yaw);
    // Ego frame (x forward = up, y left = left) <-> route frame.
    const auto ego_to_route = [&](const Eigen::Vector2d& e) {
      return Eigen::Vector2d(tick.position.x() + c * e.x() - sn * e.y(), tick.position.y() + sn * e.x() + c * e.y());
    };
    const auto ego_pixel = [&](const Eigen::Vector2d& e) {
      return cv::Point2f(static_cast<float>(kPanelPixels / 2.0 - e.y() * panel_scale),
                         static_cast<float>(kPanelPixels / 2.0 - e.x() * panel_scale));
    };
    const auto route_to_ego = [&](const Eigen::Vector2d& r) {
      const Eigen::Vector2d d = r - tick.position;
      return Eigen::Vector2d(c * d.x() + sn * d.y(), -sn * d.x() + c * d.y());
    };
    cv::Mat panel(kPanelPixels, kPanelPixels, CV_8UC3);
    paint_ground(panel, road, [&](double column, double row) {
      return s.from_route(ego_to_route(Eigen::Vector2d((kPanelPixels / 2.0 - row) / panel_scale,
                                                       (kPanelPixels / 2.0 - column) / panel_scale)));
    });
    // The predicted risk of this tick (the nearest map given), red over the ground.
    const RiskMap* map = nullptr;
    for (const RiskMap& candidate : risk) {
      if (map == nullptr || std::abs(candidate.tick - chosen[p]) < std::abs(map->tick - chosen[p])) map = &candidate;
    }
    float risk_peak = 0.0f;
    if (map != nullptr && std::abs(map->tick - chosen[p]) <= 5 && !map->values.empty()) {
      // Absolute values (a map scaled to its own peak would show a silent head's noise as risk);
      // the peak is printed, so that an empty overlay reads as "predicts no risk here".
      risk_peak = *std::max_element(map->values.begin(), map->values.end());
      cv::Mat overlay = panel.clone();
      for (int y = 0; y < map->ny; ++y) {
        for (int x = 0; x < map->nx; ++x) {
          const float value = map->values[static_cast<std::size_t>(y * map->nx + x)];
          if (value < 0.05f) continue;
          const Eigen::Vector2d low(map->x_min + x * map->cell, map->y_min + y * map->cell);
          const cv::Point2f a = ego_pixel(low), b = ego_pixel(low + Eigen::Vector2d(map->cell, map->cell));
          cv::rectangle(overlay, cv::Rect(cv::Point(static_cast<int>(std::min(a.x, b.x)), static_cast<int>(std::min(a.y, b.y))),
                                          cv::Point(static_cast<int>(std::max(a.x, b.x)), static_cast<int>(std::max(a.y, b.y)))),
                        cv::Scalar(0, 0, 255.0 * value), cv::FILLED);
        }
      }
      cv::addWeighted(overlay, 0.55, panel, 0.45, 0.0, panel);
    }
    const auto corners = [&](const Eigen::Vector2d& centre_route, double yaw_route, const Eigen::Vector2d& half) {
      std::array<cv::Point2f, 4> out;
      const double cy = std::cos(yaw_route), sy = std::sin(yaw_route);
      const double signs[4][2] = {{1, 1}, {1, -1}, {-1, -1}, {-1, 1}};
      for (int k = 0; k < 4; ++k) {
        const Eigen::Vector2d corner = centre_route + Eigen::Vector2d(cy * signs[k][0] * half.x() - sy * signs[k][1] * half.y(),
                                                                       sy * signs[k][0] * half.x() + cy * signs[k][1] * half.y());
        out[static_cast<std::size_t>(k)] = ego_pixel(route_to_ego(corner));
      }
      return out;
    };
    const auto& actors = s.sim.world.actors;
    for (std::size_t i = 0; i < actors.size(); ++i) {
      const ActorSpec& spec = actors[i];
      if (spec.kind == ActorKind::traffic_sign) continue;
      const ActorState& state = frame.actors[i];
      const Eigen::Vector2d centre = s.to_route(state.transform.location.head<2>());
      if ((centre - tick.position).norm() > kPanelMetres) continue;
      const double yaw = -(radians(state.transform.rotation.yaw) - s.origin_yaw);
      cv::Scalar colour(200, 200, 200);
      if (spec.kind == ActorKind::walker) colour = cv::Scalar(0, 200, 255);
      if (spec.kind == ActorKind::traffic_light) colour = state.light == 0 ? cv::Scalar(0, 0, 255) : state.light == 1 ? cv::Scalar(0, 200, 255) : cv::Scalar(0, 200, 0);
      draw_box(panel, corners(centre, yaw, spec.extent.head<2>()), colour);
    }
    draw_box(panel, corners(tick.position, tick.yaw, s.sim.world.ego.extent.head<2>()), cv::Scalar(255, 160, 40));
    for (std::size_t k = 0; k < tick.plan.size(); ++k) {
      cv::circle(panel, ego_pixel(route_to_ego(tick.plan[k])), 3, cv::Scalar(40, 220, 40), cv::FILLED, cv::LINE_AA);
    }
    char label[96];
    std::snprintf(label, sizeof(label), "t %.1fs  %.1f m/s", tick.time, tick.speed);
    put_label(panel, label, cv::Point(6, 16));
    if (map != nullptr && std::abs(map->tick - chosen[p]) <= 5) {
      std::snprintf(label, sizeof(label), "predicted risk peak %.3f", risk_peak);
      put_label(panel, label, cv::Point(6, 34));
    }
    const int column = static_cast<int>(p) / 2, row = static_cast<int>(p) % 2;
    panel.copyTo(strip(cv::Rect(width + column * kPanelPixels, row * kPanelPixels, kPanelPixels, kPanelPixels)));
  }
  try {
    if (!cv::imwrite(path, strip)) throw Error("cannot write " + path);
  } catch (const cv::Exception& e) {
    throw Error("cannot write " + path + ": " + e.what());
  }
}

}  // namespace rsd::data::synth
