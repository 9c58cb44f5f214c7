// Risk metrics: the student's risk map (sigmoid of the RiskHead's logits) against the teacher's
// cached map, over the frames that have a teacher label. Accumulated batch by batch with memory
// that does not grow with the split (AUROC through fixed histograms). docs/metrics.md defines them.
#pragma once

#include <torch/types.h>

#include <Eigen/Core>
#include <cstdint>
#include <vector>

#include "rsd/eval/metric_set.h"
#include "rsd/eval/score_histogram.h"
#include "rsd/geometry/grid_spec.h"

namespace rsd::eval {

struct RiskMetricsOptions {
  double threshold = 0.5;         // teacher cells above it are the positives of the AUROC
  int64_t histogram_bins = 1000;  // AUROC resolution
  int64_t top_k = 3;              // objects compared in the ranking agreement
  double epsilon = 1e-8;          // added to the student's map before normalising it (KL)
};

/// The value of `map` (Y, X) on `grid` at each ground-plane centre (the cell holding it); NaN for
/// a centre outside the grid.
std::vector<double> map_values_at(const torch::Tensor& map, const GridSpec& grid,
                                  const std::vector<Eigen::Vector2d>& centers);

/// |top-k of a| ∩ |top-k of b| / k for two scorings of the same objects, k = min(top_k, objects).
/// Ranks by descending value, ties by object order. NaN without objects.
double top_k_agreement(const std::vector<double>& a, const std::vector<double>& b, int64_t top_k);

class RiskAccumulator {
 public:
  RiskAccumulator(RiskMetricsOptions options, GridSpec grid);

  /// student and teacher (B, 1, Y, X) or (B, Y, X) in [0, 1] on the grid; labelled (B) bool (frames
  /// without a teacher label are skipped); the ground-plane centres of each frame's objects.
  void add_batch(const torch::Tensor& student, const torch::Tensor& teacher,
                 const torch::Tensor& labelled,
                 const std::vector<std::vector<Eigen::Vector2d>>& object_centers);

  /// risk/{frames, l1, kl, kl_frames, auroc, positive_cells, topk, topk_agreement, topk_frames}.
  MetricSet metrics() const;

  const RiskMetricsOptions& options() const { return options_; }

 private:
  RiskMetricsOptions options_;
  GridSpec grid_;
  int64_t frames_ = 0;
  double l1_sum_ = 0.0;
  double kl_sum_ = 0.0;
  int64_t kl_frames_ = 0;
  double top_k_sum_ = 0.0;
  int64_t top_k_frames_ = 0;
  BinaryScoreHistogram histogram_;
};

}  // namespace rsd::eval
