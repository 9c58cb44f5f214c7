// BEV detection metrics in the nuScenes style: per class, detections are matched greedily in
// descending score order to the nearest unmatched ground-truth box of their frame by centre
// distance on the ground plane, for each distance threshold; AP integrates the interpolated
// precision over recall 0.1..1 above a minimum precision of 0.1; translation, scale, orientation
// and velocity errors are averaged over the true positives at one threshold (2 m).
// docs/metrics.md defines them exactly.
#pragma once

#include <cstdint>
#include <map>
#include <vector>

#include "rsd/data/frame.h"
#include "rsd/eval/metric_set.h"
#include "rsd/model/detection_head.h"

namespace rsd::eval {

struct DetectionMetricsOptions {
  std::vector<data::ObjectClass> classes = {
      data::ObjectClass::vehicle, data::ObjectClass::pedestrian, data::ObjectClass::cyclist};
  std::vector<double> thresholds_m = {0.5, 1.0, 2.0, 4.0};  // centre-distance match thresholds
  double tp_threshold_m = 2.0;  // the threshold whose true positives give ATE, ASE, AOE, AVE
  double min_recall = 0.1;      // nuScenes: precision below this recall is ignored ...
  double min_precision = 0.1;   // ... and precision counts only above this
};

/// One detection after matching: its score and whether it matched a ground-truth box.
struct ScoredMatch {
  double score = 0.0;
  bool true_positive = false;
};

/// nuScenes average precision of one class at one threshold, from every matched detection of the
/// split (in the order they were given) and the number of ground-truth boxes, exactly as the
/// devkit's accumulate() and calc_ap() compute it: detections in descending score order (equal
/// scores: the later-given first), precision np.interp-olated at recall 0, 0.01, ..., 1 (a recall
/// repeated by false positives takes the precision after the last of them; 0 beyond the highest
/// recall reached); AP is the mean of max(precision - min_precision, 0) over the recall bins above
/// min_recall (its own bin excluded), divided by 1 - min_precision. 0 without detections; NaN
/// without ground truth.
double average_precision(const std::vector<ScoredMatch>& matches, int64_t num_ground_truth,
                         double min_recall = 0.1, double min_precision = 0.1);

/// 1 - IoU of two boxes' sizes (length, width, height) once centred and aligned: nuScenes' scale
/// error.
double scale_error(const Eigen::Vector3d& size_a, const Eigen::Vector3d& size_b);

/// The smallest absolute angle between two headings, in [0, pi].
double heading_error(double yaw_a, double yaw_b);

class DetectionAccumulator {
 public:
  /// Throws rsd::ConfigError for an empty class or threshold list or a non-positive threshold.
  explicit DetectionAccumulator(DetectionMetricsOptions options);

  /// One frame: the decoded detections (any order; classes outside options.classes are ignored)
  /// and the ground-truth boxes of the same frame.
  void add_frame(const std::vector<model::Detection>& detections,
                 const std::vector<data::Box>& ground_truth);

  /// detection/<class>/{gt, ap/<d>m, ap_mean, tp, ate, ase, aoe, ave} per class, then
  /// detection/{ap/<d>m, map, mate, mase, maoe, mave}: means over the classes that have ground
  /// truth (classes without any give NaN and are left out of the means).
  MetricSet metrics() const;

  const DetectionMetricsOptions& options() const { return options_; }

 private:
  struct ClassSums {
    int64_t ground_truth = 0;
    std::vector<std::vector<ScoredMatch>> matches;  // per threshold
    int64_t true_positives = 0;                     // at tp_threshold_m
    double translation = 0.0, scale = 0.0, orientation = 0.0, velocity = 0.0;
  };

  DetectionMetricsOptions options_;
  std::vector<ClassSums> classes_;  // options_.classes order
};

}  // namespace rsd::eval
