#include "rsd/teacher/matcher.h"

#include <algorithm>
#include <cstdio>
#include <optional>

namespace rsd::teacher {
namespace {

struct Pair {
  int query;
  int box;
  double quality;  // IoU (higher is better) or centre distance (lower is better)
};

std::string format_number(double value) {
  char text[32];
  std::snprintf(text, sizeof text, "%.2f", value);
  return text;
}

}  // namespace

SettingsMap match_settings(const MatchOptions& options) {
  return {{"teacher.match.method", options.method == MatchMethod::iou ? "iou" : "center"},
          {"teacher.match.iou_threshold", setting_text(options.iou_threshold)},
          {"teacher.match.center_threshold_px", setting_text(options.center_threshold_px)}};
}

std::vector<BoxMatch> match_boxes(const std::vector<Box2D>& queries,
                                  const std::vector<data::Box>& boxes, const data::Camera& camera,
                                  const MatchOptions& options) {
  const bool by_iou = options.method == MatchMethod::iou;
  std::vector<std::optional<Box2D>> projected;
  projected.reserve(boxes.size());
  for (const auto& box : boxes) projected.push_back(project_box(box, camera));

  std::vector<Pair> pairs;
  std::vector<BoxMatch> matches(queries.size());
  std::vector<double> best(queries.size(), by_iou ? 0.0 : 1e300);
  for (int q = 0; q < static_cast<int>(queries.size()); ++q) {
    for (int b = 0; b < static_cast<int>(boxes.size()); ++b) {
      if (!projected[b]) continue;
      const double quality = by_iou ? iou(queries[q], *projected[b])
                                    : (queries[q].center() - projected[b]->center()).norm();
      best[q] = by_iou ? std::max(best[q], quality) : std::min(best[q], quality);
      const bool acceptable = by_iou ? quality >= options.iou_threshold
                                     : quality <= options.center_threshold_px;
      if (acceptable) pairs.push_back({q, b, quality});
    }
  }
  // Greedy, best pair first; ties go to the earlier query and box so the result is deterministic.
  std::stable_sort(pairs.begin(), pairs.end(), [by_iou](const Pair& a, const Pair& b) {
    return by_iou ? a.quality > b.quality : a.quality < b.quality;
  });
  std::vector<bool> box_taken(boxes.size(), false);
  for (const auto& pair : pairs) {
    if (matches[pair.query].box_index >= 0 || box_taken[pair.box]) continue;
    matches[pair.query].box_index = pair.box;
    matches[pair.query].quality = pair.quality;
    box_taken[pair.box] = true;
  }

  const bool any_visible =
      std::any_of(projected.begin(), projected.end(), [](const auto& p) { return p.has_value(); });
  for (std::size_t q = 0; q < queries.size(); ++q) {
    BoxMatch& match = matches[q];
    if (match.box_index >= 0) continue;
    match.quality = best[q];
    if (!any_visible) {
      match.why = "no annotated box is visible in " + camera.name;
    } else if (by_iou && best[q] < options.iou_threshold) {
      match.why = "best IoU " + format_number(best[q]) + " < " + format_number(options.iou_threshold);
    } else if (!by_iou && best[q] > options.center_threshold_px) {
      match.why = "nearest projected centre " + format_number(best[q]) + " px > " +
                  format_number(options.center_threshold_px) + " px";
    } else {
      match.why = "its best annotated box matched another object better";
    }
  }
  return matches;
}

}  // namespace rsd::teacher
