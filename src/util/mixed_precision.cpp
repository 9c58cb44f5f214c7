#include "rsd/util/mixed_precision.h"

#include "rsd/util/error.h"
#include "rsd/util/torch_compat.h"

namespace rsd {

Precision parse_precision(const std::string& text) {
  if (text == "none") return Precision::fp32;
  if (text == "bf16") return Precision::bf16;
  if (text == "fp16") return Precision::fp16;
  throw Error("mixed precision '" + text + "' is not known (valid: none, bf16, fp16)");
}

std::string to_string(Precision precision) {
  switch (precision) {
    case Precision::bf16:
      return "bf16";
    case Precision::fp16:
      return "fp16";
    case Precision::fp32:
      break;
  }
  return "none";
}

c10::ScalarType reduced_dtype(Precision precision) {
  switch (precision) {
    case Precision::bf16:
      return c10::ScalarType::BFloat16;
    case Precision::fp16:
      return c10::ScalarType::Half;
    case Precision::fp32:
      break;
  }
  return c10::ScalarType::Float;
}

bool autocast_supported(const c10::Device& device, Precision precision) {
  return precision == Precision::fp32 ||
         torch_compat::autocast_supports(device.type(), reduced_dtype(precision));
}

AutocastScope::AutocastScope(const c10::Device& device, Precision precision)
    : device_type_(device.type()) {
  if (precision == Precision::fp32) return;
  RSD_CHECK(autocast_supported(device, precision), "mixed precision ", to_string(precision),
            " is not available on ", device.str(), " with this libtorch (",
            device.is_cpu() ? "its CPU autocast takes bf16 only" : "no autocast for this device",
            ")");
  was_enabled_ = torch_compat::autocast_enabled(device_type_);
  previous_dtype_ = torch_compat::autocast_dtype(device_type_);
  torch_compat::set_autocast_dtype(device_type_, reduced_dtype(precision));
  torch_compat::set_autocast_enabled(device_type_, true);
  at::autocast::increment_nesting();
  active_ = true;
}

AutocastScope::~AutocastScope() {
  if (!active_) return;
  // The casts autocast cached for this forward (weights in the reduced type) are only valid
  // while the weights do not change: drop them when the outermost scope closes.
  if (at::autocast::decrement_nesting() == 0) at::autocast::clear_cache();
  torch_compat::set_autocast_enabled(device_type_, was_enabled_);
  torch_compat::set_autocast_dtype(device_type_, previous_dtype_);
}

AutocastPause::AutocastPause()
    : cpu_was_enabled_(torch_compat::autocast_enabled(c10::DeviceType::CPU)),
      cuda_was_enabled_(torch_compat::autocast_enabled(c10::DeviceType::CUDA)) {
  torch_compat::set_autocast_enabled(c10::DeviceType::CPU, false);
  torch_compat::set_autocast_enabled(c10::DeviceType::CUDA, false);
}

AutocastPause::~AutocastPause() {
  torch_compat::set_autocast_enabled(c10::DeviceType::CPU, cpu_was_enabled_);
  torch_compat::set_autocast_enabled(c10::DeviceType::CUDA, cuda_was_enabled_);
}

torch::Tensor at_least_float(const torch::Tensor& tensor) {
  if (!tensor.defined()) return tensor;
  const c10::ScalarType dtype = tensor.scalar_type();
  if (dtype == c10::ScalarType::Half || dtype == c10::ScalarType::BFloat16) {
    return tensor.to(c10::ScalarType::Float);
  }
  return tensor;
}

}  // namespace rsd
