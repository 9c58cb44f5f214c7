// Where a process sits in a data-parallel job and how it meets the others: `dist:` of the config
// (rsd::pipeline::dist_options_from), overridden by the torchrun-style environment variables
// MASTER_ADDR, MASTER_PORT, RANK, WORLD_SIZE and LOCAL_RANK when they are set.
#pragma once

#include <c10/core/Device.h>

#include <string>

namespace rsd::dist {

struct DistOptions {
  std::string backend = "auto";          // auto | gloo | nccl (resolve_backend)
  std::string master_addr = "127.0.0.1";
  int master_port = 29500;
  int rank = 0;
  int world_size = 1;
  int local_rank = 0;
  double timeout_s = 60.0;               // a dead peer or an unreachable master is an error after this
  double bucket_mb = 25.0;               // gradient all-reduce bucket size

  bool distributed() const { return world_size > 1; }
};

/// `options` with the torchrun variables of this process's environment applied, then validated.
/// Throws rsd::ConfigError naming the key or variable holding a malformed value (rank outside
/// [0, world_size), a port outside 1..65535, ...).
DistOptions with_environment(DistOptions options);

/// Whether this build's libtorch has NCCL (dist.backend nccl can work; a GPU is still needed).
bool nccl_available();

/// The c10d backend dist.backend means for ranks computing on `device`: `auto` is nccl for a CUDA
/// device when libtorch has NCCL (`nccl`: it all-reduces GPU memory directly), else gloo (which
/// also all-reduces CUDA tensors, through host memory); gloo and nccl stay as given (nccl on the
/// CPU or without NCCL is refused later, by rsd::pipeline::check_backend_for_device and the
/// Communicator).
std::string resolve_backend(const std::string& backend, const c10::Device& device,
                            bool nccl = nccl_available());

}  // namespace rsd::dist
