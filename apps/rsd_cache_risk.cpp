// rsd_cache_risk: runs the risk teacher offline and writes the per-clip risk caches.
//   rsd_cache_risk --config X [--clip NAME ...] [--shard I/N] [--set teacher.type=vlm ...]
//   rsd_cache_risk verify --config X [--clip NAME ...] [--shard I/N]
//   rsd_cache_risk merge --config X [--out DIR] SHARD_DIR...
//   rsd_cache_risk inspect --config X --frames CLIP:FRAME [...] --out DIR
// Without a subcommand it builds (so the plain command lines keep working); docs/scaling.md
// shows a run split over machines.
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
  std::string shard;
  app.add_option("--shard", shard,
                 "I/N: only the clips of shard I of N (by a stable hash of the clip name); "
                 "default: RANK/WORLD_SIZE or SLURM_PROCID/SLURM_NTASKS when set, else all");
  bool no_progress = false;
  app.add_flag("--no-progress", no_progress, "no progress bar");

  auto* inspect = app.add_subcommand("inspect", "render PNGs of cached frames");
  std::vector<std::string> frames;
  std::string out = "risk_inspect";
  inspect->add_option("--frames", frames, "frames to render as CLIP:FRAME")->required();
  inspect->add_option("--out", out, "output folder for the pictures")->capture_default_str();
  inspect->fallthrough();  // --config and --set may follow the subcommand

  auto* verify = app.add_subcommand(
      "verify", "list complete, partial, missing and stale clip caches of teacher.output and the "
                "FAILED frames by reason; exit 1 unless the cache is complete for the clips");
  verify->fallthrough();

  auto* merge = app.add_subcommand("merge", "copy the caches of shard folders into one folder, "
                                            "refusing stale, unfinished or conflicting files");
  std::vector<std::string> inputs;
  std::string merge_out;
  merge->add_option("inputs", inputs, "the shard folders")->required();
  merge->add_option("--out", merge_out, "the merged folder (default: teacher.output)");
  merge->fallthrough();

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
    if (app.got_subcommand(merge)) {
      const auto report = rsd::pipeline::merge_risk_caches(loaded.config, inputs, merge_out);
      std::cout << "merged into " << report.output_dir << ": " << report.copied << " clips copied, "
                << report.already_present << " already there\n";
      return rsd::app::kSuccess;
    }
    rsd::pipeline::RiskCacheJobOptions options;
    options.clips = clips;
    options.shard = rsd::pipeline::shard_from(shard);
    if (app.got_subcommand(verify)) {
      const auto report = rsd::pipeline::verify_risk_cache(loaded.config, options);
      for (const auto& line : report.lines()) std::cout << line << "\n";
      const bool complete =
          report.complete(rsd::pipeline::max_failed_fraction_from(loaded.config));
      std::cout << (complete ? "complete" : "NOT complete") << "\n";
      return complete ? rsd::app::kSuccess : rsd::app::kRuntimeError;
    }
    options.progress = !no_progress && loaded.run.progress;
    const auto report = rsd::pipeline::run_risk_cache(loaded.config, options);
    std::cout << "risk cache in " << report.output_dir << ": " << report.clips.size() << " clips, "
              << report.frames_ok << " frames labelled, " << report.frames_failed
              << " frames FAILED (no label)\n";
    for (const auto& endpoint : report.endpoints) {
      std::cout << "  " << endpoint.url << ": " << endpoint.stats.requests << " requests, "
                << endpoint.stats.failures << " failed, mean latency "
                << endpoint.stats.mean_latency_s() << " s\n";
    }
    return rsd::app::kSuccess;
  });
}
