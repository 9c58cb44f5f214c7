// rsd_bench risk-head: the RiskHead variants side by side at the sizes of project configs: the
// head's forward + backward alone (on the model's own BEV and image features of a random batch)
// and a whole E2E training step with that head, so that the head's share of a step is measured
// in the same run.
#pragma once

#include <CLI/CLI.hpp>

#include <cstdint>
#include <string>
#include <vector>

#include "bench/bench_harness.h"

namespace rsd::bench {

struct RiskHeadBenchOptions {
  std::vector<std::string> configs = {"configs/synth_tiny.yaml", "configs/b2d_base.yaml"};
  std::vector<std::string> types = {"conv", "attention", "deformable"};
  int64_t batch = 1;
  std::string device = "cpu";  // auto | cpu | cuda | cuda:N, as run.device
};

void add_risk_head_flags(CLI::App& command, RiskHeadBenchOptions& options);

int run_risk_head_bench(const Settings& settings, const RiskHeadBenchOptions& options);

}  // namespace rsd::bench
