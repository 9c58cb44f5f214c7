#include "bench/ddp_bench.h"

#include <ATen/Parallel.h>
#include <torch/optim/adamw.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>

#include <nlohmann/json.hpp>

#include "bench/bench_model.h"
#include "rsd/data/batch.h"
#include "rsd/dist/communicator.h"
#include "rsd/dist/dist_options.h"
#include "rsd/dist/gradient_sync.h"
#include "rsd/dist/launcher.h"
#include "rsd/model/e2e_model.h"
#include "rsd/pipeline/model_config.h"
#include "rsd/pipeline/process.h"
#include "rsd/pipeline/train_config.h"
#include "rsd/train/e2e_loss.h"
#include "rsd/util/error.h"

namespace rsd::bench {
namespace {

using Clock = std::chrono::steady_clock;

double median(std::vector<double> values) {
  std::sort(values.begin(), values.end());
  return values.empty() ? 0.0 : values[values.size() / 2];
}

}  // namespace

void add_ddp_flags(CLI::App& command, CLI::App& worker, DdpBenchOptions& options) {
  command.add_option("--processes", options.processes, "world sizes to measure")
      ->delimiter(',')
      ->capture_default_str();
  for (CLI::App* app : {&command, &worker}) {
    app->add_option("--steps", options.steps, "timed steps per job")->check(CLI::PositiveNumber)
        ->capture_default_str();
    app->add_option("--batch", options.batch, "samples per process per step")
        ->check(CLI::PositiveNumber)->capture_default_str();
    app->add_option("--config", options.config, "config of the model trained")->capture_default_str();
  }
  worker.add_option("--output", options.worker_output, "rank 0 writes its times here")->required();
}

int run_ddp_worker(const DdpBenchOptions& options) {
  const dist::DistOptions dist_options = dist::with_environment(dist::DistOptions{});
  auto communicator = std::make_shared<dist::Communicator>(dist_options);
  const Config config = load_bench_config(options.config);
  torch::manual_seed(0);
  model::E2EModel model(pipeline::e2e_model_options_from(config));
  train::E2ELoss loss(pipeline::e2e_loss_options_from(config));
  dist::broadcast_module(*communicator, *model);
  std::vector<torch::Tensor> parameters = model->parameters();
  torch::optim::AdamW optimizer(parameters, torch::optim::AdamWOptions(1e-4));
  std::unique_ptr<dist::GradientSynchronizer> sync;
  if (communicator->world_size() > 1) {
    sync = std::make_unique<dist::GradientSynchronizer>(communicator, parameters,
                                                        dist_options.bucket_mb);
  }
  const data::Batch batch = random_batch(config, options.batch, 100 + communicator->rank());

  int64_t gradient_bytes = 0;
  for (const auto& p : parameters) gradient_bytes += p.numel() * p.element_size();
  std::vector<double> step_s, wait_s, all_reduce_s;
  const int64_t warmup = 2;
  for (int64_t step = 0; step < warmup + options.steps; ++step) {
    communicator->barrier();
    const auto start = Clock::now();
    optimizer.zero_grad();
    if (sync) sync->arm();
    loss(model->forward(batch), batch).total.backward();
    if (sync) sync->finish();
    optimizer.step();
    const double seconds = std::chrono::duration<double>(Clock::now() - start).count();
    if (step < warmup) continue;
    step_s.push_back(seconds);
    wait_s.push_back(sync ? sync->last_wait_seconds() : 0.0);
    // The same bytes all-reduced alone, not overlapped with anything: the communication cost.
    std::vector<torch::Tensor> flat{torch::zeros({gradient_bytes / 4})};
    communicator->barrier();
    const auto reduce_start = Clock::now();
    communicator->all_reduce_sum(flat);
    all_reduce_s.push_back(std::chrono::duration<double>(Clock::now() - reduce_start).count());
  }
  if (communicator->is_main()) {
    const double step = median(step_s);
    nlohmann::json result{
        {"processes", communicator->world_size()},
        {"threads_per_process", at::get_num_threads()},
        {"batch_per_process", options.batch},
        {"step_s", step},
        {"samples_per_s", static_cast<double>(options.batch * communicator->world_size()) / step},
        {"exposed_all_reduce_wait_s", median(wait_s)},
        {"all_reduce_s", communicator->world_size() > 1 ? median(all_reduce_s) : 0.0},
        {"gradient_MB", static_cast<double>(gradient_bytes) / 1e6},
        {"buckets", sync ? sync->bucket_count() : 0}};
    std::ofstream(options.worker_output) << result.dump() << "\n";
  }
  return 0;
}

int run_ddp_bench(const Settings& settings, const DdpBenchOptions& options) {
  const int cores = pipeline::resolve_num_threads(settings.threads);
  const std::filesystem::path folder =
      std::filesystem::temp_directory_path() / ("rsd_bench_ddp_" + std::to_string(::getpid()));
  std::filesystem::create_directories(folder);
  nlohmann::json jobs = nlohmann::json::array();
  for (const int processes : options.processes) {
    RSD_CHECK(processes >= 1, "--processes: world sizes must be >= 1");
    const std::string output = (folder / ("world" + std::to_string(processes) + ".json")).string();
    // Every job uses the same cores in total: one process with all of them, or several sharing.
    const int threads = std::max(1, cores / processes);
    std::vector<std::string> argv{"/proc/self/exe", "--threads", std::to_string(threads),
                                  "ddp-worker", "--steps", std::to_string(options.steps),
                                  "--batch", std::to_string(options.batch), "--config", options.config,
                                  "--output", output};
    dist::LaunchOptions launch;
    launch.nproc = processes;
    const int status = dist::launch_local(argv, launch);
    if (status != 0) throw Error("rsd_bench ddp: the job of " + std::to_string(processes) +
                                 " processes failed with status " + std::to_string(status));
    std::ifstream in(output);
    jobs.push_back(nlohmann::json::parse(in));
  }
  std::filesystem::remove_all(folder);

  const double base = jobs.front().at("samples_per_s").get<double>();
  for (auto& job : jobs) job["throughput_vs_first"] = job.at("samples_per_s").get<double>() / base;
  if (settings.json) {
    nlohmann::json document{{"benchmark", "ddp"}, {"host", host_facts()}, {"jobs", jobs}};
    std::cout << document.dump(2) << "\n";
    return 0;
  }
  std::printf("%-10s %-8s %-10s %-12s %-14s %-18s %-14s %-10s\n", "processes", "threads",
              "step_ms", "samples/s", "vs first", "exposed wait ms", "all-reduce ms", "grad MB");
  for (const auto& job : jobs) {
    std::printf("%-10d %-8d %-10.1f %-12.2f %-14.2f %-18.2f %-14.2f %-10.2f\n",
                job.at("processes").get<int>(), job.at("threads_per_process").get<int>(),
                1e3 * job.at("step_s").get<double>(), job.at("samples_per_s").get<double>(),
                job.at("throughput_vs_first").get<double>(),
                1e3 * job.at("exposed_all_reduce_wait_s").get<double>(),
                1e3 * job.at("all_reduce_s").get<double>(), job.at("gradient_MB").get<double>());
  }
  return 0;
}

}  // namespace rsd::bench
