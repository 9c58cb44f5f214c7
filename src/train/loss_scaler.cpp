#include "rsd/train/loss_scaler.h"

#include <torch/serialize/input-archive.h>
#include <torch/serialize/output-archive.h>

#include <cmath>

#include "rsd/util/error.h"

namespace rsd::train {
namespace {

constexpr const char* kScaleKey = "scale";
constexpr const char* kGoodStepsKey = "good_steps";

}  // namespace

DynamicLossScaler::DynamicLossScaler(LossScalerOptions options)
    : options_(options), scale_(options.init_scale) {
  RSD_CHECK(std::isfinite(options_.init_scale) && options_.init_scale > 0.0,
            "the initial loss scale must be positive and finite, got ", options_.init_scale);
  RSD_CHECK(options_.growth_factor > 1.0, "the loss scale's growth factor must exceed 1, got ",
            options_.growth_factor);
  RSD_CHECK(options_.backoff_factor > 0.0 && options_.backoff_factor < 1.0,
            "the loss scale's backoff factor must lie in (0, 1), got ", options_.backoff_factor);
  RSD_CHECK(options_.growth_interval >= 1, "the loss scale's growth interval must be >= 1, got ",
            options_.growth_interval);
}

torch::Tensor DynamicLossScaler::scale(const torch::Tensor& loss) const { return loss * scale_; }

bool DynamicLossScaler::unscale(const std::vector<torch::Tensor>& parameters) {
  // One device-side flag for all gradients, read back once: no sync per parameter.
  torch::Tensor all_finite;
  const double inverse = 1.0 / scale_;
  for (const auto& parameter : parameters) {
    torch::Tensor grad = parameter.grad();
    if (!grad.defined()) continue;
    grad.mul_(inverse);
    const torch::Tensor finite = torch::isfinite(grad).all();
    all_finite = all_finite.defined() ? all_finite.logical_and(finite) : finite;
  }
  found_overflow_ = all_finite.defined() && !all_finite.item<bool>();
  return !found_overflow_;
}

void DynamicLossScaler::update(bool overflow) {
  if (overflow || found_overflow_) {
    scale_ *= options_.backoff_factor;
    good_steps_ = 0;
  } else if (++good_steps_ >= options_.growth_interval) {
    scale_ *= options_.growth_factor;
    good_steps_ = 0;
  }
  found_overflow_ = false;
}

void DynamicLossScaler::save(torch::serialize::OutputArchive& archive) const {
  archive.write(kScaleKey, torch::full({}, scale_, torch::kFloat64));
  archive.write(kGoodStepsKey, torch::full({}, good_steps_, torch::kInt64));
}

void DynamicLossScaler::load(torch::serialize::InputArchive& archive) {
  torch::Tensor scale;
  torch::Tensor good_steps;
  RSD_CHECK(archive.try_read(kScaleKey, scale) && archive.try_read(kGoodStepsKey, good_steps),
            "the checkpoint holds no loss-scaler state ('", kScaleKey, "', '", kGoodStepsKey, "')");
  const double value = scale.item<double>();
  RSD_CHECK(std::isfinite(value) && value > 0.0, "the checkpoint's loss scale is ", value,
            ": must be positive and finite");
  scale_ = value;
  good_steps_ = good_steps.item<int64_t>();
  found_overflow_ = false;
}

}  // namespace rsd::train
