// The risk targets and loaders a config describes, built the same way for training and
// evaluation: data.* for the clips and samples, data.risk_cache for the teacher's risk targets.
#pragma once

#include <cstdint>
#include <memory>

#include "rsd/config/config.h"
#include "rsd/data/clip_index.h"
#include "rsd/data/loader.h"
#include "rsd/data/risk_target_source.h"

namespace rsd::pipeline {

/// The risk targets of the cache folder data.risk_cache names, on data.grid (a
/// teacher::RiskCacheReader); nullptr when data.risk_cache is null (training without risk
/// targets). Throws rsd::DataError naming the folder when it does not exist and naming the cache
/// when its grid differs, or (data.risk_cache_check: strict) when its settings are not those a
/// cache built with this config records (risk_cache_settings_from): teacher.*, data.grid.
/// data.risk_target_control (not none) wraps the reader so that the maps lose their meaning
/// (data::FrameShuffledRiskSource over every labelled frame of the cache, or
/// data::CellPermutedRiskSource), drawn from run.seed.
std::shared_ptr<const data::RiskTargetSource> risk_source_from(const Config& config);

/// A loader over `split` of data.root: with augmentation, shuffling and drop_last when
/// `training`, every sample once and in order otherwise; rank `rank` of `world_size`. `risk` (may
/// be null) gives the samples their risk targets. Its workers pin the batches when `destination`
/// (the run's device) is a GPU and data.loader.pin_memory is on. Logs the number of samples.
std::shared_ptr<data::Loader> make_loader(const Config& config, data::Split split, bool training,
                                          int64_t rank, int64_t world_size,
                                          std::shared_ptr<const data::RiskTargetSource> risk,
                                          const torch::Device& destination = torch::kCPU);

}  // namespace rsd::pipeline
