// rsd_bench train: training steps of the E2E model at the sizes of project configs (batch 1 by
// default), with samples/s, peak memory and the share of the step in each stage.
#pragma once

#include <CLI/CLI.hpp>

#include <cstdint>
#include <string>
#include <vector>

#include "bench/bench_harness.h"

namespace rsd::bench {

struct TrainBenchOptions {
  std::vector<std::string> configs = {"configs/synth_tiny.yaml", "configs/b2d_base.yaml"};
  int64_t batch = 1;
  int64_t steps = 5;  // timed steps per config, after one warm-up step
  std::string device = "cpu";  // auto | cpu | cuda | cuda:N, as run.device
  std::string amp = "none";    // none | bf16 | fp16, as train.amp
};

void add_train_flags(CLI::App& command, TrainBenchOptions& options);

int run_train_bench(const Settings& settings, const TrainBenchOptions& options);

}  // namespace rsd::bench
