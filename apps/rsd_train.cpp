// rsd_train: joint training of the E2E model with the risk distillation loss.
#include <iostream>

#include "common/app.h"
#include "rsd/pipeline/launch.h"
#include "rsd/pipeline/training_job.h"

int main(int argc, char** argv) {
  CLI::App app("Train an end-to-end driving model with risk semantic distillation.", "rsd_train");
  rsd::app::describe(app);
  rsd::app::ConfigFlags flags;
  rsd::pipeline::TrainingJobOptions job;
  int nproc = 1;
  rsd::app::add_config_flags(app, flags);
  app.add_flag("--resume", job.resume, "continue the run named by run.name from its last checkpoint");
  app.add_flag("--dry-run", job.dry_run,
               "check the config, create the run directory with its config.yaml, then stop");
  app.add_option("--nproc", nproc, "data-parallel processes on this machine (docs/distributed.md)")
      ->check(CLI::PositiveNumber);

  return rsd::app::run(app, argc, argv, [&]() -> int {
    auto loaded = rsd::app::load_config(flags);
    if (flags.print_config) {
      std::cout << loaded.config.to_yaml();
      return 0;
    }
    job.config_path = flags.config;
    if (rsd::pipeline::launches_workers(nproc)) {
      return rsd::pipeline::launch_local_training(loaded.config, loaded.run, argc, argv, nproc,
                                                  flags.config);
    }
    rsd::pipeline::run_training_job(loaded.config, job);
    return 0;
  });
}
