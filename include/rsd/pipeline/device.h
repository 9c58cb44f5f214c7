// run.device: the device a process computes on, chosen once by the composition layer. Below it
// every module, loss and metric follows its inputs' device; only the jobs move the model and the
// batches there.
//
//   auto     CUDA when libtorch has it and a GPU is visible, else the CPU
//   cpu      the CPU
//   cuda     the GPU of LOCAL_RANK (0 in a single process): one GPU per rank under --nproc/torchrun
//   cuda:N   GPU N, whatever the rank
#pragma once

#include <torch/types.h>

#include <string>

namespace rsd::pipeline {

/// run.device as written, checked for syntax but not yet against the machine.
struct DeviceRequest {
  enum class Kind { automatic, cpu, cuda };
  Kind kind = Kind::automatic;
  int index = -1;            // N of cuda:N; -1: the GPU of LOCAL_RANK
  std::string text = "auto"; // as written, for messages
};

/// What this process can compute on.
struct DeviceAvailability {
  bool libtorch_has_cuda = false;  // this libtorch was built with CUDA (libtorch_cuda is linked)
  int gpus = 0;                    // GPUs visible to the process (0 without CUDA)

  /// The libtorch this program runs with and the GPUs it sees.
  static DeviceAvailability of_this_process();
};

/// Parses `text` (auto | cpu | cuda | cuda:N). Throws rsd::ConfigError naming `key` otherwise.
DeviceRequest parse_device(const std::string& text, const std::string& key = "run.device");

/// The device `request` means for the process of `local_rank` on a machine offering `available`.
/// Throws rsd::ConfigError naming `key` and what is missing when it asks for CUDA that is not
/// there: "this libtorch has no CUDA" (a CPU build), "no GPU is visible", or GPU N beyond the
/// visible count. `auto` never throws: it falls back to the CPU.
torch::Device resolve_device(const DeviceRequest& request, int local_rank,
                             const DeviceAvailability& available,
                             const std::string& key = "run.device");

/// dist.backend against the device the ranks compute on: nccl all-reduces CUDA tensors only.
/// Throws rsd::ConfigError naming dist.backend (and run.device) when they do not fit.
void check_backend_for_device(const std::string& backend, const torch::Device& device);

/// Makes `device` the current CUDA device of the calling thread (what ProcessGroupNCCL, cuDNN and
/// CUDA tensors made without an index use), so that each rank works on the GPU of its LOCAL_RANK
/// and opens no context on another rank's GPU. Does nothing for the CPU. Call it before the
/// Communicator is built.
void set_current_device(const torch::Device& device);

/// Whether host batches are worth pinning before copying them to `device` (a CUDA device, with a
/// libtorch that has CUDA); pinning on a CPU-only libtorch would fail, so it is skipped there.
bool pin_memory_for(const torch::Device& device);

}  // namespace rsd::pipeline
