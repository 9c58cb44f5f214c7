#include "rsd/eval/detection_metrics.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>
#include <utility>

#include "rsd/util/error.h"

namespace rsd::eval {
namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

// For each detection (in the given order), the index of the ground-truth box it matches, or -1:
// the nearest box not yet taken, when nearer than `threshold` (strictly, as nuScenes).
std::vector<int64_t> greedy_match(const std::vector<const model::Detection*>& detections,
                                  const std::vector<const data::Box*>& ground_truth,
                                  double threshold) {
  std::vector<bool> taken(ground_truth.size(), false);
  std::vector<int64_t> matched(detections.size(), -1);
  for (std::size_t d = 0; d < detections.size(); ++d) {
    double best = std::numeric_limits<double>::infinity();
    int64_t best_index = -1;
    for (std::size_t g = 0; g < ground_truth.size(); ++g) {
      if (taken[g]) continue;
      const double distance =
          (detections[d]->box.center.head<2>() - ground_truth[g]->center.head<2>()).norm();
      if (distance < best) {
        best = distance;
        best_index = static_cast<int64_t>(g);
      }
    }
    if (best_index >= 0 && best < threshold) {
      taken[static_cast<std::size_t>(best_index)] = true;
      matched[d] = best_index;
    }
  }
  return matched;
}

double mean_of_defined(const std::vector<double>& values) {
  double sum = 0.0;
  int64_t count = 0;
  for (const double value : values) {
    if (std::isnan(value)) continue;
    sum += value;
    ++count;
  }
  return count > 0 ? sum / static_cast<double>(count) : kNaN;
}

}  // namespace

double average_precision(std::vector<ScoredMatch> matches, int64_t num_ground_truth,
                         double min_recall, double min_precision) {
  RSD_CHECK(min_recall >= 0.0 && min_recall < 1.0 && min_precision >= 0.0 && min_precision < 1.0,
            "min_recall and min_precision must lie in [0, 1)");
  if (num_ground_truth <= 0) return kNaN;
  if (matches.empty()) return 0.0;
  std::stable_sort(matches.begin(), matches.end(),
                   [](const ScoredMatch& a, const ScoredMatch& b) { return a.score > b.score; });
  std::vector<double> precision, recall;
  int64_t true_positives = 0;
  for (std::size_t i = 0; i < matches.size(); ++i) {
    true_positives += matches[i].true_positive ? 1 : 0;
    precision.push_back(static_cast<double>(true_positives) / static_cast<double>(i + 1));
    recall.push_back(static_cast<double>(true_positives) / static_cast<double>(num_ground_truth));
  }
  // Precision at recall r, linearly interpolated between the operating points (np.interp with
  // the first precision left of the first point and 0 right of the last).
  const auto precision_at = [&](double r) {
    const auto above = std::lower_bound(recall.begin(), recall.end(), r - 1e-12);
    if (above == recall.end()) return 0.0;
    const auto j = static_cast<std::size_t>(above - recall.begin());
    if (j == 0) return precision[0];
    const double span = recall[j] - recall[j - 1];
    const double weight = span > 0.0 ? (r - recall[j - 1]) / span : 1.0;
    return precision[j - 1] + weight * (precision[j] - precision[j - 1]);
  };
  constexpr int kRecallSteps = 100;
  double sum = 0.0;
  int count = 0;
  // nuScenes skips the min_recall bin itself: recalls 0.11 ... 1.00 for min_recall 0.1.
  for (int i = static_cast<int>(std::lround(kRecallSteps * min_recall)) + 1; i <= kRecallSteps;
       ++i) {
    sum += std::max(precision_at(static_cast<double>(i) / kRecallSteps) - min_precision, 0.0);
    ++count;
  }
  return sum / static_cast<double>(count) / (1.0 - min_precision);
}

double scale_error(const Eigen::Vector3d& size_a, const Eigen::Vector3d& size_b) {
  const double intersection = size_a.cwiseMin(size_b).prod();
  const double union_volume = size_a.prod() + size_b.prod() - intersection;
  return union_volume > 0.0 ? 1.0 - intersection / union_volume : 1.0;
}

double heading_error(double yaw_a, double yaw_b) {
  const double difference = std::remainder(yaw_a - yaw_b, 2.0 * M_PI);  // in [-pi, pi]
  return std::abs(difference);
}

DetectionAccumulator::DetectionAccumulator(DetectionMetricsOptions options)
    : options_(std::move(options)) {
  if (options_.classes.empty()) throw ConfigError("detection metrics need at least one class");
  if (options_.thresholds_m.empty()) {
    throw ConfigError("eval.detection_thresholds_m must list at least one distance");
  }
  for (const double threshold : options_.thresholds_m) {
    if (!(threshold > 0.0)) {
      throw ConfigError("eval.detection_thresholds_m: thresholds must be positive, got " +
                        std::to_string(threshold));
    }
  }
  if (!(options_.tp_threshold_m > 0.0)) {
    throw ConfigError("eval.tp_threshold_m must be positive, got " +
                      std::to_string(options_.tp_threshold_m));
  }
  classes_.resize(options_.classes.size());
  for (ClassSums& sums : classes_) sums.matches.resize(options_.thresholds_m.size());
}

void DetectionAccumulator::add_frame(const std::vector<model::Detection>& detections,
                                     const std::vector<data::Box>& ground_truth) {
  for (std::size_t c = 0; c < options_.classes.size(); ++c) {
    const data::ObjectClass object_class = options_.classes[c];
    std::vector<const model::Detection*> class_detections;
    for (const model::Detection& detection : detections) {
      if (detection.box.object_class == object_class) class_detections.push_back(&detection);
    }
    std::stable_sort(
        class_detections.begin(), class_detections.end(),
        [](const model::Detection* a, const model::Detection* b) { return a->score > b->score; });
    std::vector<const data::Box*> class_boxes;
    for (const data::Box& box : ground_truth) {
      if (box.object_class == object_class) class_boxes.push_back(&box);
    }

    ClassSums& sums = classes_[c];
    sums.ground_truth += static_cast<int64_t>(class_boxes.size());
    for (std::size_t t = 0; t < options_.thresholds_m.size(); ++t) {
      const std::vector<int64_t> matched =
          greedy_match(class_detections, class_boxes, options_.thresholds_m[t]);
      for (std::size_t d = 0; d < class_detections.size(); ++d) {
        sums.matches[t].push_back({class_detections[d]->score, matched[d] >= 0});
      }
    }
    const std::vector<int64_t> matched =
        greedy_match(class_detections, class_boxes, options_.tp_threshold_m);
    for (std::size_t d = 0; d < class_detections.size(); ++d) {
      if (matched[d] < 0) continue;
      const data::Box& predicted = class_detections[d]->box;
      const data::Box& truth = *class_boxes[static_cast<std::size_t>(matched[d])];
      sums.true_positives += 1;
      sums.translation += (predicted.center.head<2>() - truth.center.head<2>()).norm();
      sums.scale += scale_error(predicted.size, truth.size);
      sums.orientation += heading_error(predicted.yaw, truth.yaw);
      sums.velocity += (predicted.velocity - truth.velocity).norm();
    }
  }
}

MetricSet DetectionAccumulator::metrics() const {
  MetricSet metrics;
  const std::size_t thresholds = options_.thresholds_m.size();
  std::vector<std::vector<double>> ap_per_threshold(thresholds);
  std::vector<double> class_ap, translation, scale, orientation, velocity;
  for (std::size_t c = 0; c < options_.classes.size(); ++c) {
    const ClassSums& sums = classes_[c];
    const std::string prefix =
        std::string("detection/") + data::to_string(options_.classes[c]) + "/";
    metrics.set(prefix + "gt", static_cast<double>(sums.ground_truth));
    std::vector<double> aps;
    for (std::size_t t = 0; t < thresholds; ++t) {
      const double ap = average_precision(sums.matches[t], sums.ground_truth, options_.min_recall,
                                          options_.min_precision);
      metrics.set(prefix + "ap/" + format_quantity(options_.thresholds_m[t], "m"), ap);
      aps.push_back(ap);
      ap_per_threshold[t].push_back(ap);
    }
    const double mean_ap = sums.ground_truth > 0 ? mean_of_defined(aps) : kNaN;
    metrics.set(prefix + "ap_mean", mean_ap);
    class_ap.push_back(mean_ap);
    metrics.set(prefix + "tp", static_cast<double>(sums.true_positives));
    const double tps = static_cast<double>(sums.true_positives);
    const auto per_tp = [&](double sum) { return sums.true_positives > 0 ? sum / tps : kNaN; };
    metrics.set(prefix + "ate", per_tp(sums.translation));
    metrics.set(prefix + "ase", per_tp(sums.scale));
    metrics.set(prefix + "aoe", per_tp(sums.orientation));
    metrics.set(prefix + "ave", per_tp(sums.velocity));
    translation.push_back(per_tp(sums.translation));
    scale.push_back(per_tp(sums.scale));
    orientation.push_back(per_tp(sums.orientation));
    velocity.push_back(per_tp(sums.velocity));
  }
  for (std::size_t t = 0; t < thresholds; ++t) {
    metrics.set("detection/ap/" + format_quantity(options_.thresholds_m[t], "m"),
                mean_of_defined(ap_per_threshold[t]));
  }
  metrics.set("detection/map", mean_of_defined(class_ap));
  metrics.set("detection/mate", mean_of_defined(translation));
  metrics.set("detection/mase", mean_of_defined(scale));
  metrics.set("detection/maoe", mean_of_defined(orientation));
  metrics.set("detection/mave", mean_of_defined(velocity));
  return metrics;
}

}  // namespace rsd::eval
