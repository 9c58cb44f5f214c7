// rsd_cache_risk: runs the risk teacher offline and writes the per-clip risk caches.
#include <iostream>

#include "common/app.h"
#include "rsd/util/error.h"

int main(int argc, char** argv) {
  CLI::App app("Build the offline risk cache: per-object risk from a teacher (rule, VLM over "
               "HTTP or imported answers), rasterised into BEV risk maps.",
               "rsd_cache_risk");
  rsd::app::describe(app);
  rsd::app::ConfigFlags flags;
  rsd::app::add_config_flags(app, flags, /*config_required=*/false);
  auto* inspect = app.add_subcommand("inspect", "render PNGs of cached frames");
  std::vector<std::string> frames;
  std::string out;
  inspect->add_option("--frames", frames, "frames to render as CLIP:FRAME");
  inspect->add_option("--out", out, "output folder for the pictures");

  return rsd::app::run(app, argc, argv, [&]() -> int {
    if (flags.config.empty()) throw rsd::ConfigError("--config is required");
    auto loaded = rsd::app::load_config(flags);
    if (flags.print_config) {
      std::cout << loaded.config.to_yaml();
      return 0;
    }
    throw rsd::Error("the risk teacher is not part of this build yet; rsd_cache_risk supports "
                     "--print-config");
  });
}
