#include "rsd/eval/score_histogram.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "rsd/util/error.h"

namespace rsd::eval {

BinaryScoreHistogram::BinaryScoreHistogram(int64_t bins) {
  if (bins < 1)
    throw ConfigError("eval.auroc_bins must be at least 1, got " + std::to_string(bins));
  positive_counts_.assign(static_cast<std::size_t>(bins), 0);
  negative_counts_.assign(static_cast<std::size_t>(bins), 0);
}

void BinaryScoreHistogram::add(double score, bool positive) {
  const int64_t last = bins() - 1;
  const auto bin = static_cast<std::size_t>(std::clamp<int64_t>(
      static_cast<int64_t>(std::floor(score * static_cast<double>(bins()))), 0, last));
  if (positive) {
    ++positive_counts_[bin];
    ++positives_;
  } else {
    ++negative_counts_[bin];
    ++negatives_;
  }
}

void BinaryScoreHistogram::add(const torch::Tensor& scores, const torch::Tensor& labels) {
  RSD_CHECK(scores.sizes() == labels.sizes(), "scores ", scores.sizes(), " and labels ",
            labels.sizes(), " differ in shape");
  RSD_CHECK(scores.is_floating_point(), "scores must be floating point, got ", scores.dtype());
  if (scores.numel() == 0) return;
  const torch::Tensor bins_of =
      (scores.detach().to(torch::kCPU, torch::kDouble).reshape({-1}) * static_cast<double>(bins()))
          .floor()
          .clamp(0, static_cast<double>(bins() - 1))
          .to(torch::kLong);
  const torch::Tensor positive = labels.detach().to(torch::kCPU, torch::kBool).reshape({-1});
  const torch::Tensor positive_counts =
      torch::bincount(bins_of.masked_select(positive), {}, bins());
  const torch::Tensor negative_counts =
      torch::bincount(bins_of.masked_select(positive.logical_not()), {}, bins());
  const auto positive_view = positive_counts.accessor<int64_t, 1>();
  const auto negative_view = negative_counts.accessor<int64_t, 1>();
  for (int64_t b = 0; b < bins(); ++b) {
    positive_counts_[b] += positive_view[b];
    negative_counts_[b] += negative_view[b];
    positives_ += positive_view[b];
    negatives_ += negative_view[b];
  }
}

double BinaryScoreHistogram::auroc() const {
  if (positives_ == 0 || negatives_ == 0) return std::numeric_limits<double>::quiet_NaN();
  // Sweep bins from low to high: a positive in bin b outranks every negative in lower bins and
  // ties with those in b.
  double ordered_pairs = 0.0;
  double negatives_below = 0.0;
  for (std::size_t b = 0; b < positive_counts_.size(); ++b) {
    const auto negatives_here = static_cast<double>(negative_counts_[b]);
    ordered_pairs +=
        static_cast<double>(positive_counts_[b]) * (negatives_below + 0.5 * negatives_here);
    negatives_below += negatives_here;
  }
  return ordered_pairs / (static_cast<double>(positives_) * static_cast<double>(negatives_));
}

}  // namespace rsd::eval
