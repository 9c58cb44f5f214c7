// rsd_bench: the project's benchmarks (Google Benchmark), each a subcommand.
#include <ATen/Parallel.h>

#include <algorithm>

#include "bench/bench_harness.h"
#include "bench/copy_bandwidth.h"
#include "common/app.h"
#include "rsd/config/run_options.h"

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

  return rsd::app::run(app, argc, argv, [&]() -> int {
    at::set_num_threads(rsd::resolve_num_threads(settings.threads));
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
    return 0;
  });
}
