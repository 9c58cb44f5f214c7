// Mixed-precision training (train.amp): autocast around a model's forward, losses kept in fp32,
// and the dynamic loss scale that float16 needs (rsd/train/loss_scaler.h).
//
//   {
//     rsd::AutocastScope autocast(device, rsd::Precision::bf16);
//     output = model->forward(batch);      // convolutions and matrix products in bfloat16
//     rsd::AutocastPause fp32;      // the losses in fp32 ...
//     loss = loss_fn(rsd::at_least_float(output.logits), target);  // ... on fp32 inputs
//   }
//
// Autocast is libtorch's: each op it knows runs in the reduced type or in fp32 by its own policy
// (per device type). The Trainer opens the scope around TrainModule::training_step and
// validation_step; a module that needs exact losses pauses it, as E2ELoss does.
#pragma once

#include <c10/core/Device.h>
#include <c10/core/ScalarType.h>
#include <torch/types.h>

#include <string>

namespace rsd {

enum class Precision {
  fp32,  // no autocast ("none" in configs)
  bf16,  // autocast to bfloat16: fp32's range, no loss scale needed
  fp16,  // autocast to float16: needs a dynamic loss scale (DynamicLossScaler)
};

/// "none" | "bf16" | "fp16" -> Precision; throws rsd::Error naming the valid values otherwise.
Precision parse_precision(const std::string& text);
/// The config spelling: "none", "bf16" or "fp16".
std::string to_string(Precision precision);
/// The reduced dtype autocast casts to (kFloat for fp32).
c10::ScalarType reduced_dtype(Precision precision);

/// Whether this libtorch can autocast on `device` at `precision` (fp32 always can): CUDA takes
/// both; the CPU takes bf16, and fp16 too with libtorch >= 2.4.
bool autocast_supported(const c10::Device& device, Precision precision);

/// Autocast on for the device type of `device` at `precision` until the scope ends, then the
/// previous state back (scopes nest; the cast cache is cleared when the outermost one ends).
/// Precision::fp32 does nothing. Throws rsd::Error when !autocast_supported(device, precision).
class AutocastScope {
 public:
  AutocastScope(const c10::Device& device, Precision precision);
  ~AutocastScope();
  AutocastScope(const AutocastScope&) = delete;
  AutocastScope& operator=(const AutocastScope&) = delete;

 private:
  c10::DeviceType device_type_;
  bool active_ = false;
  bool was_enabled_ = false;
  c10::ScalarType previous_dtype_ = c10::ScalarType::Float;
};

/// Autocast off on the CPU and CUDA until the scope ends (ops run in their inputs' dtypes), then
/// as before.
class AutocastPause {
 public:
  AutocastPause();
  ~AutocastPause();
  AutocastPause(const AutocastPause&) = delete;
  AutocastPause& operator=(const AutocastPause&) = delete;

 private:
  bool cpu_was_enabled_;
  bool cuda_was_enabled_;
};

/// `tensor` in at least fp32: half and bfloat16 become float, float and double (and undefined
/// or integer tensors) stay as they are. Differentiable (a cast).
torch::Tensor at_least_float(const torch::Tensor& tensor);

}  // namespace rsd
