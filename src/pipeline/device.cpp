#include "rsd/pipeline/device.h"

#include <ATen/Context.h>
#include <c10/core/impl/DeviceGuardImplInterface.h>
#include <torch/cuda.h>

#include <algorithm>
#include <cctype>

#include "rsd/util/error.h"

namespace rsd::pipeline {
namespace {

std::string quoted(const std::string& text) { return "'" + text + "'"; }

// A config key or a command-line flag (rsd_bench --device), as messages name them.
bool is_flag(const std::string& key) { return key.rfind("--", 0) == 0; }

std::string named(const std::string& key) {
  return (is_flag(key) ? "flag " : "config key ") + quoted(key);
}

std::string use_cpu(const std::string& key) {
  return is_flag(key) ? "pass " + key + " cpu" : "set " + key + ": cpu";
}

std::string gpu_count_text(int gpus) {
  return std::to_string(gpus) + (gpus == 1 ? " GPU is" : " GPUs are");
}

}  // namespace

DeviceAvailability DeviceAvailability::of_this_process() {
  DeviceAvailability available;
  // True exactly when libtorch_cuda registered its hooks (a CUDA build), with or without a GPU.
  available.libtorch_has_cuda = at::Context::hasCUDART();
  available.gpus = available.libtorch_has_cuda ? static_cast<int>(torch::cuda::device_count()) : 0;
  return available;
}

DeviceRequest parse_device(const std::string& text, const std::string& key) {
  DeviceRequest request;
  request.text = text;
  if (text == "auto") return request;
  if (text == "cpu") {
    request.kind = DeviceRequest::Kind::cpu;
    return request;
  }
  const std::string cuda = "cuda";
  if (text.compare(0, cuda.size(), cuda) == 0) {
    request.kind = DeviceRequest::Kind::cuda;
    if (text.size() == cuda.size()) return request;
    const std::string number = text.substr(cuda.size() + 1);
    const bool digits = text[cuda.size()] == ':' && !number.empty() && number.size() <= 4 &&
                        std::all_of(number.begin(), number.end(),
                                    [](char c) { return std::isdigit(static_cast<unsigned char>(c)); });
    if (digits) {
      request.index = std::stoi(number);
      return request;
    }
  }
  throw ConfigError(named(key) + " is " + quoted(text) +
                    "; valid: auto, cpu, cuda (the GPU of LOCAL_RANK), cuda:N");
}

torch::Device resolve_device(const DeviceRequest& request, int local_rank,
                             const DeviceAvailability& available, const std::string& key) {
  switch (request.kind) {
    case DeviceRequest::Kind::cpu:
      return torch::Device(torch::kCPU);
    case DeviceRequest::Kind::automatic:
      if (!available.libtorch_has_cuda || available.gpus == 0) return torch::Device(torch::kCPU);
      // One GPU per rank; ranks beyond the GPUs share them round-robin rather than fail.
      return torch::Device(torch::kCUDA,
                           static_cast<c10::DeviceIndex>(local_rank % available.gpus));
    case DeviceRequest::Kind::cuda:
      break;
  }
  const std::string what = named(key) + " is " + quoted(request.text) + " but ";
  if (!available.libtorch_has_cuda) {
    throw ConfigError(what +
                      "this libtorch has no CUDA (a CPU-only build, such as Debian's libtorch); "
                      "build against a CUDA libtorch (scripts/setup.sh --torch pypi) or " +
                      use_cpu(key));
  }
  if (available.gpus == 0) {
    throw ConfigError(what +
                      "no GPU is visible to this process (check nvidia-smi and "
                      "CUDA_VISIBLE_DEVICES), or " + use_cpu(key));
  }
  const int index = request.index >= 0 ? request.index : local_rank;
  if (index >= available.gpus) {
    throw ConfigError(what + "needs GPU " + std::to_string(index) +
                      (request.index >= 0 ? "" : " (the GPU of LOCAL_RANK " +
                                                     std::to_string(local_rank) + ")") +
                      " and only " + gpu_count_text(available.gpus) + " visible");
  }
  return torch::Device(torch::kCUDA, static_cast<c10::DeviceIndex>(index));
}

void check_backend_for_device(const std::string& backend, const torch::Device& device) {
  if (backend == "nccl" && !device.is_cuda()) {
    std::string text = "config key 'dist.backend' is 'nccl', which all-reduces CUDA tensors only, "
                       "but run.device resolves to " + device.str();
    if (!at::Context::hasCUDART()) text += " (this libtorch has no CUDA, so it has no NCCL either)";
    throw ConfigError(text + "; use dist.backend: gloo on the CPU");
  }
}

void set_current_device(const torch::Device& device) {
  if (!device.is_cuda()) return;
  // Through the device-generic guard interface rather than c10::cuda (c10_cuda is not there to link
  // in a CPU-only build); only a libtorch with CUDA resolves a CUDA device in the first place.
  c10::impl::getDeviceGuardImpl(device.type())->setDevice(device);
}

bool pin_memory_for(const torch::Device& device) {
  return device.is_cuda() && at::Context::hasCUDART();
}

}  // namespace rsd::pipeline
