#include "rsd/teacher/inspect.h"

#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>
#include <spdlog/spdlog.h>
#include <torch/torch.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <optional>

#include "data/bev_picture.h"
#include "rsd/data/clip_index.h"
#include "rsd/data/frame_reader.h"
#include "rsd/teacher/camera_projection.h"
#include "rsd/util/error.h"

namespace rsd::teacher {
namespace {

// Low risk green, high risk red (BGR).
cv::Scalar score_colour(double score) {
  return {0.0, 255.0 * (1.0 - score), 255.0 * score};
}

std::string label(const std::string& id, double score) {
  char text[64];
  std::snprintf(text, sizeof text, "%s %.2f", id.c_str(), score);
  return text;
}

data::Box box_of(const CachedObject& object) {
  data::Box box;
  box.id = object.risk.object_id;
  box.object_class = object.object_class;
  box.center = object.center;
  box.size = object.size;
  box.yaw = object.yaw;
  return box;
}

// The box seen from above: its four upper corners, in order around it.
std::vector<Eigen::Vector2d> outline_from_above(const data::Box& box) {
  const auto corners = box_corners(box);
  std::vector<Eigen::Vector2d> footprint;
  for (const int i : {0, 2, 6, 4}) footprint.push_back(corners[i].head<2>());
  return footprint;
}

using data::detail::write_png;

}  // namespace

InspectRequest parse_inspect_request(const std::string& text) {
  const auto colon = text.rfind(':');
  if (colon == std::string::npos || colon == 0 || colon + 1 == text.size()) {
    throw ConfigError("'" + text + "' is not CLIP:FRAME");
  }
  InspectRequest request{text.substr(0, colon), 0};
  std::size_t used = 0;
  try {
    request.frame = std::stoi(text.substr(colon + 1), &used);
  } catch (const std::exception&) {
    used = 0;
  }
  if (used != text.size() - colon - 1) throw ConfigError("'" + text + "' is not CLIP:FRAME");
  return request;
}

void render_bev_png(const CachedFrame& frame, const GridSpec& grid, const std::string& path,
                    int scale) {
  const data::detail::BevProjection to_pixel(grid, scale);
  cv::Mat picture = data::detail::bev_heatmap(
      frame.map.defined() ? frame.map : torch::zeros({grid.ny(), grid.nx()}), scale);
  data::Box ego;
  ego.size = {data::kEgoLength, data::kEgoWidth, 0.0};  // only its footprint is drawn
  data::detail::draw_bev_outline(picture, outline_from_above(ego), to_pixel, {255, 255, 255});
  for (const auto& object : frame.objects) {
    const data::Box box = box_of(object);
    data::detail::draw_bev_outline(picture, outline_from_above(box), to_pixel,
                                   score_colour(object.risk.score));
    if (object.risk.score > 0.0) {
      cv::putText(picture, label(box.id, object.risk.score), to_pixel.pixel(box.center.head<2>()),
                  cv::FONT_HERSHEY_SIMPLEX, 0.35, {255, 255, 255}, 1, cv::LINE_AA);
    }
  }
  const std::string title = "frame " + std::to_string(frame.frame) +
                            (frame.status == JudgementStatus::ok ? "" : " FAILED: " + frame.error);
  cv::putText(picture, title.substr(0, 90), {4, 14}, cv::FONT_HERSHEY_SIMPLEX, 0.4,
              {255, 255, 255}, 1, cv::LINE_AA);
  write_png(path, picture);
}

void render_camera_png(const CachedFrame& cached, const data::Frame& frame,
                       const std::string& camera_name, const std::string& path) {
  const auto camera = std::find_if(frame.cameras.begin(), frame.cameras.end(),
                                   [&](const data::Camera& c) { return c.name == camera_name; });
  if (camera == frame.cameras.end()) {
    throw DataError("clip " + frame.clip + " frame " + std::to_string(frame.index) + " has no camera " +
                    camera_name);
  }
  cv::Mat image = cv::imread(camera->image_path, cv::IMREAD_COLOR);
  if (image.empty()) throw DataError("cannot read the image " + camera->image_path);
  std::vector<const CachedObject*> order;
  for (const auto& object : cached.objects) order.push_back(&object);
  // Riskiest last, so that its box is drawn on top.
  std::sort(order.begin(), order.end(),
            [](const auto* a, const auto* b) { return a->risk.score < b->risk.score; });
  for (const CachedObject* object : order) {
    const auto box = project_box(box_of(*object), *camera);
    if (!box) continue;
    const cv::Scalar colour = score_colour(object->risk.score);
    cv::rectangle(image, cv::Point(static_cast<int>(box->x1), static_cast<int>(box->y1)),
                  cv::Point(static_cast<int>(box->x2), static_cast<int>(box->y2)), colour, 2);
    cv::putText(image, label(object->risk.object_id, object->risk.score),
                cv::Point(static_cast<int>(box->x1), std::max(12, static_cast<int>(box->y1) - 4)),
                cv::FONT_HERSHEY_SIMPLEX, 0.5, colour, 1, cv::LINE_AA);
  }
  write_png(path, image);
}

std::vector<std::string> render_risk_inspection(const InspectOptions& options,
                                                const std::vector<InspectRequest>& requests,
                                                const std::string& out_dir) {
  const GridSpec& grid = options.grid;
  const std::string& output = options.cache_dir;
  const auto& cameras = options.cameras;
  RSD_CHECK(!cameras.empty(), "inspection needs at least one camera");
  const std::string front =
      std::find(cameras.begin(), cameras.end(), "CAM_FRONT") != cameras.end() ? "CAM_FRONT"
                                                                               : cameras.at(0);
  std::optional<data::ClipIndex> index;
  if (!options.data_root.empty()) {
    try {
      index = data::ClipIndex::scan(options.data_root);
    } catch (const Error& e) {
      spdlog::warn("no camera pictures: {}", e.what());
    }
  }
  const data::FrameReader reader(cameras);
  std::vector<std::string> written;
  for (const auto& request : requests) {
    namespace fs = std::filesystem;
    std::string path = (fs::path(output) / (request.clip + kRiskCacheExtension)).string();
    std::error_code ec;
    if (!fs::exists(path, ec)) {
      const std::string partial = (fs::path(output) / (request.clip + kRiskCachePartialExtension)).string();
      if (!fs::exists(partial, ec)) throw DataError("no risk cache of clip " + request.clip + " in " + output);
      path = partial;
    }
    const RiskCacheFile file = RiskCacheFile::read(path, &grid);
    const CachedFrame* cached = file.find(request.frame);
    if (!cached) throw DataError("frame " + std::to_string(request.frame) + " is not in " + path);
    char stem[32];
    std::snprintf(stem, sizeof stem, "_%05d", request.frame);
    const std::string base = (fs::path(out_dir) / (request.clip + stem)).string();
    render_bev_png(*cached, grid, base + "_bev.png");
    written.push_back(base + "_bev.png");
    if (index) {
      if (index->contains(request.clip)) {
        const data::Frame frame = reader.read(index->clip(request.clip), request.frame);
        render_camera_png(*cached, frame, front, base + "_front.png");
        written.push_back(base + "_front.png");
      }
    }
  }
  return written;
}

}  // namespace rsd::teacher
