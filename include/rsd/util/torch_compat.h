// Every difference between the libtorch versions librsd builds against, in one place: Debian's
// libtorch 1.13 (CPU, the default) and PyPI's torch 2.x (CUDA; scripts/setup.sh --torch pypi).
// Code uses the names below instead of testing the version itself; a new difference goes here.
// Only included by .cpp files: no public header of librsd depends on the libtorch version.
#pragma once

#include <torch/version.h>  // TORCH_VERSION_MAJOR, TORCH_VERSION_MINOR

#include <ATen/autocast_mode.h>
#include <c10/core/Allocator.h>
#include <torch/csrc/autograd/variable.h>

#include <cstddef>
#include <sstream>
#include <string>
#include <type_traits>
#include <utility>

/// True when the libtorch being compiled against is at least major.minor.
#define RSD_TORCH_AT_LEAST(major, minor) \
  (TORCH_VERSION_MAJOR > (major) ||      \
   (TORCH_VERSION_MAJOR == (major) && TORCH_VERSION_MINOR >= (minor)))

/// 1 when this libtorch has NCCL and librsd's NCCL path builds against it: USE_C10D_NCCL is what
/// torch's own ProcessGroupNCCL.hpp tests (the torch_cuda target of a CUDA + NCCL build defines
/// it; Debian's CPU libtorch does not), and the path needs 2.3's ProcessGroupNCCL, a c10d::Backend
/// that can be bound to the rank's GPU (setBoundDeviceId).
#if defined(USE_C10D_NCCL) && RSD_TORCH_AT_LEAST(2, 3)
#define RSD_TORCH_HAS_NCCL 1
#else
#define RSD_TORCH_HAS_NCCL 0
#endif

namespace c10d {
class ProcessGroup;
class Backend;
}  // namespace c10d

namespace rsd::torch_compat {

/// What c10d's ProcessGroupGloo (and ProcessGroupNCCL) derive from, and what the communicator
/// holds: 1.13's process groups run the collectives themselves; since 2.0 they are a Backend that
/// a ProcessGroup dispatches to, and the Backend alone still runs allreduce/broadcast/barrier.
#if RSD_TORCH_AT_LEAST(2, 0)
using CollectiveBackend = c10d::Backend;
#else
using CollectiveBackend = c10d::ProcessGroup;
#endif

/// An owning pointer to an autograd graph node (a leaf's gradient accumulator, whose post hooks
/// the bucketed all-reduce uses): std::shared_ptr in 1.13, c10::intrusive_ptr in recent 2.x.
/// Taken from grad_accumulator()'s own return type rather than from a version number.
using NodePtr = decltype(torch::autograd::impl::grad_accumulator(
    std::declval<const torch::autograd::Variable&>()));

/// A c10::Allocator to derive from, whatever the version: 1.13's allocate() is const, since 2.3 it
/// is not and copy_data() (pure virtual there) joined it. Derived classes implement
/// allocate_bytes(); copying uses c10's memcpy default.
class Allocator : public c10::Allocator {
 public:
#if RSD_TORCH_AT_LEAST(2, 3)
  c10::DataPtr allocate(std::size_t bytes) override { return allocate_bytes(bytes); }
  void copy_data(void* dest, const void* src, std::size_t count) const override {
    default_copy_data(dest, src, count);
  }
#else
  c10::DataPtr allocate(std::size_t bytes) const override { return allocate_bytes(bytes); }
#endif

 protected:
  virtual c10::DataPtr allocate_bytes(std::size_t bytes) const = 0;
};

/// Autocast per device type: 1.13 has one switch per backend (set_enabled is CUDA's,
/// set_cpu_enabled the CPU's) and its CPU autocast casts to bfloat16 only; 2.x takes the device
/// type and lets the CPU autocast to float16 as well.
inline bool autocast_enabled(c10::DeviceType device) {
#if RSD_TORCH_AT_LEAST(2, 4)
  return at::autocast::is_autocast_enabled(device);
#else
  return device == c10::DeviceType::CPU ? at::autocast::is_cpu_enabled() : at::autocast::is_enabled();
#endif
}

inline void set_autocast_enabled(c10::DeviceType device, bool enabled) {
#if RSD_TORCH_AT_LEAST(2, 4)
  at::autocast::set_autocast_enabled(device, enabled);
#else
  if (device == c10::DeviceType::CPU) {
    at::autocast::set_cpu_enabled(enabled);
  } else {
    at::autocast::set_enabled(enabled);
  }
#endif
}

inline c10::ScalarType autocast_dtype(c10::DeviceType device) {
#if RSD_TORCH_AT_LEAST(2, 4)
  return at::autocast::get_autocast_dtype(device);
#else
  return device == c10::DeviceType::CPU ? at::autocast::get_autocast_cpu_dtype()
                                        : at::autocast::get_autocast_gpu_dtype();
#endif
}

inline void set_autocast_dtype(c10::DeviceType device, c10::ScalarType dtype) {
#if RSD_TORCH_AT_LEAST(2, 4)
  at::autocast::set_autocast_dtype(device, dtype);
#else
  if (device == c10::DeviceType::CPU) {
    at::autocast::set_autocast_cpu_dtype(dtype);
  } else {
    at::autocast::set_autocast_gpu_dtype(dtype);
  }
#endif
}

/// Whether this libtorch can autocast on `device` to `dtype` (bfloat16 or float16).
inline bool autocast_supports(c10::DeviceType device, c10::ScalarType dtype) {
  if (device == c10::DeviceType::CUDA) return true;
  if (device != c10::DeviceType::CPU) return false;
#if RSD_TORCH_AT_LEAST(2, 4)
  return dtype == c10::ScalarType::BFloat16 || dtype == c10::ScalarType::Half;
#else
  return dtype == c10::ScalarType::BFloat16;
#endif
}

/// The entry of `parameter` in an optimiser's state map (torch::optim::Optimizer::state()), or
/// states.end(): libtorch 1.13 keys the map by the printed TensorImpl address, 2.x by the address.
template <class StateMap>
auto find_optimizer_state(StateMap& states, const torch::Tensor& parameter) {
  using Key = typename std::decay_t<StateMap>::key_type;
  c10::TensorImpl* impl = parameter.unsafeGetTensorImpl();
  if constexpr (std::is_same_v<Key, std::string>) {
    std::ostringstream text;
    text << impl;
    return states.find(text.str());
  } else {
    return states.find(impl);
  }
}

}  // namespace rsd::torch_compat
