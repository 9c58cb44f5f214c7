// Running modules on the meta device in tests, to catch tensors made on a fixed device instead of
// their inputs' (docs/training.md#devices):
//   * install_missing_meta_kernels(): shape-only Meta kernels that libtorch 1.13 has only in Python
//     (torch/_meta_registrations.py): convolution, batch and layer norm, embedding (index_select),
//     where, relu, abs, flip, log_sigmoid and dropout, forward and backward; equal (false: unknown), which
//     libtorch's C++ multi-head attention calls to pick a self-attention shortcut;
//   * move_to_meta(): a module's parameters and buffers turned into meta tensors in place (1.13's
//     Module::to refuses meta: set_data() finds CPU and meta tensors incompatible);
//   * CpuTensorTripwire: records every op that gets a CPU tensor beside meta ones while it lives.
//     With every input and weight on meta, such a CPU tensor was made on a fixed device. Meta
//     kernels alone would not catch it everywhere: cat and others accept a CPU operand silently.
//     Explicit copies are exempt: torch::tensor(host_data, input.options()) stages on the CPU.
#pragma once

#include <torch/nn/module.h>

#include <cstdint>
#include <string>
#include <vector>

namespace rsd::test {

/// Registers a Meta kernel for each of those ops that has none in this libtorch (a newer libtorch
/// with its own keeps it). Idempotent. Returns the ops it registered, for the test's log.
const std::vector<std::string>& install_missing_meta_kernels();

/// Every parameter and buffer of `module` (recursively) becomes an uninitialised meta tensor of
/// the same shape and dtype, keeping its identity (requires_grad, the module's own handles).
void move_to_meta(torch::nn::Module& module);

/// While alive (on this thread), notes each op (copies excepted) whose inputs hold a meta tensor
/// and a CPU tensor with at least one dimension (0-dim CPU tensors are scalars, which every
/// device accepts).
class CpuTensorTripwire {
 public:
  CpuTensorTripwire();
  ~CpuTensorTripwire();
  CpuTensorTripwire(const CpuTensorTripwire&) = delete;
  CpuTensorTripwire& operator=(const CpuTensorTripwire&) = delete;

  /// One line per op that mixed them so far, naming the op and the CPU tensor's sizes.
  std::vector<std::string> cpu_tensors() const;

 private:
  uint64_t handle_;
};

}  // namespace rsd::test
