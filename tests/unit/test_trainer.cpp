// The Trainer end to end on a tiny E2E model and an in-memory dataset: exact resume after an
// interruption, NaN/Inf guards, metrics and checkpoints.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <limits>

#include <nlohmann/json.hpp>

#include "rsd/config/config.h"
#include "rsd/data/batch.h"
#include "rsd/data/dataset.h"
#include "rsd/data/loader.h"
#include "rsd/dist/communicator.h"
#include "rsd/model/e2e_model.h"
#include "rsd/pipeline/data_config.h"
#include "rsd/pipeline/model_config.h"
#include "rsd/pipeline/train_config.h"
#include "rsd/train/checkpoint.h"
#include "rsd/train/e2e_loss.h"
#include "rsd/train/trainer.h"
#include "rsd/util/error.h"
#include "support/temp_dir.h"

namespace {

using rsd::test::TempDir;

// A model small enough for a handful of steps in a unit test: 2 cameras of 32 x 48 pixels, an
// 8 x 8 m grid at 1 m.
rsd::Config tiny_config(const std::vector<std::string>& overrides = {}) {
  rsd::Config config = rsd::Config::parse(R"(
run: {progress: false}
data:
  cameras: [CAM_FRONT, CAM_BACK]
  image: {height: 32, width: 48}
  grid: {x: [-4.0, 4.0, 1.0], y: [-4.0, 4.0, 1.0], z: [-2.0, 2.0, 4.0]}
  loader: {batch_size: 2, workers: 1, prefetch: 2}
model:
  image_encoder: {depth: 18, width: 8, out_channels: 8}
  lift: {depth_bins: [1.0, 6.0, 1.0], context_channels: 4}
  bev_encoder: {channels: 8, blocks: [1, 1], out_channels: 8}
  detection_head: {hidden: 8}
  planning_head: {hidden: 16, heads: 2}
  risk_head: {hidden: 8}
train:
  steps: 6
  lr: 0.001
  warmup_steps: 2
  val_every: 0
  checkpoint_every: 2
  keep_checkpoints: 2
  log_every: 1
)");
  for (const auto& assignment : overrides) config.apply_override(assignment);
  return config;
}

// Camera (OpenCV axes) -> ego frame, looking forward (+x) or backward (-x), 1.5 m up.
torch::Tensor camera_to_ego(bool forward) {
  const float s = forward ? 1.0f : -1.0f;
  return torch::tensor({0.0f, 0.0f, s, 0.0f, -s, 0.0f, 0.0f, 0.0f, 0.0f, -1.0f, 0.0f, 1.5f,
                        0.0f, 0.0f, 0.0f, 1.0f})
      .view({4, 4});
}

// Samples drawn from a generator seeded by the index: the same index always gives the same sample.
class InMemoryDataset : public rsd::data::SampleDataset {
 public:
  explicit InMemoryDataset(int64_t size, bool poisoned = false) : size_(size), poisoned_(poisoned) {}
  int64_t size() const override { return size_; }
  rsd::data::Sample get(int64_t index, int64_t /*epoch*/) const override {
    auto generator = at::detail::createCPUGenerator(static_cast<uint64_t>(1000 + index));
    auto normal = [&](std::vector<int64_t> shape) {
      return at::normal(0.0, 1.0, shape, generator);
    };
    rsd::data::Sample sample;
    sample.clip = "Clip" + std::to_string(index / 4);
    sample.frame = index % 4;
    sample.images = normal({2, 3, 32, 48});
    sample.intrinsics = torch::tensor({24.0f, 0.0f, 24.0f, 0.0f, 24.0f, 16.0f, 0.0f, 0.0f, 1.0f})
                            .view({1, 3, 3})
                            .repeat({2, 1, 1});
    sample.img_aug = torch::eye(3).repeat({2, 1, 1});
    sample.cam2ego = torch::stack({camera_to_ego(true), camera_to_ego(false)});
    sample.bev_aug = torch::eye(4);
    sample.ego_status = normal({rsd::data::kEgoStatusDim});
    if (poisoned_) sample.ego_status[0] = std::numeric_limits<float>::quiet_NaN();
    sample.command = index % 6;
    const torch::Tensor speed = 1.0 + at::rand({1}, generator);
    sample.future_waypoints =
        torch::stack({torch::arange(1, 7, torch::kFloat) * speed, torch::zeros({6})}, 1);
    sample.future_mask = torch::ones({6}, torch::kBool);
    sample.past_waypoints =
        torch::stack({-torch::arange(1, 5, torch::kFloat) * speed, torch::zeros({4})}, 1);
    sample.past_mask = torch::ones({4}, torch::kBool);
    sample.boxes = torch::tensor({2.0f, 1.0f, 0.0f, 4.0f, 2.0f, 1.5f, 0.3f, 1.0f, 0.0f}).view({1, 9});
    sample.box_classes = torch::tensor({static_cast<int64_t>(rsd::data::ObjectClass::vehicle)});
    sample.box_ids = {"7"};
    // The teacher's map: the box's cell (x 2 m, y 1 m on the 1 m grid from -4 m) is risky.
    sample.risk_target = torch::zeros({8, 8});
    sample.risk_target[5][6] = 0.5 + 0.5 * at::rand({1}, generator).item<float>();
    sample.risk_mask = index % 3 != 0;
    return sample;
  }

 private:
  int64_t size_;
  bool poisoned_;
};

struct TinyRun {
  rsd::train::TrainSummary summary;
  rsd::model::E2EModel model{nullptr};
};

TinyRun train(const rsd::Config& config, const std::string& run_dir, bool resume,
              bool poisoned = false) {
  torch::manual_seed(7);
  rsd::data::LoaderOptions loader_options = rsd::pipeline::loader_options_from(config, true);
  auto loader = std::make_shared<rsd::data::Loader>(
      std::make_shared<InMemoryDataset>(10, poisoned), loader_options);
  auto communicator = std::make_shared<rsd::dist::Communicator>(rsd::dist::DistOptions{});
  TinyRun run;
  run.model = rsd::model::E2EModel(rsd::pipeline::e2e_model_options_from(config));
  rsd::train::Trainer trainer(rsd::pipeline::trainer_options_from(config), run.model,
                              rsd::train::E2ELoss(rsd::pipeline::e2e_loss_options_from(config)),
                              loader, nullptr, communicator, run_dir, config.to_yaml());
  run.summary = trainer.run(resume);
  return run;
}

std::vector<nlohmann::json> read_metrics(const std::string& path) {
  std::vector<nlohmann::json> lines;
  std::ifstream in(path);
  for (std::string line; std::getline(in, line);) lines.push_back(nlohmann::json::parse(line));
  return lines;
}

TEST(Trainer, InterruptedAndResumedRunEndsWithTheWeightsOfAnUninterruptedOne) {
  TempDir dir;
  // 10 samples in batches of 2 = 5 batches per epoch: 6 steps cross an epoch boundary, and the
  // interruption after 3 steps falls inside the first epoch.
  const TinyRun whole = train(tiny_config(), dir.file("whole"), false);
  EXPECT_EQ(whole.summary.step, 6);

  const TinyRun first = train(tiny_config({"train.stop_after=3"}), dir.file("split"), false);
  EXPECT_EQ(first.summary.step, 3);
  const TinyRun second = train(tiny_config(), dir.file("split"), true);
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
  const TinyRun untrained = train(tiny_config({"train.steps=1", "train.warmup_steps=0"}),
                                  "", false);
  double moved = 0.0;
  for (const auto& item : whole.model->named_parameters()) {
    moved += (item.value() - untrained.model->named_parameters()[item.key()]).abs().sum().item<double>();
  }
  EXPECT_GT(moved, 0.0);
}

TEST(Trainer, WritesMetricsEveryStepAndKeepsTheNewestCheckpoints) {
  TempDir dir;
  train(tiny_config(), dir.path(), false);
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
  rsd::Config config = tiny_config({"train.steps=40", "train.warmup_steps=0", "train.lr=0.003",
                                    "train.checkpoint_every=0"});
  torch::manual_seed(7);
  auto loader = std::make_shared<rsd::data::Loader>(std::make_shared<InMemoryDataset>(4),
                                                    rsd::pipeline::loader_options_from(config, true));
  rsd::model::E2EModel model(rsd::pipeline::e2e_model_options_from(config));
  rsd::train::Trainer trainer(rsd::pipeline::trainer_options_from(config), model,
                              rsd::train::E2ELoss(rsd::pipeline::e2e_loss_options_from(config)), loader,
                              nullptr,
                              std::make_shared<rsd::dist::Communicator>(rsd::dist::DistOptions{}),
                              dir.path(), config.to_yaml());
  trainer.run(false);
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
  const TinyRun with = train(tiny_config({"train.steps=1", "train.warmup_steps=0"}), dir.file("on"), false);
  const TinyRun without = train(
      tiny_config({"train.steps=1", "train.warmup_steps=0", "model.risk_head.enabled=false"}),
      dir.file("off"), false);
  EXPECT_TRUE(read_metrics(dir.file("on/metrics.jsonl")).at(0).contains("loss_risk"));
  EXPECT_FALSE(read_metrics(dir.file("off/metrics.jsonl")).at(0).contains("loss_risk"));
  EXPECT_LT(without.model->parameters().size(), with.model->parameters().size());
}

TEST(Trainer, NonFiniteLossesSkipUpdatesThenStopWithACheckpoint) {
  TempDir dir;
  const rsd::Config config = tiny_config({"train.max_bad_steps=3"});
  try {
    train(config, dir.path(), false, /*poisoned=*/true);
    FAIL() << "expected the run to stop";
  } catch (const rsd::Error& error) {
    const std::string message = error.what();
    EXPECT_NE(message.find("3 consecutive non-finite losses"), std::string::npos) << message;
    EXPECT_NE(message.find("step_3.pt"), std::string::npos) << message;
  }
  // The skipped steps left the weights as they were initialised: resuming the checkpoint into a
  // freshly seeded model changes nothing.
  torch::manual_seed(7);
  rsd::model::E2EModel fresh(rsd::pipeline::e2e_model_options_from(config));
  rsd::model::E2EModel restored(rsd::pipeline::e2e_model_options_from(config));
  for (auto& parameter : restored->parameters()) {
    torch::NoGradGuard no_grad;
    parameter.add_(1.0);
  }
  rsd::train::CheckpointManager::load(dir.file("checkpoints/step_3.pt"), *restored, nullptr);
  for (const auto& item : fresh->named_parameters()) {
    EXPECT_TRUE(torch::equal(item.value(), restored->named_parameters()[item.key()])) << item.key();
  }
}

}  // namespace
