// `rsd_train --nproc N`: runs N copies of a program on this machine as one data-parallel job, each
// with the torchrun variables (MASTER_ADDR, MASTER_PORT, RANK, WORLD_SIZE, LOCAL_RANK) set. When a
// worker fails, the others are stopped, so that a job never hangs on a dead member.
#pragma once

#include <string>
#include <vector>

namespace rsd::dist {

struct LaunchOptions {
  int nproc = 1;
  std::string master_addr = "127.0.0.1";
  int master_port = 0;          // 0: a free port chosen by the kernel
  double grace_s = 10.0;        // after a failure, how long the others get before SIGKILL
};

/// Runs `argv` (argv[0] = the program) nproc times and waits for all. Returns 0 when every worker
/// exited 0, otherwise the first failing worker's exit code (128 + signal when killed). Throws
/// rsd::Error when a worker cannot be started.
int launch_local(const std::vector<std::string>& argv, const LaunchOptions& options);

/// A loopback TCP port that was free when asked.
int free_local_port();

}  // namespace rsd::dist
