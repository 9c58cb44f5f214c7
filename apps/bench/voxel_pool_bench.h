// rsd_bench voxel-pool: ops::voxel_pool against the naive (materialise + index_add_) and the LSS
// cumsum-trick baselines, measured in the same run on a Bench2Drive six-camera rig, with the
// machine's copy bandwidth, peak extra memory and the index's interval statistics.
#pragma once

#include <CLI/CLI.hpp>

#include <cstdint>
#include <string>

#include "bench/bench_harness.h"

namespace rsd::bench {

struct VoxelPoolBenchOptions {
  std::string config = "A";  // A: BEVDet (/16, D 59, 128x128 @ 0.8 m); B: BEVFusion camera (/8, D 118, 256x256 @ 0.4 m)
  int64_t batch = 1;         // samples, each with its own BEV augmentation (geometry)
  int64_t channels = 80;     // C
  std::string cpu_variant = "auto";  // CPU kernel variant (auto, avx512, avx2, baseline)
  bool skip_baselines = false;       // time only the op (profiling)
  std::string device = "cpu";        // auto | cpu | cuda | cuda:N, as run.device
  std::string dtype = "float";       // float | half | bfloat16: depth, feat and the gradient
};

void add_voxel_pool_flags(CLI::App& command, VoxelPoolBenchOptions& options);

/// Checks the op against the naive baseline, runs every benchmark and prints the report.
int run_voxel_pool_bench(const Settings& settings, const VoxelPoolBenchOptions& options);

}  // namespace rsd::bench
