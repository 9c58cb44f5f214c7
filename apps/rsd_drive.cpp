// rsd_drive: closed-loop driving in the synthetic world, scored as Bench2Drive scores (docs/closed-loop.md).
//   rsd_drive --config X --checkpoint C --out DIR [route options] [--jobs J | --shard I/N]
//   rsd_drive --agent expert|constant_velocity|straight_line --out DIR [route options]
//   rsd_drive merge --out DIR SHARD_DIR... [route options]
#include <iostream>
#include <sstream>

#include "common/app.h"
#include "rsd/dist/launcher.h"
#include "rsd/drive/drive_job.h"
#include "rsd/pipeline/process.h"
#include "rsd/util/error.h"

namespace {

struct RouteFlags {
  int routes = 20;
  uint64_t seed = 2026;
  int frames = 150;
  std::vector<std::string> scenarios;
};

void add_route_flags(CLI::App& app, RouteFlags& flags) {
  app.add_option("--routes", flags.routes, "number of routes (default 20, cycling through the scenario types)");
  app.add_option("--route-seed", flags.seed,
                 "seed of the route worlds (default 2026; drawn from a family of worlds rsd_data synth never writes)");
  app.add_option("--route-frames", flags.frames, "each scenario's timeline at 10 Hz: the expert drives the route in this time (default 150)");
  app.add_option("--scenarios", flags.scenarios, "scenario types to cycle through (default: all)")->delimiter(',');
}

std::vector<rsd::data::synth::RouteSpec> route_set(const RouteFlags& flags) {
  return rsd::data::synth::make_route_set(flags.routes, flags.seed, flags.frames, flags.scenarios);
}

void print_summary(const rsd::drive::DriveSummary& result) {
  const auto& s = result.summary;
  std::cout << "Driving Score " << s.driving_score << ", Success Rate " << s.success_rate << " %, Route Completion "
            << s.route_completion << " % over " << s.routes << " routes\nreport: " << result.report_path << "\n";
}

// argv without --jobs J / --jobs=J: what each local worker runs.
std::vector<std::string> worker_argv(int argc, char** argv) {
  std::vector<std::string> out = {"/proc/self/exe"};
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg == "--jobs") {
      ++i;
      continue;
    }
    if (arg.rfind("--jobs=", 0) == 0) continue;
    out.push_back(arg);
  }
  return out;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app("Drive closed-loop routes in the synthetic world and score them as Bench2Drive does.", "rsd_drive");
  rsd::app::describe(app);
  rsd::app::ConfigFlags flags;
  rsd::app::add_config_flags(app, flags, /*config_required=*/false);
  std::string agent = "model", checkpoint, out, shard, model_from = "checkpoint", render = "704x396";
  int jobs = 1, threads = 1, jpeg_quality = 0;
  bool no_strips = false, record_ticks = false, render_full = false;
  RouteFlags routes;
  app.add_option("--agent", agent, "who drives: model (default; --config and --checkpoint), expert, constant_velocity, straight_line");
  app.add_option("--checkpoint", checkpoint, "the model's checkpoint");
  app.add_option("--model-from", model_from, "where the network keys come from: checkpoint (default) or config")
      ->check(CLI::IsMember({"checkpoint", "config"}));
  app.add_option("--out", out, "output folder (metrics.json, timing.json, report.md, routes/, strips/)");
  app.add_option("--render", render,
                 "camera image size WxH the cameras' intrinsics are for: the size the model's training images had "
                 "(default 704x396)");
  app.add_option("--jobs", jobs, "local processes driving routes at once (default 1); results do not depend on it");
  app.add_option("--shard", shard, "drive only shard I/N of the routes (else RANK/WORLD_SIZE or SLURM_PROCID/SLURM_NTASKS)");
  app.add_option("--threads", threads, "intra-op threads per process (default 1: the same numbers whatever --jobs is)");
  app.add_flag("--no-strips", no_strips, "do not draw the per-route pictures");
  app.add_flag("--render-full", render_full,
               "render the cameras at --render size and resample them as the loader does (the exact training path; "
               "default: render straight into the model's input, the same view without the resampling)");
  app.add_option("--jpeg-quality", jpeg_quality,
                 "pass each camera image through a JPEG of this quality, as recorded clips are (Bench2Drive: 20); "
                 "default 0: none");
  app.add_flag("--record-ticks", record_ticks, "record every tick (annotation, images, decision) under ticks/<route>/");
  add_route_flags(app, routes);

  CLI::App* merge = app.add_subcommand("merge", "join the route results of shard folders into one report");
  std::vector<std::string> merge_dirs;
  std::string merge_out;
  RouteFlags merge_routes;
  bool merge_check = false;
  merge->add_option("dirs", merge_dirs, "shard output folders")->required();
  merge->add_option("--out", merge_out, "the joined output folder")->required();
  merge->add_flag("--check-routes", merge_check, "fail unless exactly the route set (route options) is present");
  add_route_flags(*merge, merge_routes);

  return rsd::app::run(app, argc, argv, [&]() -> int {
    if (merge->parsed()) {
      const auto expected = merge_check ? route_set(merge_routes) : std::vector<rsd::data::synth::RouteSpec>{};
      print_summary(rsd::drive::merge_drive_results(merge_dirs, merge_out, expected));
      return 0;
    }
    if (out.empty()) throw rsd::ConfigError("--out is required");
    if (jobs < 1) throw rsd::ConfigError("--jobs must be >= 1, got " + std::to_string(jobs));
    if (threads < 1) throw rsd::ConfigError("--threads must be >= 1, got " + std::to_string(threads));
    rsd::drive::DriveJobOptions options;
    options.agent = rsd::drive::parse_agent_kind(agent);
    options.checkpoint = checkpoint;
    options.model_from = model_from == "config" ? rsd::pipeline::ModelSource::config : rsd::pipeline::ModelSource::checkpoint;
    options.out_dir = out;
    options.routes = route_set(routes);
    options.strips = !no_strips;
    options.record_ticks = record_ticks;
    options.render_full_images = render_full;
    options.jpeg_quality = jpeg_quality;
    char separator = 0;
    std::istringstream size(render);
    if (!(size >> options.world.image_width >> separator >> options.world.image_height) || separator != 'x' || !size.eof()) {
      throw rsd::ConfigError("--render: expected WxH (e.g. 704x396), got '" + render + "'");
    }
    if (jobs > 1) {
      if (!shard.empty()) throw rsd::ConfigError("--jobs and --shard do not go together (each job is a shard)");
      rsd::dist::LaunchOptions launch;
      launch.nproc = jobs;
      const int status = rsd::dist::launch_local(worker_argv(argc, argv), launch);
      if (status != 0) return status;
      print_summary(rsd::drive::merge_drive_results({out}, out, options.routes));
      return 0;
    }
    options.shard = rsd::pipeline::shard_from(shard);
    rsd::Config config;
    const bool with_config = !flags.config.empty();
    if (with_config) {
      auto loaded = rsd::app::load_config(flags);
      if (flags.print_config) {
        std::cout << loaded.config.to_yaml();
        return 0;
      }
      config = std::move(loaded.config);
    }
    rsd::pipeline::set_intra_op_threads(threads);
    const rsd::drive::DriveSummary result = rsd::drive::run_drive_job(with_config ? &config : nullptr, options);
    if (options.shard.count > 1) {
      std::cout << options.shard.describe() << ": " << result.routes.size() << " routes written to " << out
                << "/routes (join the shards with rsd_drive merge)\n";
      return 0;
    }
    print_summary(result);
    return 0;
  });
}
