// The datasets and loaders a config describes, built the same way for training and evaluation:
// data.* for the clips and samples, data.risk_cache for the teacher's risk targets.
#pragma once

#include <cstdint>
#include <memory>

#include "rsd/data/clip_index.h"
#include "rsd/data/loader.h"
#include "rsd/data/risk_target_source.h"
#include "rsd/geometry/grid_spec.h"

namespace rsd {
class Config;
}

namespace rsd::train {

/// The risk targets of the cache data.risk_cache names, on `grid`; nullptr when it is null.
/// Throws rsd::DataError naming the cache when its grid differs from `grid`.
std::shared_ptr<const data::RiskTargetSource> risk_source_from(const Config& config,
                                                               const GridSpec& grid);

/// A loader over `split` of data.root: with augmentation, shuffling and drop_last when
/// `training`, every sample once and in order otherwise; rank `rank` of `world_size`. Logs the
/// number of samples.
std::shared_ptr<data::Loader> make_loader(const Config& config, data::Split split, bool training,
                                          int64_t rank, int64_t world_size,
                                          std::shared_ptr<const data::RiskTargetSource> risk);

}  // namespace rsd::train
