// Training infrastructure: the learning-rate schedule and checkpoints that resume exactly.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cmath>
#include <filesystem>
#include <fstream>

#include "rsd/train/checkpoint.h"
#include "rsd/train/lr_schedule.h"
#include "rsd/util/error.h"
#include "support/temp_dir.h"

namespace {

using rsd::train::CheckpointManager;
using rsd::train::LrScheduleOptions;
using rsd::train::TrainingProgress;
using rsd::train::WarmupCosineSchedule;
namespace fs = std::filesystem;

TEST(LrSchedule, LinearWarmupThenCosineToTheFinalRatio) {
  LrScheduleOptions options;
  options.base_lr = 1.0;
  options.total_steps = 11;
  options.warmup_steps = 2;
  options.warmup_start_ratio = 0.5;
  options.final_ratio = 0.1;
  const WarmupCosineSchedule schedule(options, {1.0});
  EXPECT_DOUBLE_EQ(schedule.lr_at(0), 0.5);
  EXPECT_DOUBLE_EQ(schedule.lr_at(1), 0.75);
  EXPECT_DOUBLE_EQ(schedule.lr_at(2), 1.0);                   // cosine starts at the peak
  EXPECT_NEAR(schedule.lr_at(6), 0.1 + 0.9 * 0.5 * (1 + std::cos(M_PI * 4 / 8)), 1e-12);
  EXPECT_DOUBLE_EQ(schedule.lr_at(10), 0.1);                  // the last step
  EXPECT_DOUBLE_EQ(schedule.lr_at(50), 0.1);                  // past the end it stays there
}

TEST(LrSchedule, AppliesMultipliersPerParameterGroup) {
  torch::nn::Linear backbone(2, 2);
  torch::nn::Linear head(2, 1);
  torch::optim::AdamW optimizer({torch::optim::OptimizerParamGroup(backbone->parameters()),
                                 torch::optim::OptimizerParamGroup(head->parameters())},
                                torch::optim::AdamWOptions(1.0));
  LrScheduleOptions options;
  options.base_lr = 0.01;
  options.total_steps = 10;
  const WarmupCosineSchedule schedule(options, {0.1, 1.0});
  schedule.apply(optimizer, 0);
  EXPECT_DOUBLE_EQ(optimizer.param_groups()[0].options().get_lr(), 0.001);
  EXPECT_DOUBLE_EQ(optimizer.param_groups()[1].options().get_lr(), 0.01);
  const WarmupCosineSchedule wrong(options, {1.0});
  EXPECT_THROW(wrong.apply(optimizer, 0), rsd::Error);
}

// A tiny model with parameters, buffers (batch norm) and randomness (dropout).
struct TinyNetImpl : torch::nn::Module {
  TinyNetImpl() {
    linear = register_module("linear", torch::nn::Linear(4, 8));
    norm = register_module("norm", torch::nn::BatchNorm1d(8));
    out = register_module("out", torch::nn::Linear(8, 1));
  }
  torch::Tensor forward(const torch::Tensor& x) {
    return out(torch::dropout(norm(linear(x)).relu(), 0.3, is_training()));
  }
  torch::nn::Linear linear{nullptr};
  torch::nn::BatchNorm1d norm{nullptr};
  torch::nn::Linear out{nullptr};
};
TORCH_MODULE(TinyNet);

void train_steps(TinyNet& model, torch::optim::Optimizer& optimizer, int64_t first, int64_t count) {
  for (int64_t step = first; step < first + count; ++step) {
    torch::manual_seed(0);  // fixed data...
    const torch::Tensor x = torch::randn({6, 4}) + static_cast<double>(step);
    const torch::Tensor y = x.sum(1, true);
    optimizer.zero_grad();
    (model->forward(x) - y).pow(2).mean().backward();  // ...but dropout draws from the generator
    optimizer.step();
  }
}

struct TinyRun {
  TinyRun() : optimizer(model->parameters(), torch::optim::AdamWOptions(1e-2)) {}
  TinyNet model;
  torch::optim::AdamW optimizer;
};

std::vector<torch::Tensor> weights(const TinyNet& model) {
  std::vector<torch::Tensor> all;
  for (const auto& p : model->parameters()) all.push_back(p.detach().clone());
  for (const auto& b : model->buffers()) all.push_back(b.detach().clone());
  return all;
}

TEST(Checkpoint, ResumedRunEndsWithTheUninterruptedRunsWeights) {
  rsd::test::TempDir dir;
  const CheckpointManager manager(dir.file("checkpoints"), 2);

  torch::manual_seed(1);
  TinyRun uninterrupted;
  torch::manual_seed(1);
  TinyRun interrupted;
  ASSERT_TRUE(torch::equal(uninterrupted.model->linear->weight, interrupted.model->linear->weight));

  train_steps(uninterrupted.model, uninterrupted.optimizer, 0, 3);
  torch::manual_seed(99);  // the generator state at the checkpoint
  train_steps(uninterrupted.model, uninterrupted.optimizer, 3, 4);

  train_steps(interrupted.model, interrupted.optimizer, 0, 3);
  torch::manual_seed(99);
  TrainingProgress progress;
  progress.step = 3;
  progress.epoch = 1;
  progress.samples_in_epoch = 2;
  progress.config_yaml = "train:\n  steps: 7\n";
  manager.save(progress, *interrupted.model, interrupted.optimizer, /*is_best=*/true);
  torch::rand({100});  // the killed process moved on before dying

  torch::manual_seed(12345);
  TinyRun resumed;  // a fresh process: other initial weights
  const auto restored = manager.resume(*resumed.model, resumed.optimizer);
  ASSERT_TRUE(restored.has_value());
  EXPECT_EQ(restored->step, 3);
  EXPECT_EQ(restored->epoch, 1);
  EXPECT_EQ(restored->samples_in_epoch, 2);
  EXPECT_EQ(restored->config_yaml, progress.config_yaml);
  train_steps(resumed.model, resumed.optimizer, 3, 4);

  const auto expected = weights(uninterrupted.model);
  const auto actual = weights(resumed.model);
  ASSERT_EQ(expected.size(), actual.size());
  for (std::size_t i = 0; i < expected.size(); ++i) {
    EXPECT_TRUE(torch::equal(expected[i], actual[i])) << "tensor " << i;
  }
  EXPECT_TRUE(fs::exists(dir.file("checkpoints/best.pt")));
}

TEST(Checkpoint, KeepsTheNewestAndSkipsABrokenOne) {
  rsd::test::TempDir dir;
  const CheckpointManager manager(dir.file("ck"), 2);
  TinyRun run;
  for (int64_t step : {10, 20, 30}) {
    TrainingProgress progress;
    progress.step = step;
    manager.save(progress, *run.model, run.optimizer, false);
  }
  EXPECT_FALSE(fs::exists(dir.file("ck/step_10.pt")));
  EXPECT_TRUE(fs::exists(dir.file("ck/step_20.pt")));
  EXPECT_EQ(rsd::test::read_text(dir.file("ck/last")), "step_30.pt\n");

  // A crash cut the newest file short: resume falls back to the previous one.
  const auto size = fs::file_size(dir.file("ck/step_30.pt"));
  fs::resize_file(dir.file("ck/step_30.pt"), size / 2);
  TinyRun fresh;
  const auto restored = manager.resume(*fresh.model, fresh.optimizer);
  ASSERT_TRUE(restored.has_value());
  EXPECT_EQ(restored->step, 20);

  // Every file broken: an error, never a silent fresh start.
  fs::resize_file(dir.file("ck/step_20.pt"), 10);
  EXPECT_THROW(manager.resume(*fresh.model, fresh.optimizer), rsd::CheckpointError);
  EXPECT_FALSE(CheckpointManager(dir.file("empty"), 1).resume(*fresh.model, fresh.optimizer));
}

TEST(Checkpoint, AnotherModelIsRefusedNamingTheParameterAndLeftUntouched) {
  rsd::test::TempDir dir;
  const CheckpointManager manager(dir.file("ck"), 1);
  TinyRun run;
  const std::string path = manager.save(TrainingProgress{}, *run.model, run.optimizer, false);

  torch::nn::Sequential other(torch::nn::Linear(4, 3));
  const torch::Tensor before = other->parameters()[0].clone();
  try {
    CheckpointManager::load(path, *other, nullptr);
    FAIL() << "expected a CheckpointError";
  } catch (const rsd::CheckpointError& e) {
    EXPECT_NE(std::string(e.what()).find(path), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("param:0.weight"), std::string::npos) << e.what();
  }
  EXPECT_TRUE(torch::equal(before, other->parameters()[0]));

  TinyNetImpl wider;  // same names, one shape differs
  wider.out = wider.replace_module("out", torch::nn::Linear(8, 2));
  try {
    CheckpointManager::load(path, wider, nullptr);
    FAIL() << "expected a CheckpointError";
  } catch (const rsd::CheckpointError& e) {
    EXPECT_NE(std::string(e.what()).find("param:out.weight has shape [1, 8], the model expects [2, 8]"),
              std::string::npos)
        << e.what();
  }
  std::ofstream(dir.file("garbage.pt")) << "not a checkpoint";
  EXPECT_THROW(CheckpointManager::load(dir.file("garbage.pt"), *run.model, nullptr), rsd::CheckpointError);
}

}  // namespace
