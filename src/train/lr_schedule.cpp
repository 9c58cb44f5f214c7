#include "rsd/train/lr_schedule.h"

#include <torch/optim/optimizer.h>

#include <cmath>

#include "rsd/util/error.h"

namespace rsd::train {

WarmupCosineSchedule::WarmupCosineSchedule(LrScheduleOptions options,
                                           std::vector<double> group_multipliers)
    : options_(options), multipliers_(std::move(group_multipliers)) {
  RSD_CHECK(options_.base_lr > 0.0, "the learning rate must be positive, got ", options_.base_lr);
  RSD_CHECK(options_.total_steps > 0, "total steps must be positive, got ", options_.total_steps);
  RSD_CHECK(options_.warmup_steps >= 0 && options_.warmup_steps <= options_.total_steps,
            "warmup steps ", options_.warmup_steps, " must lie in [0, ", options_.total_steps, "]");
  RSD_CHECK(!multipliers_.empty(), "at least one parameter group is needed");
}

double WarmupCosineSchedule::lr_at(int64_t step) const {
  const LrScheduleOptions& o = options_;
  if (step < o.warmup_steps) {
    const double progress = static_cast<double>(step) / static_cast<double>(o.warmup_steps);
    return o.base_lr * (o.warmup_start_ratio + (1.0 - o.warmup_start_ratio) * progress);
  }
  const int64_t decay_steps = o.total_steps - o.warmup_steps;
  const double progress =
      decay_steps <= 1 ? 1.0
                       : std::min(1.0, static_cast<double>(step - o.warmup_steps) /
                                           static_cast<double>(decay_steps - 1));
  const double cosine = 0.5 * (1.0 + std::cos(M_PI * progress));
  return o.base_lr * (o.final_ratio + (1.0 - o.final_ratio) * cosine);
}

void WarmupCosineSchedule::apply(torch::optim::Optimizer& optimizer, int64_t step) const {
  auto& groups = optimizer.param_groups();
  RSD_CHECK_EQ(groups.size(), multipliers_.size(), "parameter groups vs learning-rate multipliers");
  const double lr = lr_at(step);
  for (std::size_t i = 0; i < groups.size(); ++i) groups[i].options().set_lr(lr * multipliers_[i]);
}

}  // namespace rsd::train
