#include "rsd/pipeline/process.h"

#include <ATen/Context.h>
#include <ATen/Parallel.h>
#include <dlfcn.h>
#include <opencv2/core/utility.hpp>
#include <sched.h>

#include <algorithm>
#include <cstdlib>
#include <thread>

#include "rsd/util/error.h"
#include "rsd/util/log_setup.h"
#include "rsd/util/seed.h"

namespace rsd::pipeline {

RunOptions run_options_from(const Config& config) {
  const Config run = config.section("run");
  RunOptions options;
  options.name = run.get_or<std::string>("name", "");
  options.root = run.get<std::string>("root");
  const int64_t seed = run.get<int64_t>("seed");
  if (seed < 0) throw ConfigError("config key 'run.seed' must be >= 0, got " + std::to_string(seed));
  options.seed = static_cast<uint64_t>(seed);
  options.deterministic = run.get<bool>("deterministic");
  // Optional, like run.device: configs of runs written before the key existed lack it.
  options.cudnn_benchmark = run.get_or<bool>("cudnn_benchmark", false);
  options.num_threads = run.get<int>("num_threads");
  if (options.num_threads < 0) {
    throw ConfigError("config key 'run.num_threads' must be >= 0 (0 = all cores), got " +
                      std::to_string(options.num_threads));
  }
  options.log_level = logging::parse_level(run.get<std::string>("log_level"));
  options.progress = run.get<bool>("progress");
  // Optional: run directories written before the key existed hold configs without it.
  options.device = parse_device(run.get_or<std::string>("device", "auto"), "run.device");
  return options;
}

torch::Device run_device(const RunOptions& options, int local_rank) {
  return resolve_device(options.device, local_rank, DeviceAvailability::of_this_process(),
                        "run.device");
}

dist::DistOptions dist_options_from(const Config& config) {
  const Config section = config.section("dist");
  dist::DistOptions options;
  options.backend = section.get<std::string>("backend");
  options.master_addr = section.get<std::string>("master_addr");
  options.master_port = section.get<int>("master_port");
  options.timeout_s = section.get<double>("timeout_s");
  options.bucket_mb = section.get<double>("bucket_mb");
  return dist::with_environment(options);
}

int resolve_num_threads(int requested) {
  if (requested > 0) return requested;
  // The CPUs this process may run on (containers and taskset restrict them), not the machine's.
  cpu_set_t set;
  if (sched_getaffinity(0, sizeof set, &set) == 0) {
    const int allowed = CPU_COUNT(&set);
    if (allowed > 0) return allowed;
  }
  return static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
}

void set_intra_op_threads(int threads) {
  at::set_num_threads(threads);
  // Debian's libblas.so.3 is OpenBLAS once libopenblas0-pthread is installed (scripts/setup.sh).
  // OpenBLAS reads OPENBLAS_NUM_THREADS when it is loaded, before main, so only its setter can
  // still change its thread count; looked up at run time because the reference BLAS and PyPI's
  // torch (MKL inside) have none.
  if (std::getenv("OPENBLAS_NUM_THREADS") != nullptr) return;
  using SetThreads = void (*)(int);
  if (auto set = reinterpret_cast<SetThreads>(::dlsym(RTLD_DEFAULT, "openblas_set_num_threads"))) {
    set(1);
  }
}

int apply_run_options(const RunOptions& options, int64_t rank) {
  const int threads = resolve_num_threads(options.num_threads);
  set_intra_op_threads(threads);
  cv::setNumThreads(0);
  if (options.deterministic) {
    // cuBLAS is deterministic only with a fixed workspace; libtorch refuses its CUDA matrix
    // products under deterministic algorithms without this. Both read it later, when first needed.
    ::setenv("CUBLAS_WORKSPACE_CONFIG", ":4096:8", /*overwrite=*/0);
  }
  seed_everything(options.seed, rank, options.deterministic);
  if (options.cudnn_benchmark && options.deterministic) {
    logging::warn("run.cudnn_benchmark is ignored: run.deterministic needs cuDNN's autotuner off");
  }
  at::globalContext().setBenchmarkCuDNN(options.cudnn_benchmark && !options.deterministic);
  return threads;
}

RunDirectory start_run_directory(Config& config, const RunOptions& options,
                                 const std::string& config_path, bool resume) {
  const std::string name =
      options.name.empty() ? RunDirectory::default_name(config_path) : options.name;
  RunDirectory directory = RunDirectory::open(options.root, name, resume);
  if (options.name.empty()) config.set("run.name", "\"" + name + "\"", "derived run name");
  config.save(directory.config_path());
  logging::setup({options.log_level, directory.log_path(), 0, true});
  logging::info("run directory " + directory.path());
  return directory;
}

}  // namespace rsd::pipeline
