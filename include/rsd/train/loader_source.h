// data::Loader as the Trainer's batch source (its order depends only on the seed and the epoch,
// so restarting an epoch at a batch resumes exactly). Batches leave it on the training device:
// batches the loader's workers pinned (data::LoaderOptions::pin_memory) are copied non_blocking,
// so the copy overlaps with the GPU's work and the training thread pins nothing.
#pragma once

#include <memory>
#include <utility>

#include "rsd/data/loader.h"
#include "rsd/train/batch_source.h"
#include "rsd/util/error.h"

namespace rsd::train {

struct LoaderSourceOptions {
  torch::Device device = torch::kCPU;  // every tensor of a batch (targets, masks) is moved here
  /// Pin, here on the training thread, host batches the loader did not pin, before a non_blocking
  /// copy to a GPU. Only with a CUDA device of a CUDA libtorch (rsd::pipeline::pin_memory_for);
  /// ignored for the CPU. Prefer the loader's own pinning (data::LoaderOptions::pin_memory), done
  /// by its workers ahead of time.
  bool pin_memory = false;
};

class LoaderSource : public BatchSource<data::Batch> {
 public:
  explicit LoaderSource(std::shared_ptr<data::Loader> loader, LoaderSourceOptions options = {})
      : loader_(std::move(loader)), options_(options) {
    RSD_CHECK(loader_ != nullptr, "LoaderSource needs a loader");
  }
  void start_epoch(int64_t epoch, int64_t first_batch) override {
    loader_->start_epoch(epoch, first_batch);
  }
  std::optional<data::Batch> next() override {
    std::optional<data::Batch> batch = loader_->next();
    if (!batch || options_.device.is_cpu()) return batch;
    const bool pinned = loader_->pins_memory();
    if (!pinned && options_.pin_memory) {
      return batch->pin_memory().to(options_.device, /*non_blocking=*/true);
    }
    return batch->to(options_.device, /*non_blocking=*/pinned);
  }
  int64_t batch_size() const override { return loader_->options().batch_size; }
  int64_t samples_in(const data::Batch& batch) const override { return batch.size(); }
  data::Loader& loader() { return *loader_; }
  const LoaderSourceOptions& options() const { return options_; }

 private:
  std::shared_ptr<data::Loader> loader_;
  LoaderSourceOptions options_;
};

}  // namespace rsd::train
