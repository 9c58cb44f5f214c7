// rsd_bench drive: one closed-loop tick of rsd_drive taken apart (the annotation and its reading,
// the cameras rendered into the model's input or at full size, the model's decision, the world's
// step), so that ticks per second and where the time goes are measured in one run.
#pragma once

#include <CLI/CLI.hpp>

#include <string>

#include "bench/bench_harness.h"

namespace rsd::bench {

struct DriveBenchOptions {
  std::string config = "configs/synth_tiny.yaml";  // the model's sizes (weights random)
  std::string scenario = "PedestrianCrossing";
  int image_width = 704, image_height = 396;       // rsd_drive --render
};

void add_drive_flags(CLI::App& command, DriveBenchOptions& options);

int run_drive_bench(const Settings& settings, const DriveBenchOptions& options);

}  // namespace rsd::bench
