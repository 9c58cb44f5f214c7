#include "rsd/pipeline/launch.h"

#include <algorithm>
#include <cstdlib>

#include "rsd/dist/launcher.h"
#include "rsd/util/run_directory.h"

namespace rsd::pipeline {

bool launches_workers(int nproc) { return nproc > 1 && std::getenv("WORLD_SIZE") == nullptr; }

std::vector<std::string> worker_arguments(const std::vector<std::string>& arguments,
                                          const RunOptions& run, const std::string& config_path,
                                          int nproc, int cores) {
  std::vector<std::string> worker;
  for (std::size_t i = 0; i < arguments.size(); ++i) {
    if (arguments[i] == "--nproc") {
      ++i;  // and its value
    } else if (arguments[i].rfind("--nproc=", 0) != 0) {
      worker.push_back(arguments[i]);
    }
  }
  const std::string name = run.name.empty() ? RunDirectory::default_name(config_path) : run.name;
  worker.insert(worker.end(), {"--set", "run.name=\"" + name + "\""});
  if (run.num_threads == 0) {
    const int threads = std::max(1, cores / std::max(1, nproc));
    worker.insert(worker.end(), {"--set", "run.num_threads=" + std::to_string(threads)});
  }
  return worker;
}

int launch_local_training(const Config& config, const RunOptions& run, int argc, char** argv,
                          int nproc, const std::string& config_path) {
  std::vector<std::string> arguments;
  for (int i = 1; i < argc; ++i) arguments.emplace_back(argv[i]);
  std::vector<std::string> command{"/proc/self/exe"};
  const std::vector<std::string> worker =
      worker_arguments(arguments, run, config_path, nproc, resolve_num_threads(0));
  command.insert(command.end(), worker.begin(), worker.end());
  dist::LaunchOptions launch;
  launch.nproc = nproc;
  launch.master_addr = config.get<std::string>("dist.master_addr");
  if (const char* port = std::getenv("MASTER_PORT")) launch.master_port = std::atoi(port);
  return dist::launch_local(command, launch);
}

}  // namespace rsd::pipeline
