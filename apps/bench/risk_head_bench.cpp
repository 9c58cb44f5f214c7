#include "bench/risk_head_bench.h"

#include <torch/optim/adamw.h>

#include <filesystem>
#include <memory>
#include <utility>

#include "bench/bench_model.h"
#include "rsd/model/e2e_model.h"
#include "rsd/pipeline/device.h"
#include "rsd/pipeline/model_config.h"
#include "rsd/pipeline/train_config.h"
#include "rsd/train/e2e_loss.h"

namespace rsd::bench {
namespace {

// One config's model with one RiskHead variant, its random batch, and the head's inputs.
struct Subject {
  model::E2EModel model{nullptr};
  std::unique_ptr<train::E2ELoss> loss;
  std::unique_ptr<torch::optim::AdamW> optimizer;
  data::Batch batch;
  torch::Tensor bev;        // (B, C, Y, X) the BEV encoder's output, a leaf that wants a gradient
  model::CameraViews views;  // the image encoder's features likewise
};

std::shared_ptr<Subject> make_subject(const Config& config, const RiskHeadBenchOptions& options,
                                      const torch::Device& device) {
  auto subject = std::make_shared<Subject>();
  torch::manual_seed(0);
  subject->model = model::E2EModel(pipeline::e2e_model_options_from(config));
  subject->model->to(device);
  subject->loss = std::make_unique<train::E2ELoss>(pipeline::e2e_loss_options_from(config));
  subject->optimizer = std::make_unique<torch::optim::AdamW>(
      subject->model->parameters(), torch::optim::AdamWOptions(1e-4));
  subject->batch = random_batch(config, options.batch, 1).to(device, false);
  const data::Batch& batch = subject->batch;
  auto& model = subject->model;
  torch::NoGradGuard no_grad;
  const torch::Tensor features = model->image_encoder(batch.images.flatten(0, 1));
  const auto lifted = model->lift(features, batch.intrinsics, batch.img_aug, batch.cam2ego);
  subject->bev = model->bev_encoder(lifted.bev).detach().requires_grad_(true);
  subject->views = model::CameraViews{features.detach().requires_grad_(true),
                                      batch.intrinsics,
                                      batch.img_aug,
                                      batch.cam2ego,
                                      model->lift->options.image_height(),
                                      model->lift->options.image_width(),
                                      model->lift->options.stride()};
  return subject;
}

}  // namespace

void add_risk_head_flags(CLI::App& command, RiskHeadBenchOptions& options) {
  command.add_option("--configs", options.configs, "configs whose sizes are used")
      ->capture_default_str();
  command.add_option("--types", options.types, "RiskHead variants (model.risk_head.type)")
      ->capture_default_str();
  command.add_option("--batch", options.batch, "samples per step")->check(CLI::PositiveNumber)
      ->capture_default_str();
  command.add_option("--device", options.device, "auto, cpu, cuda or cuda:N (as run.device)")
      ->capture_default_str();
}

int run_risk_head_bench(const Settings& settings, const RiskHeadBenchOptions& options) {
  const torch::Device device =
      pipeline::resolve_device(pipeline::parse_device(options.device, "--device"), 0,
                               pipeline::DeviceAvailability::of_this_process(), "--device");
  std::vector<std::pair<std::string, std::string>> labels;  // (config name, type)
  std::vector<double> head_parameters;                      // per label
  std::vector<std::shared_ptr<Subject>> subjects;           // kept alive while the runs last
  for (const auto& path : options.configs) {
    const std::string name = std::filesystem::path(path).stem().string();
    for (const auto& type : options.types) {
      Config config = load_bench_config(path);
      config.apply_override("model.risk_head.enabled=true");
      config.apply_override("model.risk_head.type=" + type);
      auto subject = make_subject(config, options, device);
      subjects.push_back(subject);
      labels.emplace_back(name, type);
      int64_t parameters = 0;
      for (const auto& parameter : subject->model->risk_head->parameters()) {
        parameters += parameter.numel();
      }
      head_parameters.push_back(static_cast<double>(parameters));
      const std::string prefix = name + "/" + type + "/";
      time_on_device(device, prefix + "head_forward_backward", [subject] {
        subject->model->risk_head(subject->bev, subject->views).sum().backward();
      });
      time_on_device(device, prefix + "train_step", [subject] {
        subject->optimizer->zero_grad();
        const model::E2EOutput output = subject->model->forward(subject->batch);
        (*subject->loss)(output, subject->batch).total.backward();
        subject->optimizer->step();
      });
    }
  }
  const auto results = run_registered(settings);
  std::vector<std::pair<std::string, double>> derived;
  for (std::size_t i = 0; i < labels.size(); ++i) {
    const auto& [name, type] = labels[i];
    const std::string prefix = name + "/" + type + "/";
    derived.emplace_back(prefix + "head_parameters", head_parameters[i]);
    const double head = find(results, prefix + "head_forward_backward").median_s();
    const double step = find(results, prefix + "train_step").median_s();
    derived.emplace_back(prefix + "head_ms", 1e3 * head);
    derived.emplace_back(prefix + "step_ms", 1e3 * step);
    derived.emplace_back(prefix + "head_share_of_step_pct", 100.0 * head / step);
    if (type != options.types.front()) {
      const std::string baseline = name + "/" + options.types.front() + "/";
      derived.emplace_back(prefix + "head_time_vs_" + options.types.front(),
                           head / find(results, baseline + "head_forward_backward").median_s());
      derived.emplace_back(prefix + "step_time_vs_" + options.types.front(),
                           step / find(results, baseline + "train_step").median_s());
    }
  }
  report("risk-head (batch " + std::to_string(options.batch) + ", " + device.str() + ")", settings,
         results, derived);
  return 0;
}

}  // namespace rsd::bench
