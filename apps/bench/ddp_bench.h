// rsd_bench ddp: data-parallel training throughput with 1, 2, ... local processes over c10d/Gloo,
// with the time each step spends on the gradient all-reduce.
#pragma once

#include <CLI/CLI.hpp>

#include <cstdint>
#include <string>
#include <vector>

#include "bench/bench_harness.h"

namespace rsd::bench {

struct DdpBenchOptions {
  std::vector<int> processes = {1, 2};  // world sizes to measure, each a separate job
  int64_t steps = 10;                   // timed optimiser steps per job (after 2 warm-up steps)
  int64_t batch = 2;                    // samples per process per step
  std::string config = "configs/synth_tiny.yaml";  // the model trained (random batches of its sizes)
  std::string worker_output;            // set in worker processes: where rank 0 writes its times
};

void add_ddp_flags(CLI::App& command, CLI::App& worker, DdpBenchOptions& options);

/// The launcher: runs one job per world size (this executable's `ddp-worker` subcommand) and
/// prints throughput, step time and all-reduce time, and the scaling against one process.
int run_ddp_bench(const Settings& settings, const DdpBenchOptions& options);

/// One rank of a job (torchrun variables set by the launcher).
int run_ddp_worker(const DdpBenchOptions& options);

}  // namespace rsd::bench
