// rsd_cache_risk: runs the risk teacher offline and writes the per-clip risk caches.
//   rsd_cache_risk --config X [--clip NAME ...] [--set teacher.type=vlm ...]
//   rsd_cache_risk inspect --config X --frames CLIP:FRAME [...] --out DIR
#include <iostream>

#include "common/app.h"
#include "rsd/pipeline/risk_cache_job.h"
#include "rsd/util/error.h"

int main(int argc, char** argv) {
  CLI::App app("Build the offline risk cache: per-object risk from a teacher (rule, VLM over "
               "HTTP or imported answers), rasterised into BEV risk maps, one file per clip in "
               "teacher.output. Resumable: complete clips are skipped, partial ones continued.",
               "rsd_cache_risk");
  rsd::app::describe(app);
  rsd::app::ConfigFlags flags;
  rsd::app::add_config_flags(app, flags, /*config_required=*/false);
  std::vector<std::string> clips;
  app.add_option("--clip", clips, "only this clip (repeatable; default: teacher.clips or all)");
  bool no_progress = false;
  app.add_flag("--no-progress", no_progress, "no progress bar");

  auto* inspect = app.add_subcommand("inspect", "render PNGs of cached frames");
  std::vector<std::string> frames;
  std::string out = "risk_inspect";
  inspect->add_option("--frames", frames, "frames to render as CLIP:FRAME")->required();
  inspect->add_option("--out", out, "output folder for the pictures")->capture_default_str();
  inspect->fallthrough();  // --config and --set may follow the subcommand

  return rsd::app::run(app, argc, argv, [&]() -> int {
    if (flags.config.empty()) throw rsd::ConfigError("--config is required");
    auto loaded = rsd::app::load_config(flags);
    if (flags.print_config) {
      std::cout << loaded.config.to_yaml();
      return rsd::app::kSuccess;
    }
    if (app.got_subcommand(inspect)) {
      std::vector<rsd::teacher::InspectRequest> requests;
      for (const auto& frame : frames) requests.push_back(rsd::teacher::parse_inspect_request(frame));
      for (const auto& path : rsd::pipeline::render_risk_inspection(loaded.config, requests, out)) {
        std::cout << path << "\n";
      }
      return rsd::app::kSuccess;
    }
    rsd::pipeline::RiskCacheJobOptions options;
    options.clips = clips;
    options.progress = !no_progress && loaded.run.progress;
    const auto report = rsd::pipeline::run_risk_cache(loaded.config, options);
    std::cout << "risk cache in " << report.output_dir << ": " << report.clips.size() << " clips, "
              << report.frames_ok << " frames labelled, " << report.frames_failed
              << " frames FAILED (no label)\n";
    return rsd::app::kSuccess;
  });
}
