// The loader: worker threads build batches ahead of training into a bounded queue, in an order
// fixed by the seed alone.
//
//   rsd::data::Loader loader(dataset, options);
//   for (int64_t epoch = 0; epoch < epochs; ++epoch) {
//     loader.start_epoch(epoch);
//     while (std::optional<rsd::data::Batch> batch = loader.next()) train_step(*batch);
//   }
//
// Order: epoch e shuffles all sample indices with a permutation seeded by (seed, e) (or keeps them
// in order without shuffling); rank r of W takes positions r, r + W, r + 2W, ... of it (the list
// is first cut to a multiple of W with drop_last, else padded by wrapping around, so that every
// rank gets the same number of batches, unless pad_shards is off); consecutive runs of batch_size
// form the batches. Batch b
// is therefore the same whatever the number of workers, and sample i of it is drawn with
// dataset.get(i, e), whose augmentation depends only on (seed, e, i).
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <vector>

#include "rsd/data/batch.h"
#include "rsd/data/dataset.h"

namespace rsd::data {

struct LoaderOptions {
  int64_t batch_size = 2;
  int64_t workers = 2;      // threads building batches; 0 builds them in the caller's thread
  int64_t prefetch = 4;     // batches built ahead of the consumer (at least 1)
  bool shuffle = true;
  bool drop_last = true;    // drop the last incomplete batch (and cut the sample list to a multiple of world_size)
  /// Without drop_last: pad the sample list by wrapping around to a multiple of world_size, so
  /// that every rank gets the same number of batches (training needs it: every step is a
  /// collective). Off for evaluation: every sample is seen exactly once, so a mean over the ranks'
  /// samples is the mean over the set, and ranks may get one batch fewer (or none).
  bool pad_shards = true;
  uint64_t seed = 42;       // run.seed
  int64_t rank = 0;
  int64_t world_size = 1;
  /// Pin every batch, in the worker that builds it, when `destination` is a GPU: page-locked host
  /// memory lets the copy to the GPU be non_blocking without pinning on the training thread.
  /// Nothing is pinned for the CPU (data.loader.pin_memory, on by default).
  bool pin_memory = true;
  /// Where training copies the batches (the loader itself keeps them on the host). A GPU needs a
  /// libtorch with CUDA; the workers make it their current device, so that pinning opens no CUDA
  /// context on another GPU.
  torch::Device destination = torch::kCPU;
};

class Loader {
 public:
  /// Throws rsd::ConfigError for a batch size < 1, a rank outside [0, world_size) and the like.
  Loader(std::shared_ptr<const SampleDataset> dataset, LoaderOptions options);
  /// Stops the workers (waiting for the batches they are building) and joins them.
  ~Loader();
  Loader(const Loader&) = delete;
  Loader& operator=(const Loader&) = delete;

  /// Starts epoch `epoch` at batch `first_batch` (to resume inside an epoch), stopping any epoch in
  /// progress. The workers start building at once.
  void start_epoch(int64_t epoch, int64_t first_batch = 0);

  /// The next batch of the epoch, or nullopt when it is over. An exception thrown while building a
  /// batch is rethrown here, in batch order, as rsd::DataError (rsd::Error for non-data failures)
  /// whose message adds the epoch, batch and sample index to the original message; the epoch is
  /// then over. Call from one thread.
  std::optional<Batch> next();

  /// Batches this rank gets per epoch.
  int64_t batches_per_epoch() const;
  /// Sample indices of batch `batch` of epoch `epoch` on this rank.
  std::vector<int64_t> batch_indices(int64_t epoch, int64_t batch) const;

  const LoaderOptions& options() const { return options_; }
  /// Whether the batches come in pinned memory (pin_memory and a GPU destination).
  bool pins_memory() const { return options_.pin_memory && options_.destination.is_cuda(); }

 private:
  struct State;
  std::shared_ptr<const SampleDataset> dataset_;
  LoaderOptions options_;
  std::unique_ptr<State> state_;
};

}  // namespace rsd::data
