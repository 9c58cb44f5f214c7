// Where the Trainer takes its batches from. Resume is exact only when an epoch restarted at a
// batch yields what the uninterrupted epoch yielded from that batch on: the order must depend on
// the epoch (and a seed), not on how many batches were read before.
#pragma once

#include <cstdint>
#include <optional>

namespace rsd::train {

template <class Batch>
class BatchSource {
 public:
  virtual ~BatchSource() = default;

  /// Starts epoch `epoch` (0, 1, ...) at its batch `first_batch`, dropping any epoch in progress.
  virtual void start_epoch(int64_t epoch, int64_t first_batch) = 0;

  /// The next batch of the epoch; nullopt when the epoch is over.
  virtual std::optional<Batch> next() = 0;

  /// Samples per batch on this process. With several processes every rank reads batches of this
  /// size; the trainer stores its data position as samples of all ranks, so a run resumes with
  /// another process count.
  virtual int64_t batch_size() const = 0;

  /// The samples `batch` holds: validation weighs each batch's losses by it, so that the result
  /// is the mean over the validation samples however they fall into batches and ranks. Override
  /// it where a batch can be smaller than batch_size() (the last one of an epoch).
  virtual int64_t samples_in(const Batch& /*batch*/) const { return batch_size(); }
};

}  // namespace rsd::train
