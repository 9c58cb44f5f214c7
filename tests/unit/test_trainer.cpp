// The Trainer: on a tiny E2E model and an in-memory dataset (exact resume after an interruption,
// NaN/Inf guards, metrics and checkpoints), and on a model and batch type of the test's own (the
// step interface, parameter groups, validation mode, hooks: order, state, stop, exceptions).
#include <gtest/gtest.h>

#include <ATen/CPUGeneratorImpl.h>
#include <torch/serialize/input-archive.h>
#include <torch/serialize/output-archive.h>
#include <torch/torch.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <functional>
#include <limits>

#include <nlohmann/json.hpp>

#include "rsd/data/loader.h"
#include "rsd/model/e2e_model.h"
#include "rsd/train/checkpoint.h"
#include "rsd/train/e2e_loss.h"
#include "rsd/train/e2e_train_module.h"
#include "rsd/train/loader_source.h"
#include "rsd/train/trainer.h"
#include "rsd/util/error.h"
#include "rsd/util/logging.h"
#include "support/log_capture.h"
#include "support/temp_dir.h"
#include "support/tiny_e2e.h"

namespace {

using rsd::test::TempDir;
using rsd::train::Hook;
using rsd::train::StepResult;
using rsd::train::TrainerOptions;
using rsd::train::TrainerState;

std::vector<nlohmann::json> read_metrics(const std::string& path) {
  std::vector<nlohmann::json> lines;
  std::ifstream in(path);
  for (std::string line; std::getline(in, line);) lines.push_back(nlohmann::json::parse(line));
  return lines;
}

// ---------------------------------------------------------------------------------------------
// The E2E model through E2ETrainModule and the data loader.

// train.* of the former tiny test config: 6 steps, checkpoints every 2, two kept.
TrainerOptions tiny_e2e_trainer_options(const std::string& run_dir) {
  TrainerOptions options;
  options.steps = 6;
  options.lr = 0.001;
  options.warmup_steps = 2;
  options.val_every = 0;
  options.checkpoint_every = 2;
  options.keep_checkpoints = 2;
  options.log_every = 1;
  options.progress = false;
  options.run_dir = run_dir;
  return options;
}

std::shared_ptr<rsd::train::LoaderSource> tiny_loader(int64_t samples, bool poisoned = false) {
  rsd::data::LoaderOptions options;
  options.batch_size = 2;
  options.workers = 1;
  options.prefetch = 2;
  return std::make_shared<rsd::train::LoaderSource>(std::make_shared<rsd::data::Loader>(
      std::make_shared<rsd::test::TinyE2EDataset>(samples, poisoned), options));
}

struct TinyRun {
  rsd::train::TrainSummary summary;
  rsd::model::E2EModel model{nullptr};
};

TinyRun train_e2e(const TrainerOptions& options, bool resume, bool poisoned = false,
                  bool risk_head = true, int64_t samples = 10) {
  torch::manual_seed(7);
  TinyRun run;
  run.model = rsd::model::E2EModel(rsd::test::tiny_e2e_model_options(risk_head));
  auto module = std::make_shared<rsd::train::E2ETrainModule>(
      run.model, rsd::train::E2ELoss(rsd::test::tiny_e2e_loss_options()));
  rsd::train::Trainer<rsd::data::Batch> trainer(options, module, tiny_loader(samples, poisoned));
  run.summary = trainer.run(resume);
  return run;
}

TEST(Trainer, InterruptedAndResumedRunEndsWithTheWeightsOfAnUninterruptedOne) {
  TempDir dir;
  // 10 samples in batches of 2 = 5 batches per epoch: 6 steps cross an epoch boundary, and the
  // interruption after 3 steps falls inside the first epoch.
  const TinyRun whole = train_e2e(tiny_e2e_trainer_options(dir.file("whole")), false);
  EXPECT_EQ(whole.summary.step, 6);

  TrainerOptions interrupted = tiny_e2e_trainer_options(dir.file("split"));
  interrupted.stop_after = 3;
  const TinyRun first = train_e2e(interrupted, false);
  EXPECT_EQ(first.summary.step, 3);
  const TinyRun second = train_e2e(tiny_e2e_trainer_options(dir.file("split")), true);
  EXPECT_EQ(second.summary.step, 6);

  const auto expected = whole.model->named_parameters();
  const auto actual = second.model->named_parameters();
  ASSERT_EQ(expected.size(), actual.size());
  for (const auto& item : expected) {
    const torch::Tensor difference = (item.value() - actual[item.key()]).abs().max();
    EXPECT_LE(difference.item<double>(), 1e-6) << item.key();
  }
  for (const auto& item : whole.model->named_buffers()) {
    EXPECT_TRUE(torch::allclose(item.value(), second.model->named_buffers()[item.key()], 1e-6, 1e-6))
        << item.key();
  }
  // Training changed the weights at all (so that the equality above says something).
  TrainerOptions one_step = tiny_e2e_trainer_options("");
  one_step.steps = 1;
  one_step.warmup_steps = 0;
  const TinyRun untrained = train_e2e(one_step, false);
  double moved = 0.0;
  for (const auto& item : whole.model->named_parameters()) {
    moved += (item.value() - untrained.model->named_parameters()[item.key()]).abs().sum().item<double>();
  }
  EXPECT_GT(moved, 0.0);
}

TEST(Trainer, WritesMetricsEveryStepAndKeepsTheNewestCheckpoints) {
  TempDir dir;
  train_e2e(tiny_e2e_trainer_options(dir.path()), false);
  const auto lines = read_metrics(dir.file("metrics.jsonl"));
  ASSERT_EQ(lines.size(), 6u);
  for (std::size_t i = 0; i < lines.size(); ++i) {
    const auto& line = lines[i];
    EXPECT_EQ(line.at("mode"), "train");
    EXPECT_EQ(line.at("step").get<int64_t>(), static_cast<int64_t>(i + 1));
    for (const char* key : {"lr", "loss", "loss_detection", "loss_planning", "loss_risk", "grad_norm",
                            "samples_per_s", "data_wait_fraction"}) {
      ASSERT_TRUE(line.contains(key)) << key << " in line " << i;
      EXPECT_TRUE(std::isfinite(line.at(key).get<double>())) << key;
    }
    EXPECT_GE(line.at("data_wait_fraction").get<double>(), 0.0);
    EXPECT_LE(line.at("data_wait_fraction").get<double>(), 1.0);
  }
  // Warmup over 2 steps from a third of the learning rate (mmcv's default), then cosine from the top.
  EXPECT_NEAR(lines[0].at("lr").get<double>(), 0.001 / 3.0, 1e-12);
  EXPECT_NEAR(lines[1].at("lr").get<double>(), 0.002 / 3.0, 1e-12);
  EXPECT_NEAR(lines[2].at("lr").get<double>(), 0.001, 1e-12);
  EXPECT_LT(lines[5].at("lr").get<double>(), lines[4].at("lr").get<double>());
  // Checkpoints at steps 2, 4, 6; two kept.
  EXPECT_FALSE(std::filesystem::exists(dir.file("checkpoints/step_2.pt")));
  EXPECT_TRUE(std::filesystem::exists(dir.file("checkpoints/step_4.pt")));
  EXPECT_TRUE(std::filesystem::exists(dir.file("checkpoints/step_6.pt")));
}

TEST(Trainer, AFewStepsLowerEveryLoss) {
  TempDir dir;
  // 4 samples = 2 batches seen over and over: every term must fall when the model fits them.
  TrainerOptions options = tiny_e2e_trainer_options(dir.path());
  options.steps = 40;
  options.warmup_steps = 0;
  options.lr = 0.003;
  options.checkpoint_every = 0;
  train_e2e(options, false, false, true, /*samples=*/4);
  const auto lines = read_metrics(dir.file("metrics.jsonl"));
  ASSERT_EQ(lines.size(), 40u);
  auto mean = [&](const char* key, std::size_t from, std::size_t to) {
    double sum = 0.0;
    for (std::size_t i = from; i < to; ++i) sum += lines[i].at(key).get<double>();
    return sum / static_cast<double>(to - from);
  };
  for (const char* key : {"loss", "loss_heatmap", "loss_box", "loss_planning", "loss_risk"}) {
    EXPECT_LT(mean(key, 36, 40), 0.8 * mean(key, 0, 4)) << key;
  }
}

TEST(Trainer, RiskHeadOffMeansNoRiskTermAndFewerParameters) {
  TempDir dir;
  TrainerOptions options = tiny_e2e_trainer_options(dir.file("on"));
  options.steps = 1;
  options.warmup_steps = 0;
  const TinyRun with = train_e2e(options, false);
  options.run_dir = dir.file("off");
  const TinyRun without = train_e2e(options, false, false, /*risk_head=*/false);
  EXPECT_TRUE(read_metrics(dir.file("on/metrics.jsonl")).at(0).contains("loss_risk"));
  EXPECT_FALSE(read_metrics(dir.file("off/metrics.jsonl")).at(0).contains("loss_risk"));
  EXPECT_LT(without.model->parameters().size(), with.model->parameters().size());
}

TEST(Trainer, NonFiniteLossesSkipUpdatesThenStopWithACheckpoint) {
  TempDir dir;
  TrainerOptions options = tiny_e2e_trainer_options(dir.path());
  options.max_bad_steps = 3;
  try {
    train_e2e(options, false, /*poisoned=*/true);
    FAIL() << "expected the run to stop";
  } catch (const rsd::Error& error) {
    const std::string message = error.what();
    EXPECT_NE(message.find("3 consecutive non-finite losses"), std::string::npos) << message;
    EXPECT_NE(message.find("step_3.pt"), std::string::npos) << message;
  }
  // The skipped steps left the weights as they were initialised: loading the checkpoint into a
  // freshly seeded model changes nothing.
  torch::manual_seed(7);
  rsd::model::E2EModel fresh(rsd::test::tiny_e2e_model_options());
  rsd::model::E2EModel restored(rsd::test::tiny_e2e_model_options());
  for (auto& parameter : restored->parameters()) {
    torch::NoGradGuard no_grad;
    parameter.add_(1.0);
  }
  rsd::train::CheckpointManager::load(dir.file("checkpoints/step_3.pt"), *restored, nullptr);
  for (const auto& item : fresh->named_parameters()) {
    EXPECT_TRUE(torch::equal(item.value(), restored->named_parameters()[item.key()])) << item.key();
  }
}

TEST(Trainer, E2ETrainModuleGroupsTheImageEncoderAtTheBackboneRate) {
  torch::manual_seed(7);
  rsd::model::E2EModel model(rsd::test::tiny_e2e_model_options());
  rsd::train::E2ETrainModuleOptions module_options;
  module_options.backbone_lr_mult = 0.25;
  auto module = std::make_shared<rsd::train::E2ETrainModule>(
      model, rsd::train::E2ELoss(rsd::test::tiny_e2e_loss_options()), module_options);
  TrainerOptions options = tiny_e2e_trainer_options("");
  options.steps = 1;
  options.warmup_steps = 0;
  rsd::train::Trainer<rsd::data::Batch> trainer(options, module, tiny_loader(4));
  trainer.run();
  const auto& groups = trainer.optimizer().param_groups();
  ASSERT_EQ(groups.size(), 2u);
  EXPECT_EQ(groups[0].params().size(), model->image_encoder->parameters().size());
  EXPECT_EQ(groups[0].params().size() + groups[1].params().size(), model->parameters().size());
  EXPECT_NEAR(groups[0].options().get_lr(), 0.25 * groups[1].options().get_lr(), 1e-15);
}

// ---------------------------------------------------------------------------------------------
// A model and batch type of the test's own: y = 3x + 1 fitted by a sum of two linear layers.

struct Points {
  torch::Tensor x;  // (8, 1)
  torch::Tensor y;  // (8, 1)
};

// Batches fixed by (epoch, index), so an epoch restarted at a batch continues exactly.
class LineSource : public rsd::train::BatchSource<Points> {
 public:
  explicit LineSource(int64_t batches_per_epoch) : batches_per_epoch_(batches_per_epoch) {}
  void start_epoch(int64_t epoch, int64_t first_batch) override {
    epoch_ = epoch;
    next_ = first_batch;
  }
  std::optional<Points> next() override {
    if (next_ == batches_per_epoch_) return std::nullopt;
    auto generator = at::detail::createCPUGenerator(static_cast<uint64_t>(100 * epoch_ + next_++));
    const torch::Tensor x = at::normal(0.0, 1.0, {8, 1}, generator);
    return Points{x, 3.0 * x + 1.0};
  }
  int64_t batch_size() const override { return 8; }

 private:
  int64_t batches_per_epoch_;
  int64_t epoch_ = 0;
  int64_t next_ = 0;
};

struct TwoLinesImpl : torch::nn::Module {
  TwoLinesImpl()
      : first(register_module("first", torch::nn::Linear(1, 1))),
        second(register_module("second", torch::nn::Linear(1, 1))) {}
  torch::Tensor forward(const torch::Tensor& x) { return first(x) + second(x); }
  torch::nn::Linear first, second;
};
TORCH_MODULE(TwoLines);

class LineModule : public rsd::train::TrainModule<Points> {
 public:
  explicit LineModule(double second_lr_mult = 1.0, bool group_second = true)
      : second_lr_mult_(second_lr_mult), group_second_(group_second) {}

  StepResult training_step(const Points& batch) override {
    if (throw_at_call > 0 && ++calls_ == throw_at_call) throw std::runtime_error("broken batch");
    const torch::Tensor error = net->forward(batch.x) - batch.y;
    const torch::Tensor mse = error.pow(2).mean();
    return {mse, {{"loss_mse", mse}, {"loss_abs", error.abs().mean().detach()}}};
  }
  StepResult validation_step(const Points& batch) override {
    validated_in_training_mode = net->is_training();
    validated_with_gradients = torch::GradMode::is_enabled();
    return training_step(batch);
  }
  std::vector<rsd::train::ParamGroup> param_groups() override {
    std::vector<rsd::train::ParamGroup> groups{{"first", net->first->parameters(), 1.0}};
    if (group_second_) groups.push_back({"second", net->second->parameters(), second_lr_mult_});
    return groups;
  }
  torch::nn::Module& module() override { return *net; }

  TwoLines net;
  int throw_at_call = 0;  // training_step throws at this call (0: never)
  std::optional<bool> validated_in_training_mode;
  std::optional<bool> validated_with_gradients;

 private:
  double second_lr_mult_;
  bool group_second_;
  int calls_ = 0;
};

TrainerOptions line_options(const std::string& run_dir, int64_t steps) {
  TrainerOptions options;
  options.steps = steps;
  options.lr = 0.2;
  options.warmup_steps = 0;
  options.weight_decay = 0.0;
  options.val_every = 0;
  options.checkpoint_every = 0;
  options.log_every = 1;
  options.progress = false;
  options.run_dir = run_dir;
  return options;
}

// Records "name:point@steps_done" at every hook point into a shared log, counts its after_step
// calls in its checkpointed state, and runs `on_after_step` if set.
class RecordingHook : public Hook {
 public:
  RecordingHook(std::string name, int priority, std::vector<std::string>* log)
      : name_(std::move(name)), priority_(priority), log_(log) {}
  std::string name() const override { return name_; }
  int priority() const override { return priority_; }
  void before_train(TrainerState& state) override {
    record("before_train", state);
    count_at_start = count;
  }
  void before_step(TrainerState& state) override { record("before_step", state); }
  void after_backward(TrainerState& state) override { record("after_backward", state); }
  void after_step(TrainerState& state) override {
    ++count;
    record("after_step", state);
    if (on_after_step) on_after_step(state);
  }
  void after_train(TrainerState& state, bool completed) override {
    record(completed ? "after_train(completed)" : "after_train(failed)", state);
    if (throw_in_after_train) throw std::runtime_error("the hook's own failure");
  }
  void save(torch::serialize::OutputArchive& archive) const override {
    archive.write("count", c10::IValue(count));
  }
  void load(torch::serialize::InputArchive& archive) override {
    c10::IValue value;
    archive.read("count", value);
    count = value.toInt();
  }

  int64_t count = 0;
  int64_t count_at_start = -1;
  bool throw_in_after_train = false;
  std::function<void(TrainerState&)> on_after_step;

 private:
  void record(const std::string& point, const TrainerState& state) {
    if (log_) log_->push_back(name_ + ":" + point + "@" + std::to_string(state.steps_done()));
  }
  std::string name_;
  int priority_;
  std::vector<std::string>* log_;
};

TEST(Trainer, TrainsAModelOfItsOwnBatchTypeWithPerGroupRatesAndValidatesInEvalMode) {
  TempDir dir;
  torch::manual_seed(3);
  // The second layer's group learns at rate 0: it must not move while the first fits the line.
  auto module = std::make_shared<LineModule>(/*second_lr_mult=*/0.0);
  const torch::Tensor second_before = module->net->second->weight.detach().clone();
  const torch::Tensor first_before = module->net->first->weight.detach().clone();
  TrainerOptions options = line_options(dir.path(), 60);
  options.val_every = 20;
  rsd::train::Trainer<Points> trainer(options, module, std::make_shared<LineSource>(4),
                                      std::make_shared<LineSource>(2));
  const rsd::train::TrainSummary summary = trainer.run();

  EXPECT_EQ(summary.step, 60);
  EXPECT_TRUE(torch::equal(module->net->second->weight, second_before));
  EXPECT_FALSE(torch::equal(module->net->first->weight, first_before));
  ASSERT_TRUE(module->validated_in_training_mode.has_value());
  EXPECT_FALSE(*module->validated_in_training_mode);
  EXPECT_FALSE(*module->validated_with_gradients);
  EXPECT_TRUE(module->net->is_training());  // restored after validation

  const auto lines = read_metrics(dir.file("metrics.jsonl"));
  std::vector<nlohmann::json> train_lines, val_lines;
  for (const auto& line : lines) {
    (line.at("mode") == "train" ? train_lines : val_lines).push_back(line);
  }
  ASSERT_EQ(train_lines.size(), 60u);
  ASSERT_EQ(val_lines.size(), 3u);  // steps 20, 40, 60
  EXPECT_EQ(val_lines.back().at("step").get<int64_t>(), 60);
  EXPECT_TRUE(val_lines.back().contains("loss_abs"));
  EXPECT_LT(train_lines.back().at("loss_mse").get<double>(),
            0.1 * train_lines.front().at("loss_mse").get<double>());
  EXPECT_NEAR(summary.best_val, std::min({val_lines[0].at("loss").get<double>(),
                                          val_lines[1].at("loss").get<double>(),
                                          val_lines[2].at("loss").get<double>()}),
              1e-12);
  EXPECT_TRUE(std::filesystem::exists(dir.file("checkpoints/best.pt")));
}

TEST(Trainer, RefusesAParameterOutsideEveryGroup) {
  auto module = std::make_shared<LineModule>(1.0, /*group_second=*/false);
  try {
    rsd::train::Trainer<Points> trainer(line_options("", 1), module,
                                        std::make_shared<LineSource>(2));
    FAIL() << "expected an error";
  } catch (const rsd::Error& error) {
    EXPECT_NE(std::string(error.what()).find("second.weight"), std::string::npos) << error.what();
  }
}

TEST(Trainer, HooksRunInPriorityOrderAroundTheBuiltInOnes) {
  TempDir dir;
  std::vector<std::string> log;
  auto module = std::make_shared<LineModule>();
  TrainerOptions options = line_options(dir.path(), 2);
  options.val_every = 2;
  rsd::train::Trainer<Points> trainer(options, module, std::make_shared<LineSource>(4),
                                      std::make_shared<LineSource>(1));
  auto late = std::make_shared<RecordingHook>("late", 95, &log);
  auto early = std::make_shared<RecordingHook>("early", 10, &log);
  auto middle = std::make_shared<RecordingHook>("middle", 50, &log);
  // At step 2 the early hook runs before validation and the checkpoint; the late one after both.
  bool early_saw_validation = true, late_saw_validation = false, late_saw_checkpoint = false;
  early->on_after_step = [&](TrainerState& state) {
    if (state.steps_done() == 2) early_saw_validation = state.validation.has_value();
  };
  late->on_after_step = [&](TrainerState& state) {
    if (state.steps_done() != 2) return;
    late_saw_validation = state.validation.has_value();
    late_saw_checkpoint = state.checkpoint_step() == 2;
  };
  trainer.add_hook(late);
  trainer.add_hook(early);
  trainer.add_hook(middle);
  trainer.run();

  const std::vector<std::string> expected = {
      "early:before_train@0",   "middle:before_train@0",   "late:before_train@0",
      "early:before_step@0",    "middle:before_step@0",    "late:before_step@0",
      "early:after_backward@0", "middle:after_backward@0", "late:after_backward@0",
      "early:after_step@1",     "middle:after_step@1",     "late:after_step@1",
      "early:before_step@1",    "middle:before_step@1",    "late:before_step@1",
      "early:after_backward@1", "middle:after_backward@1", "late:after_backward@1",
      "early:after_step@2",     "middle:after_step@2",     "late:after_step@2",
      "early:after_train(completed)@2", "middle:after_train(completed)@2",
      "late:after_train(completed)@2"};
  EXPECT_EQ(log, expected);
  EXPECT_FALSE(early_saw_validation);
  EXPECT_TRUE(late_saw_validation);
  EXPECT_TRUE(late_saw_checkpoint);
}

TEST(Trainer, HookStateTravelsInCheckpointsAndResumesWithTheRun) {
  TempDir dir;
  TrainerOptions options = line_options(dir.path(), 6);
  options.checkpoint_every = 1;
  {
    options.stop_after = 3;
    rsd::train::Trainer<Points> trainer(options, std::make_shared<LineModule>(),
                                        std::make_shared<LineSource>(4));
    auto counter = std::make_shared<RecordingHook>("counter", 50, nullptr);
    trainer.add_hook(counter);
    EXPECT_EQ(trainer.run().step, 3);
    EXPECT_EQ(counter->count, 3);
  }
  {
    options.stop_after = 0;
    rsd::train::Trainer<Points> trainer(options, std::make_shared<LineModule>(),
                                        std::make_shared<LineSource>(4));
    auto counter = std::make_shared<RecordingHook>("counter", 50, nullptr);
    trainer.add_hook(counter);
    EXPECT_EQ(trainer.run(/*resume=*/true).step, 6);
    EXPECT_EQ(counter->count_at_start, 3);
    EXPECT_EQ(counter->count, 6);
  }
  // A trainer without that hook still resumes the run (the unknown state is skipped).
  options.steps = 7;
  rsd::train::Trainer<Points> trainer(options, std::make_shared<LineModule>(),
                                      std::make_shared<LineSource>(4));
  EXPECT_EQ(trainer.run(/*resume=*/true).step, 7);
}

TEST(Trainer, ResumesACheckpointWrittenWithoutHookState) {
  // As checkpoints of runs before hooks existed: weights, optimiser, progress, no "hooks".
  TempDir dir;
  auto module = std::make_shared<LineModule>();
  torch::optim::AdamW optimizer(
      std::vector<torch::optim::OptimizerParamGroup>{
          torch::optim::OptimizerParamGroup(module->net->first->parameters()),
          torch::optim::OptimizerParamGroup(module->net->second->parameters())},
      torch::optim::AdamWOptions(0.2));
  rsd::train::TrainingProgress progress;
  progress.step = 2;
  progress.samples_in_epoch = 16;
  rsd::train::CheckpointManager(dir.file("checkpoints"), 3)
      .save(progress, *module->net, optimizer, false);

  std::vector<std::string> log;
  rsd::train::Trainer<Points> trainer(line_options(dir.path(), 4), std::make_shared<LineModule>(),
                                      std::make_shared<LineSource>(4));
  auto recorder = std::make_shared<RecordingHook>("recorder", 50, &log);
  trainer.add_hook(recorder);
  EXPECT_EQ(trainer.run(/*resume=*/true).step, 4);
  EXPECT_EQ(log.front(), "recorder:before_train@2");
  EXPECT_EQ(recorder->count, 2);  // fresh state: only this run's steps 3 and 4
}

TEST(Trainer, AHookCanStopTheRunAndTheEndIsCheckpointed) {
  TempDir dir;
  std::vector<std::string> log;
  rsd::train::Trainer<Points> trainer(line_options(dir.path(), 10), std::make_shared<LineModule>(),
                                      std::make_shared<LineSource>(4));
  auto stopper = std::make_shared<RecordingHook>("stopper", 50, &log);
  stopper->on_after_step = [](TrainerState& state) {
    if (state.steps_done() == 2) state.request_stop("enough for the test");
  };
  trainer.add_hook(stopper);
  const rsd::train::TrainSummary summary = trainer.run();
  EXPECT_EQ(summary.step, 2);
  EXPECT_EQ(trainer.state().stop_reason(), "enough for the test");
  EXPECT_EQ(log.back(), "stopper:after_train(completed)@2");
  EXPECT_TRUE(std::filesystem::exists(dir.file("checkpoints/step_2.pt")));
  EXPECT_NE(summary.last_checkpoint.find("step_2.pt"), std::string::npos);
}

TEST(Trainer, AnErrorReachesEveryHooksAfterTrainThenPropagates) {
  std::vector<std::string> log;
  auto module = std::make_shared<LineModule>();
  module->throw_at_call = 3;
  rsd::train::Trainer<Points> trainer(line_options("", 10), module,
                                      std::make_shared<LineSource>(4));
  auto failing = std::make_shared<RecordingHook>("failing", 40, &log);
  failing->throw_in_after_train = true;  // must not replace the run's own error
  trainer.add_hook(failing);
  trainer.add_hook(std::make_shared<RecordingHook>("watcher", 50, &log));
  try {
    trainer.run();
    FAIL() << "expected the module's error";
  } catch (const std::runtime_error& error) {
    EXPECT_EQ(std::string(error.what()), "broken batch");
  }
  ASSERT_GE(log.size(), 2u);
  EXPECT_EQ(log[log.size() - 2], "failing:after_train(failed)@2");
  EXPECT_EQ(log.back(), "watcher:after_train(failed)@2");
}

TEST(Trainer, RefusesDuplicateOrMalformedHookNamesAndLateHooks) {
  rsd::train::Trainer<Points> trainer(line_options("", 1), std::make_shared<LineModule>(),
                                      std::make_shared<LineSource>(2));
  trainer.add_hook(std::make_shared<RecordingHook>("mine", 50, nullptr));
  EXPECT_THROW(trainer.add_hook(std::make_shared<RecordingHook>("mine", 20, nullptr)), rsd::Error);
  // The built-in hooks' names are taken too.
  EXPECT_THROW(trainer.add_hook(std::make_shared<RecordingHook>("metrics", 50, nullptr)),
               rsd::Error);
  EXPECT_THROW(trainer.add_hook(std::make_shared<RecordingHook>("a.b", 50, nullptr)), rsd::Error);
  trainer.run();
  EXPECT_THROW(trainer.add_hook(std::make_shared<RecordingHook>("late", 50, nullptr)), rsd::Error);
}


// ---------------------------------------------------------------------------------------------
// Mixed precision (train.amp).

TEST(TrainerAmp, Bf16AutocastTrainingLowersTheLossesOnTheCpu) {
  TempDir dir;
  TrainerOptions options = tiny_e2e_trainer_options(dir.path());
  options.amp = rsd::Precision::bf16;
  options.steps = 30;
  options.warmup_steps = 0;
  options.lr = 0.003;
  options.checkpoint_every = 0;
  const TinyRun run = train_e2e(options, false, false, true, /*samples=*/4);
  const auto lines = read_metrics(dir.file("metrics.jsonl"));
  ASSERT_EQ(lines.size(), 30u);
  auto mean = [&](const char* key, std::size_t from, std::size_t to) {
    double sum = 0.0;
    for (std::size_t i = from; i < to; ++i) sum += lines[i].at(key).get<double>();
    return sum / static_cast<double>(to - from);
  };
  for (const char* key : {"loss", "loss_planning", "loss_risk"}) {
    EXPECT_LT(mean(key, 26, 30), 0.8 * mean(key, 0, 4)) << key;
  }
  EXPECT_FALSE(lines.back().contains("loss_scale"));  // bf16 needs none
  for (const auto& parameter : run.model->parameters()) {
    EXPECT_EQ(parameter.scalar_type(), torch::kFloat);  // master weights stay fp32
  }
}

// Multiplies the loss of one call by 1e34: finite in fp32, but its scaled fp16 gradients are not.
class OverflowingLineModule : public LineModule {
 public:
  StepResult training_step(const Points& batch) override {
    StepResult result = LineModule::training_step(batch);
    if (++calls == overflow_at_call) result.loss = result.loss * 1e34;
    return result;
  }
  int64_t calls = 0;
  int64_t overflow_at_call = 3;
};

// Records the loss scale and overflow flag of every step.
class LossScaleRecorder : public Hook {
 public:
  std::string name() const override { return "loss_scale_recorder"; }
  void after_step(TrainerState& state) override {
    scales.push_back(state.last_step.loss_scale);
    overflows.push_back(state.last_step.overflow);
  }
  std::vector<double> scales;
  std::vector<bool> overflows;
};

TEST(TrainerAmp, Fp16SkipsAnOverflowingStepHalvesThenGrowsTheScaleAndResumesItFromACheckpoint) {
  if (!rsd::autocast_supported(torch::kCPU, rsd::Precision::fp16)) {
    GTEST_SKIP() << "this libtorch has no fp16 autocast on the CPU (libtorch < 2.4); the "
                    "PyPI torch 2.x build runs this test";
  }
  TempDir dir;
  auto fp16_options = [&](const std::string& run_dir) {
    TrainerOptions options = line_options(run_dir, 6);
    options.amp = rsd::Precision::fp16;
    options.loss_scale.init_scale = 1024.0;
    options.loss_scale.growth_interval = 2;
    options.lr = 0.05;
    return options;
  };
  auto train = [&](TrainerOptions options, int64_t calls_done, bool resume) {
    torch::manual_seed(11);
    auto module = std::make_shared<OverflowingLineModule>();
    module->calls = calls_done;
    rsd::train::Trainer<Points> trainer(options, module, std::make_shared<LineSource>(4));
    auto recorder = std::make_shared<LossScaleRecorder>();
    trainer.add_hook(recorder);
    trainer.run(resume);
    return std::make_pair(module, recorder);
  };

  const auto [whole, whole_scales] = train(fp16_options(dir.file("whole")), 0, false);
  EXPECT_EQ(whole_scales->scales, (std::vector<double>{1024, 1024, 2048, 1024, 1024, 2048}));
  EXPECT_EQ(whole_scales->overflows, (std::vector<bool>{false, false, true, false, false, false}));

  TrainerOptions first = fp16_options(dir.file("split"));
  first.stop_after = 4;  // the end of a run is checkpointed
  train(first, 0, false);
  const auto [second, second_scales] = train(fp16_options(dir.file("split")), 4, true);
  // A fresh scaler would give 1024 at step 6: the checkpoint carried scale 1024 with 1 good step.
  EXPECT_EQ(second_scales->scales, (std::vector<double>{1024, 2048}));
  const auto whole_parameters = whole->net->parameters();
  const auto second_parameters = second->net->parameters();
  for (std::size_t i = 0; i < whole_parameters.size(); ++i) {
    EXPECT_TRUE(torch::equal(whole_parameters[i], second_parameters[i])) << i;
  }
}

TEST(TrainerAmp, Fp16WithoutFp16AutocastOnTheDeviceIsRefusedAtRun) {
  if (rsd::autocast_supported(torch::kCPU, rsd::Precision::fp16)) {
    GTEST_SKIP() << "this libtorch autocasts to fp16 on the CPU";
  }
  TrainerOptions options = line_options("", 2);
  options.amp = rsd::Precision::fp16;
  rsd::train::Trainer<Points> trainer(options, std::make_shared<LineModule>(),
                                      std::make_shared<LineSource>(4));
  try {
    trainer.run();
    ADD_FAILURE() << "fp16 on a CPU without fp16 autocast trained";
  } catch (const rsd::Error& error) {
    EXPECT_NE(std::string(error.what()).find("fp16"), std::string::npos) << error.what();
  }
}

// ---------------------------------------------------------------------------------------------
// Robustness: bad steps leave no trace, resume after a kill at any moment.

// Records, after every step, whether it was skipped, the count of bad steps in a row and a copy
// of the module's parameters.
class StepRecorder : public Hook {
 public:
  std::string name() const override { return "step_recorder"; }
  void after_step(TrainerState& state) override {
    skipped.push_back(state.last_step.skipped);
    bad_steps.push_back(state.progress.bad_steps);
    std::vector<torch::Tensor> copies;
    for (const auto& parameter : state.module().parameters()) copies.push_back(parameter.detach().clone());
    parameters.push_back(std::move(copies));
  }
  std::vector<bool> skipped;
  std::vector<int64_t> bad_steps;
  std::vector<std::vector<torch::Tensor>> parameters;
};

// The tiny E2E dataset with NaN in every image of the samples listed.
class NanImagesDataset : public rsd::data::SampleDataset {
 public:
  NanImagesDataset(int64_t size, std::vector<int64_t> poisoned)
      : samples_(size), poisoned_(std::move(poisoned)) {}
  int64_t size() const override { return samples_.size(); }
  rsd::data::Sample get(int64_t index, int64_t epoch) const override {
    rsd::data::Sample sample = samples_.get(index, epoch);
    if (std::find(poisoned_.begin(), poisoned_.end(), index) != poisoned_.end()) {
      sample.images.fill_(std::numeric_limits<float>::quiet_NaN());
    }
    return sample;
  }

 private:
  rsd::test::TinyE2EDataset samples_;
  std::vector<int64_t> poisoned_;
};

struct RecordedRun {
  rsd::model::E2EModel model{nullptr};
  std::shared_ptr<StepRecorder> recorder;
};

// Batches of 2 in the dataset's order (no shuffling), `steps` steps of a schedule so long that
// its rate does not change over them: runs that skip different steps see the same rates.
RecordedRun train_e2e_in_order(std::shared_ptr<const rsd::data::SampleDataset> dataset,
                               int64_t steps) {
  torch::manual_seed(7);
  RecordedRun run;
  run.model = rsd::model::E2EModel(rsd::test::tiny_e2e_model_options());
  auto module = std::make_shared<rsd::train::E2ETrainModule>(
      run.model, rsd::train::E2ELoss(rsd::test::tiny_e2e_loss_options()));
  rsd::data::LoaderOptions loader_options;
  loader_options.batch_size = 2;
  loader_options.workers = 0;
  loader_options.shuffle = false;
  auto source = std::make_shared<rsd::train::LoaderSource>(
      std::make_shared<rsd::data::Loader>(std::move(dataset), loader_options));
  TrainerOptions options = tiny_e2e_trainer_options("");
  options.steps = 1'000'000'000;
  options.stop_after = steps;
  options.warmup_steps = 0;
  rsd::train::Trainer<rsd::data::Batch> trainer(options, module, source);
  run.recorder = std::make_shared<StepRecorder>();
  trainer.add_hook(run.recorder);
  trainer.run();
  return run;
}

TEST(Trainer, NanImagesSkipTheirStepsAndLeaveBatchNormStatisticsAsIfTheyWereNeverSeen) {
  // Samples 0-1 form batch A, 2-3 batch B; B holds NaN images: A, B, A, B trains as A, A.
  RecordedRun poisoned =
      train_e2e_in_order(std::make_shared<NanImagesDataset>(4, std::vector<int64_t>{2}), 4);
  const RecordedRun clean =
      train_e2e_in_order(std::make_shared<NanImagesDataset>(2, std::vector<int64_t>{}), 2);

  EXPECT_EQ(poisoned.recorder->skipped, (std::vector<bool>{false, true, false, true}));
  EXPECT_EQ(poisoned.recorder->bad_steps, (std::vector<int64_t>{0, 1, 0, 1}));
  int64_t batch_norm_buffers = 0;
  for (const auto& item : poisoned.model->named_buffers()) {
    const torch::Tensor& buffer = item.value();
    if (item.key().find("running_") != std::string::npos) ++batch_norm_buffers;
    if (buffer.is_floating_point()) {
      EXPECT_TRUE(torch::isfinite(buffer).all().item<bool>()) << item.key();
    }
    EXPECT_TRUE(torch::allclose(buffer, clean.model->named_buffers()[item.key()], 1e-6, 1e-6))
        << item.key();
  }
  EXPECT_GT(batch_norm_buffers, 0);  // the model has BatchNorm statistics to protect
  for (const auto& item : poisoned.model->named_parameters()) {
    EXPECT_TRUE(torch::isfinite(item.value()).all().item<bool>()) << item.key();
    EXPECT_TRUE(
        torch::allclose(item.value(), clean.model->named_parameters()[item.key()], 1e-6, 1e-6))
        << item.key();
  }
  // Evaluation reads the running statistics: it stays finite.
  torch::NoGradGuard no_grad;
  poisoned.model->eval();
  rsd::data::Sample sample = rsd::test::TinyE2EDataset(1).get(0, 0);
  const rsd::model::E2EOutput output = poisoned.model->forward(rsd::data::collate({sample}));
  EXPECT_TRUE(torch::isfinite(output.bev).all().item<bool>());
  EXPECT_TRUE(torch::isfinite(output.waypoints).all().item<bool>());
}

// Adds 0 * sqrt(0) to the loss at one call: the value stays finite, the gradient is 0 * inf = NaN.
class NanGradientLineModule : public LineModule {
 public:
  StepResult training_step(const Points& batch) override {
    StepResult result = LineModule::training_step(batch);
    if (++calls == nan_gradient_at_call) {
      const torch::Tensor weight = net->first->weight;
      result.loss = result.loss + 0.0 * torch::sqrt((weight - weight.detach()).sum());
    }
    return result;
  }
  int64_t calls = 0;
  int64_t nan_gradient_at_call = 3;
};

TEST(Trainer, AFiniteLossWithANonFiniteGradientIsABadStepAndLeavesTheWeights) {
  rsd::test::LogCapture log;
  auto module = std::make_shared<NanGradientLineModule>();
  TrainerOptions options = line_options("", 5);  // the rate reaches 0 at the fifth step
  rsd::train::Trainer<Points> trainer(options, module, std::make_shared<LineSource>(4));
  auto recorder = std::make_shared<StepRecorder>();
  trainer.add_hook(recorder);
  trainer.run();

  EXPECT_EQ(recorder->skipped, (std::vector<bool>{false, false, true, false, false}));
  EXPECT_EQ(recorder->bad_steps, (std::vector<int64_t>{0, 0, 1, 0, 0}));
  ASSERT_EQ(recorder->parameters.size(), 5u);
  for (std::size_t i = 0; i < recorder->parameters[2].size(); ++i) {
    EXPECT_TRUE(torch::equal(recorder->parameters[2][i], recorder->parameters[1][i])) << i;
    EXPECT_FALSE(torch::equal(recorder->parameters[3][i], recorder->parameters[2][i])) << i;
  }
  for (const auto& parameter : module->net->parameters()) {
    EXPECT_TRUE(torch::isfinite(parameter).all().item<bool>());
  }
  EXPECT_NE(log.text().find("step 3: non-finite gradient norm"), std::string::npos) << log.text();

  // Such steps count toward max_bad_steps like non-finite losses.
  auto always = std::make_shared<NanGradientLineModule>();
  always->nan_gradient_at_call = 1;
  options.max_bad_steps = 1;
  rsd::train::Trainer<Points> stopping(options, always, std::make_shared<LineSource>(4));
  try {
    stopping.run();
    ADD_FAILURE() << "a NaN gradient did not stop a run with max_bad_steps 1";
  } catch (const rsd::Error& error) {
    EXPECT_NE(std::string(error.what()).find("1 consecutive non-finite losses or gradients"),
              std::string::npos)
        << error.what();
  }
}

TEST(Checkpoint, ResumeTakesTheNewestStepThatLoadsWhateverLastNames) {
  TempDir dir;
  auto module = std::make_shared<LineModule>();
  torch::optim::AdamW optimizer(module->net->parameters(), torch::optim::AdamWOptions(0.1));
  const rsd::train::CheckpointManager manager(dir.file("checkpoints"), 3);
  for (int64_t step : {5, 10}) {
    rsd::train::TrainingProgress progress;
    progress.step = step;
    manager.save(progress, *module->net, optimizer, false);
  }
  // Killed after step_10.pt was renamed into place, before `last` was rewritten.
  std::ofstream(dir.file("checkpoints/last")) << "step_5.pt\n";
  {
    rsd::test::LogCapture log;
    const auto restored = manager.resume(*module->net, optimizer);
    ASSERT_TRUE(restored.has_value());
    EXPECT_EQ(restored->step, 10);
    EXPECT_NE(log.text().find("names step_5.pt but step_10.pt is newer"), std::string::npos)
        << log.text();
  }
  // A newest checkpoint cut short falls back to the previous one, with a warning naming it.
  std::filesystem::resize_file(dir.file("checkpoints/step_10.pt"), 100);
  std::ofstream(dir.file("checkpoints/last")) << "step_10.pt\n";
  rsd::test::LogCapture log;
  const auto restored = manager.resume(*module->net, optimizer);
  ASSERT_TRUE(restored.has_value());
  EXPECT_EQ(restored->step, 5);
  EXPECT_NE(log.text().find("skipping checkpoint: " + dir.file("checkpoints/step_10.pt")),
            std::string::npos)
      << log.text();
}

// Throws from after_step at one step, as if the process were killed there: by default after
// every built-in hook ran (priority 95); with priority 85, just after the step's checkpoint (80).
class KillAtStep : public Hook {
 public:
  explicit KillAtStep(int64_t step, int priority = 95) : step_(step), priority_(priority) {}
  std::string name() const override { return "kill"; }
  int priority() const override { return priority_; }
  void after_step(TrainerState& state) override {
    if (state.steps_done() == step_) throw std::runtime_error("killed");
  }

 private:
  int64_t step_;
  int priority_;
};

struct MetricsSteps {
  std::vector<int64_t> train, val;
  int64_t broken = 0;  // lines that are not JSON objects
};

MetricsSteps metrics_steps(const std::string& path) {
  MetricsSteps steps;
  std::ifstream in(path);
  for (std::string line; std::getline(in, line);) {
    const nlohmann::json record = nlohmann::json::parse(line, nullptr, /*allow_exceptions=*/false);
    if (!record.is_object()) {
      ++steps.broken;
      continue;
    }
    (record.at("mode") == "train" ? steps.train : steps.val).push_back(record.at("step"));
  }
  return steps;
}

TEST(Trainer, AResumedRunDropsTheMetricsLinesPastItsCheckpoint) {
  // Killed after step 5's lines (checkpoints at 2 and 4), resumed at 4 to the end (6); the kill
  // cuts the last line short (or not).
  auto interrupted_then_resumed = [](const std::string& run_dir, bool cut_a_line) {
    TrainerOptions options = line_options(run_dir, 6);
    options.checkpoint_every = 2;
    options.val_every = 2;
    {
      rsd::train::Trainer<Points> trainer(options, std::make_shared<LineModule>(),
                                          std::make_shared<LineSource>(4),
                                          std::make_shared<LineSource>(1));
      trainer.add_hook(std::make_shared<KillAtStep>(5));
      EXPECT_THROW(trainer.run(), std::runtime_error);
    }
    if (cut_a_line) std::ofstream(run_dir + "/metrics.jsonl", std::ios::app) << R"({"mode": "tr)";
    rsd::train::Trainer<Points> trainer(options, std::make_shared<LineModule>(),
                                        std::make_shared<LineSource>(4),
                                        std::make_shared<LineSource>(1));
    EXPECT_EQ(trainer.run(/*resume=*/true).step, 6);
    return metrics_steps(run_dir + "/metrics.jsonl");
  };
  TempDir dir;
  for (const bool cut_a_line : {false, true}) {
    const MetricsSteps steps =
        interrupted_then_resumed(dir.file(cut_a_line ? "cut" : "whole"), cut_a_line);
    EXPECT_EQ(steps.train, (std::vector<int64_t>{1, 2, 3, 4, 5, 6})) << cut_a_line;
    EXPECT_EQ(steps.val, (std::vector<int64_t>{2, 4, 6})) << cut_a_line;
    EXPECT_EQ(steps.broken, 0) << cut_a_line;
  }
}

TEST(Trainer, AKillJustAfterACheckpointLosesNoMetricsLine) {
  // Found by scripts/crash_trials.sh: killed after step 4's checkpoint was written, the run
  // resumes at step 4, so step 4's lines must already be in metrics.jsonl (the metrics hook
  // runs before the checkpoint hook), or they are never written.
  TempDir dir;
  TrainerOptions options = line_options(dir.path(), 6);
  options.checkpoint_every = 2;
  options.val_every = 2;
  {
    rsd::train::Trainer<Points> trainer(options, std::make_shared<LineModule>(),
                                        std::make_shared<LineSource>(4),
                                        std::make_shared<LineSource>(1));
    trainer.add_hook(std::make_shared<KillAtStep>(4, /*priority=*/85));
    EXPECT_THROW(trainer.run(), std::runtime_error);
  }
  ASSERT_TRUE(std::filesystem::exists(dir.file("checkpoints/step_4.pt")));
  rsd::train::Trainer<Points> trainer(options, std::make_shared<LineModule>(),
                                      std::make_shared<LineSource>(4),
                                      std::make_shared<LineSource>(1));
  EXPECT_EQ(trainer.run(/*resume=*/true).step, 6);
  const MetricsSteps steps = metrics_steps(dir.file("metrics.jsonl"));
  EXPECT_EQ(steps.train, (std::vector<int64_t>{1, 2, 3, 4, 5, 6}));
  EXPECT_EQ(steps.val, (std::vector<int64_t>{2, 4, 6}));
}

TEST(Trainer, RemovesTheTemporariesOfSavesAKilledRunLeft) {
  TempDir dir;
  const std::vector<std::string> stale = {"checkpoints/step_4.pt.tmp.4242.0",
                                          "checkpoints/last.tmp.4242.1",
                                          "checkpoints/best.pt.tmp.17.3"};
  const std::vector<std::string> others = {"checkpoints/step_2.pt", "checkpoints/notes.tmp",
                                           "checkpoints/step_2.pt.tmp.x.1"};
  for (const auto& name : stale) dir.write(name, "partial");
  for (const auto& name : others) dir.write(name, "not ours to remove");

  rsd::train::Trainer<Points> trainer(line_options(dir.path(), 1), std::make_shared<LineModule>(),
                                      std::make_shared<LineSource>(4));
  for (const auto& name : stale) EXPECT_FALSE(std::filesystem::exists(dir.file(name))) << name;
  for (const auto& name : others) EXPECT_TRUE(std::filesystem::exists(dir.file(name))) << name;
  // Nothing left to remove.
  EXPECT_EQ(rsd::train::CheckpointManager(dir.file("checkpoints"), 1).remove_stale_temporaries(),
            0);
}

}  // namespace
