// Config -> the data area's options structs: the BEV grid (data.grid), the samples of a split
// (data.*, run.seed) and the loader (data.loader.*, run.seed). Each throws rsd::ConfigError naming
// the key for an invalid value.
//
//   auto dataset = std::make_shared<rsd::data::Bench2DriveDataset>(
//       rsd::pipeline::dataset_options_from(config, rsd::data::Split::train, /*training=*/true));
//   rsd::data::Loader loader(dataset, rsd::pipeline::loader_options_from(config, /*training=*/true));
#pragma once

#include "rsd/config/config.h"
#include "rsd/data/clip_index.h"
#include "rsd/data/dataset.h"
#include "rsd/data/loader.h"
#include "rsd/geometry/grid_spec.h"

namespace rsd::pipeline {

/// data.grid ({x, y, z}: [min, max, step] each). The axes are checked by GridSpec itself.
GridSpec grid_spec_from(const Config& config);

/// data.* (and run.seed). `training` turns augmentation on when data.augment.enabled is set.
data::DatasetOptions dataset_options_from(const Config& config, data::Split split, bool training);

/// data.loader.* and run.seed; shuffle and drop_last only when `training` (evaluation sees every
/// sample once, in order). rank/world_size stay 0/1: the caller sets them. `destination` is the
/// run's device: data.loader.pin_memory pins batches only for a GPU of a libtorch with CUDA.
data::LoaderOptions loader_options_from(const Config& config, bool training,
                                        const torch::Device& destination = torch::kCPU);

}  // namespace rsd::pipeline
