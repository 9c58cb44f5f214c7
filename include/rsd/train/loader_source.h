// data::Loader as the Trainer's batch source (its order depends only on the seed and the epoch,
// so restarting an epoch at a batch resumes exactly).
#pragma once

#include <memory>
#include <utility>

#include "rsd/data/loader.h"
#include "rsd/train/batch_source.h"
#include "rsd/util/error.h"

namespace rsd::train {

class LoaderSource : public BatchSource<data::Batch> {
 public:
  explicit LoaderSource(std::shared_ptr<data::Loader> loader) : loader_(std::move(loader)) {
    RSD_CHECK(loader_ != nullptr, "LoaderSource needs a loader");
  }
  void start_epoch(int64_t epoch, int64_t first_batch) override {
    loader_->start_epoch(epoch, first_batch);
  }
  std::optional<data::Batch> next() override { return loader_->next(); }
  int64_t batch_size() const override { return loader_->options().batch_size; }
  data::Loader& loader() { return *loader_; }

 private:
  std::shared_ptr<data::Loader> loader_;
};

}  // namespace rsd::train
