// The models the training benchmarks run: a project config (configs/*.yaml) and a random batch of
// its sizes, so that data loading stays out of the measurement.
#pragma once

#include <torch/types.h>

#include <cstdint>
#include <functional>
#include <string>

#include "rsd/config/config.h"
#include "rsd/data/batch.h"

namespace rsd::bench {

/// Loads `path` as given, else relative to the source tree this rsd_bench was built from (so that
/// `configs/synth_tiny.yaml` works from any folder). Throws rsd::ConfigError naming both places.
Config load_bench_config(const std::string& path);

/// A batch of `batch` samples with the config's cameras, image size, grid and horizon: random
/// images and targets, cameras evenly around the ego at 1.6 m with a 90-degree field of view, a
/// few boxes, labelled risk maps. The same seed gives the same batch.
data::Batch random_batch(const Config& config, int64_t batch, uint64_t seed);

/// Registers a Google Benchmark `name` that runs `body` on `device` (real time, milliseconds, a
/// short warm-up); CUDA kernels run asynchronously, so each iteration waits for them.
void time_on_device(const torch::Device& device, const std::string& name,
                    std::function<void()> body);

}  // namespace rsd::bench
