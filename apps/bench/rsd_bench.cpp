// rsd_bench: the project's benchmarks (Google Benchmark), each a subcommand.

#include <algorithm>

#include "bench/bench_harness.h"
#include "bench/copy_bandwidth.h"
#include "bench/ddp_bench.h"
#include "bench/loader_bench.h"
#include "bench/drive_bench.h"
#include "bench/risk_head_bench.h"
#include "bench/train_bench.h"
#include "bench/voxel_pool_bench.h"
#include "common/app.h"
#include "rsd/pipeline/process.h"

int main(int argc, char** argv) {
  CLI::App app("librsd benchmarks: medians and p90s over repetitions, with baselines measured in "
               "the same run.",
               "rsd_bench");
  rsd::app::describe(app);
  app.require_subcommand(1);
  rsd::bench::Settings settings;
  rsd::bench::add_settings_flags(app, settings);

  auto* copy = app.add_subcommand("copy", "memory copy bandwidth of this machine");
  int copy_mb = 256;
  copy->add_option("--mb", copy_mb, "buffer size in MiB (well above the last-level cache)")
      ->check(CLI::PositiveNumber);

  auto* voxel_pool = app.add_subcommand(
      "voxel-pool", "voxel pooling against the naive and LSS cumsum baselines (configs A, B)");
  voxel_pool->fallthrough();  // --json, --threads, --repetitions may follow the subcommand
  rsd::bench::VoxelPoolBenchOptions voxel_pool_options;
  rsd::bench::add_voxel_pool_flags(*voxel_pool, voxel_pool_options);

  auto* train = app.add_subcommand(
      "train", "E2E training steps at the sizes of project configs: samples/s, memory, stage shares");
  train->fallthrough();
  rsd::bench::TrainBenchOptions train_options;
  rsd::bench::add_train_flags(*train, train_options);

  auto* risk_head = app.add_subcommand(
      "risk-head", "RiskHead variants: the head's forward + backward and its share of a training step");
  risk_head->fallthrough();
  rsd::bench::RiskHeadBenchOptions risk_head_options;
  rsd::bench::add_risk_head_flags(*risk_head, risk_head_options);

  auto* drive = app.add_subcommand("drive", "one closed-loop tick of rsd_drive taken apart: ticks per second, where the time goes");
  drive->fallthrough();
  rsd::bench::DriveBenchOptions drive_options;
  rsd::bench::add_drive_flags(*drive, drive_options);
  auto* loader = app.add_subcommand(
      "loader", "data loader samples/s from 1600x900 JPEGs to network tensors, decode cost per image");
  loader->fallthrough();
  rsd::bench::LoaderBenchOptions loader_options;
  rsd::bench::add_loader_flags(*loader, loader_options);

  auto* ddp = app.add_subcommand(
      "ddp", "data-parallel training throughput with 1, 2, ... local processes, all-reduce time");
  ddp->fallthrough();
  auto* ddp_worker = app.add_subcommand("ddp-worker", "one rank of an `rsd_bench ddp` job");
  ddp_worker->group("");  // internal: started by `rsd_bench ddp`
  rsd::bench::DdpBenchOptions ddp_options;
  rsd::bench::add_ddp_flags(*ddp, *ddp_worker, ddp_options);

  return rsd::app::run(app, argc, argv, [&]() -> int {
    rsd::pipeline::set_intra_op_threads(rsd::pipeline::resolve_num_threads(settings.threads));
    if (copy->parsed()) {
      const std::size_t bytes = static_cast<std::size_t>(copy_mb) << 20;
      rsd::bench::register_copy_benchmarks(bytes);
      const auto results = rsd::bench::run_registered(settings);
      // Bytes read plus bytes written, over the median time.
      const double moved = 2.0 * static_cast<double>(bytes);
      const double single = moved / rsd::bench::find(results, "copy/memcpy").median_s();
      const double parallel = moved / rsd::bench::find(results, "copy/parallel").median_s();
      rsd::bench::report("copy", settings, results,
                         {{"memcpy_GBps", single / 1e9},
                          {"parallel_copy_GBps", parallel / 1e9},
                          {"best_copy_GBps", std::max(single, parallel) / 1e9}});
    }
    if (train->parsed()) return rsd::bench::run_train_bench(settings, train_options);
    if (risk_head->parsed()) return rsd::bench::run_risk_head_bench(settings, risk_head_options);
    if (drive->parsed()) return rsd::bench::run_drive_bench(settings, drive_options);
    if (loader->parsed()) return rsd::bench::run_loader_bench(settings, loader_options);
    if (ddp->parsed()) return rsd::bench::run_ddp_bench(settings, ddp_options);
    if (ddp_worker->parsed()) return rsd::bench::run_ddp_worker(ddp_options);
    if (voxel_pool->parsed()) return rsd::bench::run_voxel_pool_bench(settings, voxel_pool_options);
    return 0;
  });
}
