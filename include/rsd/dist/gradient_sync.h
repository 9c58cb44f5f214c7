// Data-parallel gradient averaging (libtorch's C++ frontend has no DistributedDataParallel).
// Parameters are grouped into buckets of about dist.bucket_mb, in reverse registration order (the
// order their gradients tend to be ready). A hook after each parameter's gradient accumulation
// starts a bucket's all-reduce as soon as the bucket is complete, so communication overlaps the
// rest of the backward pass. Buckets are always started in bucket order, so every rank issues the
// same collectives in the same order; a parameter without a gradient on some ranks counts as zeros
// there, and one without a gradient on every rank keeps an undefined gradient, as in one process.
#pragma once

#include <torch/types.h>

#include <memory>
#include <vector>

namespace rsd::dist {

class Communicator;

class GradientSynchronizer {
 public:
  GradientSynchronizer(std::shared_ptr<Communicator> communicator,
                       std::vector<torch::Tensor> parameters, double bucket_mb);
  ~GradientSynchronizer();
  GradientSynchronizer(const GradientSynchronizer&) = delete;
  GradientSynchronizer& operator=(const GradientSynchronizer&) = delete;

  /// Call before the backward of the last micro-batch of an optimiser step: that backward starts
  /// the all-reduces. Backwards of earlier micro-batches (gradient accumulation) only accumulate.
  void arm();

  /// Call after that backward: finishes every bucket and leaves the gradients averaged over ranks
  /// in .grad. Throws rsd::Error when a peer fails or times out.
  void finish();

  int64_t bucket_count() const;
  /// Seconds spent waiting for communication in the last finish() (not overlapped with backward).
  double last_wait_seconds() const;

 private:
  struct State;
  std::shared_ptr<State> state_;
};

}  // namespace rsd::dist
