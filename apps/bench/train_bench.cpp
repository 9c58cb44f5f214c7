#include "bench/train_bench.h"

#include <ATen/Parallel.h>
#include <torch/cuda.h>
#include <torch/optim/adamw.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <iostream>
#include <map>
#include <optional>
#include <vector>

#include <nlohmann/json.hpp>

#include "bench/bench_model.h"
#include "bench/memory_accounting.h"
#include "rsd/model/e2e_model.h"
#include "rsd/pipeline/device.h"
#include "rsd/pipeline/model_config.h"
#include "rsd/pipeline/train_config.h"
#include "rsd/train/e2e_loss.h"
#include "rsd/train/loss_scaler.h"
#include "rsd/util/error.h"
#include "rsd/util/mixed_precision.h"

namespace rsd::bench {
namespace {

using Clock = std::chrono::steady_clock;

// Stages in step order: the model's forward stages (E2EModel's stage callback), then the loss,
// backward and optimiser.
const std::vector<std::string> kStages = {"image_encoder", "lift_pool", "bev_encoder", "heads",
                                          "loss",          "backward",  "optimiser"};

double median(std::vector<double> values) {
  std::sort(values.begin(), values.end());
  return values.empty() ? 0.0 : values[values.size() / 2];
}

nlohmann::json bench_config(const std::string& path, const TrainBenchOptions& options) {
  const Config config = load_bench_config(path);
  const torch::Device device =
      pipeline::resolve_device(pipeline::parse_device(options.device, "--device"), 0,
                               pipeline::DeviceAvailability::of_this_process(), "--device");
  const Precision precision = parse_precision(options.amp);
  RSD_CHECK(autocast_supported(device, precision), "--amp ", options.amp,
            ": this libtorch cannot autocast on ", device.str(), " at that precision");
  torch::manual_seed(0);
  model::E2EModel model(pipeline::e2e_model_options_from(config));
  model->to(device);
  train::E2ELoss loss(pipeline::e2e_loss_options_from(config));
  torch::optim::AdamW optimizer(model->parameters(), torch::optim::AdamWOptions(1e-4));
  const data::Batch batch = random_batch(config, options.batch, 1).to(device, false);
  // fp16 steps pay for the loss scale as the Trainer does: scaled backward, unscale + check.
  std::optional<train::DynamicLossScaler> scaler;
  if (precision == Precision::fp16) scaler.emplace();
  const std::vector<torch::Tensor> trained = model->parameters();

  std::map<std::string, std::vector<double>> stage_seconds;
  std::vector<double> step_seconds;
  auto mark = Clock::now();
  auto lap = [&](const std::string& stage) {
    if (device.is_cuda()) torch::cuda::synchronize(device.index());  // kernels run asynchronously
    const auto now = Clock::now();
    stage_seconds[stage].push_back(std::chrono::duration<double>(now - mark).count());
    mark = now;
  };
  model->set_stage_callback([&](const char* stage) { lap(stage); });
  auto step = [&]() {
    const auto start = Clock::now();
    mark = start;
    optimizer.zero_grad();
    torch::Tensor total;
    {
      const AutocastScope autocast(device, precision);
      const model::E2EOutput output = model->forward(batch);
      total = loss(output, batch).total;
      lap("loss");
    }
    (scaler ? scaler->scale(total) : total).backward();
    lap("backward");
    const bool finite = !scaler || scaler->unscale(trained);
    if (scaler) scaler->update();
    if (finite) optimizer.step();
    lap("optimiser");
    step_seconds.push_back(std::chrono::duration<double>(Clock::now() - start).count());
  };
  const int64_t peak = peak_rss_extra_bytes(step);  // the warm-up step, with the optimiser's state
  stage_seconds.clear();
  step_seconds.clear();
  for (int64_t i = 0; i < options.steps; ++i) step();

  int64_t parameters = 0;
  for (const auto& p : model->parameters()) parameters += p.numel();
  const double step_s = median(step_seconds);
  nlohmann::json stages = nlohmann::json::object();
  for (const auto& stage : kStages) {
    const double seconds = median(stage_seconds[stage]);
    stages[stage] = {{"ms", 1e3 * seconds}, {"share", seconds / step_s}};
  }
  return {{"config", path},
          {"device", device.str()},
          {"amp", to_string(precision)},
          {"batch", options.batch},
          {"cameras", batch.images.size(1)},
          {"image", {batch.images.size(3), batch.images.size(4)}},
          {"grid", {batch.risk_target.size(2), batch.risk_target.size(3)}},
          {"parameters_M", static_cast<double>(parameters) / 1e6},
          {"step_ms", 1e3 * step_s},
          {"samples_per_s", static_cast<double>(options.batch) / step_s},
          {"peak_memory_MiB", static_cast<double>(peak) / (1024.0 * 1024.0)},
          {"stages", stages}};
}

}  // namespace

void add_train_flags(CLI::App& command, TrainBenchOptions& options) {
  command.add_option("--configs", options.configs, "configs whose models are trained")
      ->capture_default_str();
  command.add_option("--batch", options.batch, "samples per step")->check(CLI::PositiveNumber)
      ->capture_default_str();
  command.add_option("--steps", options.steps, "timed steps per config")->check(CLI::PositiveNumber)
      ->capture_default_str();
  command.add_option("--device", options.device, "auto, cpu, cuda or cuda:N (as run.device)")
      ->capture_default_str();
  command.add_option("--amp", options.amp, "mixed precision: none, bf16 or fp16 (as train.amp)")
      ->check(CLI::IsMember({"none", "bf16", "fp16"}))
      ->capture_default_str();
}

int run_train_bench(const Settings& settings, const TrainBenchOptions& options) {
  nlohmann::json results = nlohmann::json::array();
  for (const auto& path : options.configs) results.push_back(bench_config(path, options));
  if (settings.json) {
    std::cout << nlohmann::json{{"benchmark", "train"}, {"host", host_facts()},
                                {"threads", at::get_num_threads()}, {"results", results}}
                     .dump(2)
              << "\n";
    return 0;
  }
  for (const auto& r : results) {
    std::printf("%s on %s (amp %s): batch %lld, %lld cameras at %lldx%lld, grid %lldx%lld, %.2f M parameters\n",
                r.at("config").get<std::string>().c_str(), r.at("device").get<std::string>().c_str(),
                r.at("amp").get<std::string>().c_str(), r.at("batch").get<long long>(),
                r.at("cameras").get<long long>(), r.at("image")[0].get<long long>(),
                r.at("image")[1].get<long long>(), r.at("grid")[0].get<long long>(),
                r.at("grid")[1].get<long long>(), r.at("parameters_M").get<double>());
    std::printf("  step %.1f ms, %.2f samples/s, peak memory %.0f MiB (resident, above the model and batch)\n",
                r.at("step_ms").get<double>(), r.at("samples_per_s").get<double>(),
                r.at("peak_memory_MiB").get<double>());
    for (const auto& stage : kStages) {
      const auto& s = r.at("stages").at(stage);
      std::printf("  %-14s %9.1f ms  %5.1f %%\n", stage.c_str(), s.at("ms").get<double>(),
                  100.0 * s.at("share").get<double>());
    }
  }
  return 0;
}

}  // namespace rsd::bench
