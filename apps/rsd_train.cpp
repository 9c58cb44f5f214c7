// rsd_train: joint training of the E2E model with the risk distillation loss.
#include <algorithm>
#include <cstdlib>
#include <iostream>

#include "common/app.h"
#include "rsd/config/run_options.h"
#include "rsd/dist/launcher.h"
#include "rsd/train/training_job.h"
#include "rsd/util/error.h"
#include "rsd/util/run_directory.h"

int main(int argc, char** argv) {
  CLI::App app("Train an end-to-end driving model with risk semantic distillation.", "rsd_train");
  rsd::app::describe(app);
  rsd::app::ConfigFlags flags;
  rsd::train::TrainingJobOptions job;
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
    if (nproc > 1 && std::getenv("WORLD_SIZE") == nullptr) {
      // The launcher: every worker gets the same run name and these same arguments.
      const std::string name = loaded.run.name.empty()
                                   ? rsd::RunDirectory::default_name(flags.config)
                                   : loaded.run.name;
      std::vector<std::string> worker_argv{"/proc/self/exe"};
      for (int i = 1; i < argc; ++i) {
        const std::string arg = argv[i];
        if (arg == "--nproc") {
          ++i;  // and its value
        } else if (arg.rfind("--nproc=", 0) != 0) {
          worker_argv.push_back(arg);
        }
      }
      worker_argv.insert(worker_argv.end(), {"--set", "run.name=\"" + name + "\""});
      if (loaded.run.num_threads == 0) {
        // The workers share this machine's cores instead of each taking all of them.
        const int threads = std::max(1, rsd::resolve_num_threads(0) / nproc);
        worker_argv.insert(worker_argv.end(), {"--set", "run.num_threads=" + std::to_string(threads)});
      }
      rsd::dist::LaunchOptions launch;
      launch.nproc = nproc;
      launch.master_addr = loaded.config.get<std::string>("dist.master_addr");
      if (const char* port = std::getenv("MASTER_PORT")) launch.master_port = std::atoi(port);
      return rsd::dist::launch_local(worker_argv, launch);
    }
    rsd::train::run_training_job(loaded.config, job);
    return 0;
  });
}
