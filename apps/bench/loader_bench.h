// rsd_bench loader: samples/s of the data loader from Bench2Drive-size JPEGs (1600x900, quality
// 20, written by the synthetic world) to network tensors, with 1 and 2 workers, and the cost of
// decoding one image.
#pragma once

#include <CLI/CLI.hpp>

#include <cstdint>
#include <vector>

#include "bench/bench_harness.h"

namespace rsd::bench {

struct LoaderBenchOptions {
  int64_t frames = 24;                 // frames of the synthetic clip read (6 cameras each)
  std::vector<int64_t> workers = {1, 2};
  int64_t height = 256;                // network input
  int64_t width = 704;
  bool augment = false;                // image and BEV augmentation on (as in training)
};

void add_loader_flags(CLI::App& command, LoaderBenchOptions& options);

int run_loader_bench(const Settings& settings, const LoaderBenchOptions& options);

}  // namespace rsd::bench
