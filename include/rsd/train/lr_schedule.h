// Learning-rate schedule per optimiser step: linear warmup, then cosine decay (libtorch 1.13 has
// only StepLR). The rate is a pure function of the step, so resuming needs only the step count.
#pragma once

#include <cstdint>
#include <vector>

namespace torch::optim {
class Optimizer;
}

namespace rsd::train {

struct LrScheduleOptions {
  double base_lr = 2e-4;
  int64_t total_steps = 1000;
  int64_t warmup_steps = 0;
  double warmup_start_ratio = 1.0 / 3.0;  // the first step runs at base_lr * this (mmcv's default)
  double final_ratio = 0.0;               // the last step decays to base_lr * this
};

class WarmupCosineSchedule {
 public:
  /// `group_multipliers[i]` scales the rate of parameter group i (e.g. a backbone at 0.1).
  WarmupCosineSchedule(LrScheduleOptions options, std::vector<double> group_multipliers);

  /// The base rate (multiplier 1) at optimiser step `step` (0-based).
  double lr_at(int64_t step) const;

  /// Sets every parameter group's rate for `step`. Throws rsd::Error when the optimiser's group
  /// count differs from the multipliers'.
  void apply(torch::optim::Optimizer& optimizer, int64_t step) const;

  const LrScheduleOptions& options() const { return options_; }

 private:
  LrScheduleOptions options_;
  std::vector<double> multipliers_;
};

}  // namespace rsd::train
