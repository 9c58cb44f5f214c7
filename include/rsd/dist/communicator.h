// The processes of a data-parallel job, over libtorch's own c10d: a TCPStore rendezvous at
// MASTER_ADDR:MASTER_PORT (rank 0 serves it) and a ProcessGroupGloo (ProcessGroupNCCL in CUDA
// builds). Every collective waits at most dist.timeout_s: a dead peer, an unreachable master or a
// port already in use becomes an rsd::Error on every surviving rank, never a hang.
#pragma once

#include <torch/nn/module.h>
#include <torch/types.h>

#include <memory>
#include <vector>

#include "rsd/dist/dist_options.h"

namespace rsd::dist {

class Communicator {
 public:
  /// Joins the job. With world_size 1 nothing is opened and every collective is a no-op.
  explicit Communicator(const DistOptions& options);
  ~Communicator();
  Communicator(const Communicator&) = delete;
  Communicator& operator=(const Communicator&) = delete;

  int rank() const { return options_.rank; }
  int world_size() const { return options_.world_size; }
  bool is_main() const { return options_.rank == 0; }
  const DistOptions& options() const { return options_; }

  /// Sums `tensors` (contiguous, same shapes on every rank) across ranks, in place.
  void all_reduce_sum(std::vector<torch::Tensor>& tensors);
  /// Starts a sum; `wait` on the returned handle finishes it (used to overlap with backward).
  class Pending;
  std::unique_ptr<Pending> all_reduce_sum_async(std::vector<torch::Tensor>& tensors);
  /// Copies rank `root`'s `tensors` to every rank, in place.
  void broadcast(std::vector<torch::Tensor>& tensors, int root = 0);
  void barrier();

  /// The mean of `value` over ranks (metrics).
  double mean(double value);

 private:
  struct Group;
  DistOptions options_;
  std::unique_ptr<Group> group_;
};

/// A collective in flight.
class Communicator::Pending {
 public:
  virtual ~Pending() = default;
  /// Blocks until done; throws rsd::Error when it failed or took longer than the timeout.
  virtual void wait() = 0;
};

/// Gives every rank rank 0's parameters and buffers (call once after building the model).
void broadcast_module(Communicator& communicator, torch::nn::Module& module);

}  // namespace rsd::dist
