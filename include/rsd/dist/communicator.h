// The processes of a data-parallel job, over libtorch's own c10d: a TCPStore rendezvous at
// MASTER_ADDR:MASTER_PORT (rank 0 serves it) and a process group: ProcessGroupGloo, or
// ProcessGroupNCCL for ranks computing on GPUs (a libtorch with CUDA and NCCL, such as PyPI's).
// Every Gloo collective waits at most dist.timeout_s: a dead peer, an unreachable master or a port
// already in use becomes an rsd::Error on every surviving rank, never a hang. NCCL collectives run
// on the GPU's streams; NCCL's own watchdog ends a rank whose collective outlives dist.timeout_s.
#pragma once

#include <torch/nn/module.h>
#include <torch/types.h>

#include <memory>
#include <string>
#include <vector>

#include "rsd/dist/dist_options.h"

namespace rsd::dist {

class Communicator {
 public:
  /// Joins the job as a rank computing on `device` (the GPU of its LOCAL_RANK, or the CPU), with
  /// options.backend resolved for it (resolve_backend: auto is nccl on a GPU, gloo on the CPU).
  /// For nccl, make `device` the current CUDA device first (rsd::pipeline::set_current_device).
  /// With world_size 1 nothing is opened and every collective is a no-op. Throws
  /// rsd::ConfigError naming dist.backend for nccl on the CPU or without NCCL in libtorch.
  explicit Communicator(const DistOptions& options, const c10::Device& device = c10::kCPU);
  ~Communicator();
  Communicator(const Communicator&) = delete;
  Communicator& operator=(const Communicator&) = delete;

  int rank() const { return options_.rank; }
  int world_size() const { return options_.world_size; }
  bool is_main() const { return options_.rank == 0; }
  /// The options joined with; options().backend is the resolved one (gloo or nccl).
  const DistOptions& options() const { return options_; }
  /// The device this rank computes on.
  const c10::Device& device() const { return device_; }
  /// Where tensors handed to the collectives of values (mean) live: the rank's GPU for nccl,
  /// which reduces CUDA tensors only, else the CPU.
  const c10::Device& value_device() const { return value_device_; }

  /// Sums `tensors` (contiguous, same shapes on every rank) across ranks, in place.
  void all_reduce_sum(std::vector<torch::Tensor>& tensors);
  /// Starts a sum; `wait` on the returned handle finishes it (used to overlap with backward).
  class Pending;
  std::unique_ptr<Pending> all_reduce_sum_async(std::vector<torch::Tensor>& tensors);
  /// Copies rank `root`'s `tensors` to every rank, in place.
  void broadcast(std::vector<torch::Tensor>& tensors, int root = 0);
  /// Copies rank `root`'s `bytes` to every rank (the others' are replaced): its length, then the
  /// bytes, each one collective.
  void broadcast_bytes(std::string& bytes, int root = 0);
  void barrier();

  /// The mean of `value` over ranks (metrics).
  double mean(double value);
  /// The element-wise mean of `values` over ranks, in one collective (same length on every rank).
  std::vector<double> mean(std::vector<double> values);

 private:
  struct Group;
  DistOptions options_;
  c10::Device device_;
  c10::Device value_device_;
  std::unique_ptr<Group> group_;
};

/// A collective in flight.
class Communicator::Pending {
 public:
  virtual ~Pending() = default;
  /// Finishes the collective: Gloo blocks until it is done; NCCL makes the current CUDA stream
  /// wait for it (reading the result on the host, item() or a copy, then waits too). Throws
  /// rsd::Error when it failed or took longer than the timeout.
  virtual void wait() = 0;
};

/// Gives every rank rank 0's parameters and buffers (call once after building the model).
void broadcast_module(Communicator& communicator, torch::nn::Module& module);

/// Gives every rank rank 0's buffers (BatchNorm running statistics and counters), as
/// DistributedDataParallel does before each forward (broadcast_buffers): each rank's training
/// forward updates them from its own batch only. One broadcast per dtype and device, of all the
/// buffers concatenated.
void broadcast_buffers(Communicator& communicator, torch::nn::Module& module);

}  // namespace rsd::dist
