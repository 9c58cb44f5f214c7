// The dynamic loss scale of float16 training: float16 gradients of small losses underflow to
// zero, so the loss is multiplied by a large scale before backward and the gradients divided by
// it before the update. A step whose gradients hold an inf or NaN (the scale was too large) is
// skipped and the scale lowered; after growth_interval good steps in a row it is raised again.
// The state (scale, good steps) is saved in checkpoints, so a resumed run continues with it.
//
//   scaler.scale(loss).backward();
//   if (scaler.unscale(parameters)) optimizer.step();   // false: overflow, skip the update
//   scaler.update();
#pragma once

#include <torch/types.h>

#include <cstdint>
#include <vector>

namespace torch::serialize {
class InputArchive;
class OutputArchive;
}  // namespace torch::serialize

namespace rsd::train {

struct LossScalerOptions {
  double init_scale = 65536.0;    // 2^16, as PyTorch's GradScaler
  double growth_factor = 2.0;     // scale *= this after growth_interval good steps in a row
  double backoff_factor = 0.5;    // scale *= this after a step with inf/NaN gradients
  int64_t growth_interval = 2000;
};

class DynamicLossScaler {
 public:
  /// Throws rsd::Error on a non-positive scale, growth_factor <= 1, backoff_factor outside (0, 1)
  /// or growth_interval < 1.
  explicit DynamicLossScaler(LossScalerOptions options = {});

  /// loss * scale (the loss's dtype and device).
  torch::Tensor scale(const torch::Tensor& loss) const;

  /// Divides every defined gradient of `parameters` by the scale, in place, and returns whether
  /// all of them are finite. Must be called once per step, before update().
  bool unscale(const std::vector<torch::Tensor>& parameters);

  /// Ends the step: lowers the scale when the last unscale() found inf/NaN (or `overflow` says
  /// so: a non-finite loss), else counts a good step and raises the scale after growth_interval.
  void update(bool overflow = false);

  double scale_value() const { return scale_; }
  int64_t good_steps() const { return good_steps_; }
  /// Whether the last unscale() found inf/NaN.
  bool found_overflow() const { return found_overflow_; }

  void save(torch::serialize::OutputArchive& archive) const;
  /// Restores what save() wrote; throws rsd::Error when the archive lacks it or holds a
  /// non-positive scale.
  void load(torch::serialize::InputArchive& archive);

 private:
  LossScalerOptions options_;
  double scale_;
  int64_t good_steps_ = 0;
  bool found_overflow_ = false;
};

}  // namespace rsd::train
