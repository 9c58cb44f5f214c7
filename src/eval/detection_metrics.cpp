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

// np.interp(x, xp, fp, right=0) for one x and a non-decreasing xp, as numpy's C code
// (arr_interp with binary_search_with_guess) computes it: j = the LAST index with xp[j] <= x, so
// at a recall value repeated by false positives the precision after the last of them is taken;
// fp[0] left of xp[0]; 0 right of xp.back(); fp[j] where xp[j] == x; else the line from j to j+1.
double numpy_interp(double x, const std::vector<double>& xp, const std::vector<double>& fp) {
  if (x < xp.front()) return fp.front();
  if (x > xp.back()) return 0.0;
  const auto after = std::upper_bound(xp.begin(), xp.end(), x);  // first xp > x; x >= xp[0]
  const auto j = static_cast<std::size_t>(after - xp.begin()) - 1;
  if (j == xp.size() - 1 || xp[j] == x) return fp[j];
  const double slope = (fp[j + 1] - fp[j]) / (xp[j + 1] - xp[j]);
  return slope * (x - xp[j]) + fp[j];
}

// The devkit's processing order: sorted((score, index))[::-1], i.e. descending score and, among
// equal scores, the detection given later first.
std::vector<std::size_t> devkit_score_order(const std::vector<ScoredMatch>& matches) {
  std::vector<std::size_t> order(matches.size());
  std::iota(order.begin(), order.end(), std::size_t{0});
  std::sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) {
    if (matches[a].score != matches[b].score) return matches[a].score > matches[b].score;
    return a > b;
  });
  return order;
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

double average_precision(const std::vector<ScoredMatch>& matches, int64_t num_ground_truth,
                         double min_recall, double min_precision) {
  RSD_CHECK(min_recall >= 0.0 && min_recall < 1.0 && min_precision >= 0.0 && min_precision < 1.0,
            "min_recall and min_precision must lie in [0, 1)");
  if (num_ground_truth <= 0) return kNaN;
  if (matches.empty()) return 0.0;
  const std::vector<std::size_t> order = devkit_score_order(matches);
  std::vector<double> precision, recall;
  int64_t true_positives = 0;
  for (std::size_t i = 0; i < order.size(); ++i) {
    true_positives += matches[order[i]].true_positive ? 1 : 0;
    precision.push_back(static_cast<double>(true_positives) / static_cast<double>(i + 1));
    recall.push_back(static_cast<double>(true_positives) / static_cast<double>(num_ground_truth));
  }
  // The devkit's rec_interp = np.linspace(0, 1, 101): i * 0.01 (not i / 100, which differs in
  // the last bit for some i) and exactly 1 at the end.
  constexpr int kRecallSteps = 100;
  const double recall_step = 1.0 / kRecallSteps;
  double sum = 0.0;
  int count = 0;
  // calc_ap: prec[round(100 * min_recall) + 1:], the min_recall bin itself excluded; Python's
  // round() rounds half to even, as nearbyint does in the default rounding mode.
  const auto first = static_cast<int>(std::nearbyint(kRecallSteps * min_recall)) + 1;
  for (int i = first; i <= kRecallSteps; ++i) {
    const double r = i == kRecallSteps ? 1.0 : static_cast<double>(i) * recall_step;
    sum += std::max(numpy_interp(r, recall, precision) - min_precision, 0.0);
    ++count;
  }
  return count > 0 ? sum / static_cast<double>(count) / (1.0 - min_precision) : 0.0;
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
    // Matched in the devkit's order (descending score, ties: the later detection first), recorded
    // in the given order so that average_precision() orders ties across frames as the devkit does.
    std::vector<const model::Detection*> class_detections;
    std::vector<ScoredMatch> class_scores;
    for (const model::Detection& detection : detections) {
      if (detection.box.object_class != object_class) continue;
      class_detections.push_back(&detection);
      class_scores.push_back({detection.score, false});
    }
    const std::vector<std::size_t> order = devkit_score_order(class_scores);
    std::vector<const model::Detection*> ordered;
    for (const std::size_t d : order) ordered.push_back(class_detections[d]);
    std::vector<const data::Box*> class_boxes;
    for (const data::Box& box : ground_truth) {
      if (box.object_class == object_class) class_boxes.push_back(&box);
    }

    ClassSums& sums = classes_[c];
    sums.ground_truth += static_cast<int64_t>(class_boxes.size());
    for (std::size_t t = 0; t < options_.thresholds_m.size(); ++t) {
      const std::vector<int64_t> matched =
          greedy_match(ordered, class_boxes, options_.thresholds_m[t]);
      for (std::size_t i = 0; i < order.size(); ++i) {
        class_scores[order[i]].true_positive = matched[i] >= 0;
      }
      sums.matches[t].insert(sums.matches[t].end(), class_scores.begin(), class_scores.end());
    }
    const std::vector<int64_t> matched =
        greedy_match(ordered, class_boxes, options_.tp_threshold_m);
    for (std::size_t d = 0; d < ordered.size(); ++d) {
      if (matched[d] < 0) continue;
      const data::Box& predicted = ordered[d]->box;
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
