// Process setup, done once by each program before its work: the `run:` section (threads, seed,
// determinism, logging, the run directory) and the `dist:` section (where this process sits in a
// data-parallel job).
#pragma once

#include <cstdint>
#include <string>

#include "rsd/config/config.h"
#include "rsd/dist/dist_options.h"
#include "rsd/pipeline/device.h"
#include "rsd/util/logging.h"
#include "rsd/util/run_directory.h"

namespace rsd::pipeline {

struct RunOptions {
  std::string name;              // empty: derived from the config file name and the time
  std::string root = "runs";
  uint64_t seed = 42;
  bool deterministic = false;   // deterministic algorithms (cuDNN's too); wins over cudnn_benchmark
  bool cudnn_benchmark = false; // cuDNN tries the convolution algorithms once per shape, keeps the fastest
  int num_threads = 0;           // 0: all cores
  logging::Level log_level = logging::Level::info;
  bool progress = true;
  DeviceRequest device;          // run.device (resolved per process by run_device)
};

/// run.*; throws rsd::ConfigError on bad values.
RunOptions run_options_from(const Config& config);

/// The device run.device means for the process of `local_rank` on this machine (resolve_device).
/// Throws rsd::ConfigError naming run.device when it asks for CUDA that is not there.
torch::Device run_device(const RunOptions& options, int local_rank = 0);

/// dist.*, then the torchrun variables of the environment (dist::with_environment). Throws
/// rsd::ConfigError naming the key or variable holding a malformed value.
dist::DistOptions dist_options_from(const Config& config);

/// The thread count `requested` stands for (0 or less: every core the process may use).
int resolve_num_threads(int requested);

/// Sets libtorch's intra-op threads (at::set_num_threads) and keeps an OpenBLAS behind libtorch's
/// matrix products to one thread of its own unless OPENBLAS_NUM_THREADS says otherwise: libtorch
/// calls it from inside its OpenMP team, where OpenBLAS's own threads would oversubscribe the cores
/// (docs/performance.md). No effect on other BLAS libraries.
void set_intra_op_threads(int threads);

/// Applies the process-wide part of `options`: intra-op threads (set_intra_op_threads; Debian's
/// libtorch otherwise starts with one), OpenCV's own threads (off: the loader has its workers), the
/// seed, determinism (with CUBLAS_WORKSPACE_CONFIG=:4096:8 unless already set: deterministic
/// cuBLAS needs it) and cuDNN's autotuner (run.cudnn_benchmark, off when deterministic). Returns
/// the thread count set.
int apply_run_options(const RunOptions& options, int64_t rank = 0);

/// Starts a run that writes files: opens run.root/run.name (a name derived from `config_path` and
/// the time when run.name is null, and recorded into the config), writes the resolved config to
/// config.yaml and sends the log to log.txt as well. `resume` reuses an existing folder.
RunDirectory start_run_directory(Config& config, const RunOptions& options,
                                 const std::string& config_path, bool resume);

}  // namespace rsd::pipeline
