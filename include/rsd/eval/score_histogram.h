// AUROC of a binary labelling of scores in [0, 1] from two fixed histograms (one per label), so
// that the memory stays constant however many cells a split has. Scores in the same bin count as
// ties (half a correctly ordered pair), which bounds the error by the bin width.
#pragma once

#include <torch/types.h>

#include <cstdint>
#include <vector>

namespace rsd::eval {

class BinaryScoreHistogram {
 public:
  /// `bins` equal bins over [0, 1]; scores outside are clamped into the end bins. Throws
  /// rsd::ConfigError for bins < 1.
  explicit BinaryScoreHistogram(int64_t bins = 1000);

  void add(double score, bool positive);
  /// scores (any shape, floating) and labels (same shape, bool): every element once.
  void add(const torch::Tensor& scores, const torch::Tensor& labels);

  /// P(score of a random positive > score of a random negative) + 0.5 P(same bin); NaN when either
  /// label has no sample.
  double auroc() const;

  int64_t positives() const { return positives_; }
  int64_t negatives() const { return negatives_; }
  int64_t bins() const { return static_cast<int64_t>(positive_counts_.size()); }

 private:
  std::vector<int64_t> positive_counts_;
  std::vector<int64_t> negative_counts_;
  int64_t positives_ = 0;
  int64_t negatives_ = 0;
};

}  // namespace rsd::eval
