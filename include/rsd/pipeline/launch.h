// `rsd_train --nproc N`: the local launcher starts N copies of the program as one data-parallel
// job on this machine (dist::launch_local). Every worker gets the same arguments, minus --nproc,
// plus the run name (so that all ranks name the same run) and its share of the cores.
#pragma once

#include <string>
#include <vector>

#include "rsd/config/config.h"
#include "rsd/pipeline/process.h"

namespace rsd::pipeline {

/// True when `--nproc nproc` asks this process to launch workers: nproc > 1 and it is not itself
/// a worker of a launched job (WORLD_SIZE unset).
bool launches_workers(int nproc);

/// The command-line arguments of each worker (without the program): `arguments` (the launcher's,
/// without the program) minus --nproc N / --nproc=N, then `--set run.name="<name>"` (run.name,
/// else RunDirectory::default_name(config_path)) and, when run.num_threads is 0,
/// `--set run.num_threads=<max(1, cores / nproc)>` so that the workers share the cores.
std::vector<std::string> worker_arguments(const std::vector<std::string>& arguments,
                                          const RunOptions& run, const std::string& config_path,
                                          int nproc, int cores);

/// Runs nproc workers of this program (/proc/self/exe) with worker_arguments(argv[1..]) on this
/// machine's cores, the master at dist.master_addr and MASTER_PORT when set (else a free port).
/// Returns 0 when every worker succeeded, else the first failing worker's exit status.
int launch_local_training(const Config& config, const RunOptions& run, int argc, char** argv,
                          int nproc, const std::string& config_path);

}  // namespace rsd::pipeline
