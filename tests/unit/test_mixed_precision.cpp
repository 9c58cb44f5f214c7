// Mixed precision (train.amp): the autocast scopes, the fp32 islands of the model (geometry,
// voxel pooling, losses) under bf16 autocast, the fp16 loss scaler's rules with injected
// gradients, its checkpoint state, and the config key's errors.
#include <gtest/gtest.h>
#include <torch/serialize/input-archive.h>
#include <torch/serialize/output-archive.h>
#include <torch/torch.h>

#include <cmath>
#include <filesystem>
#include <functional>
#include <limits>
#include <sstream>
#include <string>
#include <vector>

#include "rsd/config/config.h"
#include "rsd/data/batch.h"
#include "rsd/model/e2e_model.h"
#include "rsd/pipeline/train_config.h"
#include "rsd/pipeline/training_job.h"
#include "rsd/train/e2e_loss.h"
#include "rsd/train/loss_scaler.h"
#include "rsd/util/error.h"
#include "rsd/util/mixed_precision.h"
#include "support/error_message.h"
#include "support/temp_dir.h"
#include "support/tiny_e2e.h"

namespace {

using rsd::AutocastPause;
using rsd::AutocastScope;
using rsd::Precision;
using rsd::test::error_message;
using rsd::train::DynamicLossScaler;
using rsd::train::LossScalerOptions;

bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

// A matrix product: autocast runs it in its reduced dtype.
torch::ScalarType matmul_dtype() {
  const torch::Tensor a = torch::ones({4, 4});
  return torch::matmul(a, a).scalar_type();
}

TEST(Autocast, Bf16ScopeCastsMatrixProductsAndRestoresTheStateAfterwards) {
  ASSERT_EQ(matmul_dtype(), torch::kFloat);
  {
    const AutocastScope autocast(torch::kCPU, Precision::bf16);
    EXPECT_EQ(matmul_dtype(), torch::kBFloat16);
    {
      const AutocastPause pause;
      EXPECT_EQ(matmul_dtype(), torch::kFloat);
    }
    EXPECT_EQ(matmul_dtype(), torch::kBFloat16);
    {
      const AutocastScope inner(torch::kCPU, Precision::fp32);  // no-op: the outer one stays
      EXPECT_EQ(matmul_dtype(), torch::kBFloat16);
    }
    EXPECT_EQ(matmul_dtype(), torch::kBFloat16);
  }
  EXPECT_EQ(matmul_dtype(), torch::kFloat);
}

TEST(Autocast, SupportFollowsTheLibtorch) {
  EXPECT_TRUE(rsd::autocast_supported(torch::kCPU, Precision::fp32));
  EXPECT_TRUE(rsd::autocast_supported(torch::kCPU, Precision::bf16));
  EXPECT_TRUE(rsd::autocast_supported(torch::Device("cuda:0"), Precision::fp16));
  EXPECT_FALSE(rsd::autocast_supported(torch::Device("meta"), Precision::bf16));
  if (!rsd::autocast_supported(torch::kCPU, Precision::fp16)) {
    const std::string message =
        error_message([] { AutocastScope scope(torch::kCPU, Precision::fp16); });
    EXPECT_TRUE(contains(message, "fp16")) << message;
    EXPECT_EQ(matmul_dtype(), torch::kFloat);  // a refused scope leaves autocast off
  }
}

TEST(Autocast, PrecisionNamesRoundTripAndUnknownOnesAreRefused) {
  for (const Precision precision : {Precision::fp32, Precision::bf16, Precision::fp16}) {
    EXPECT_EQ(rsd::parse_precision(rsd::to_string(precision)), precision);
  }
  const std::string message = error_message([] { rsd::parse_precision("fp8"); });
  EXPECT_TRUE(contains(message, "fp8") && contains(message, "bf16")) << message;
}

TEST(Autocast, AtLeastFloatWidensOnlyReducedTypes) {
  EXPECT_EQ(rsd::at_least_float(torch::ones({2}, torch::kHalf)).scalar_type(), torch::kFloat);
  EXPECT_EQ(rsd::at_least_float(torch::ones({2}, torch::kBFloat16)).scalar_type(), torch::kFloat);
  EXPECT_EQ(rsd::at_least_float(torch::ones({2}, torch::kDouble)).scalar_type(), torch::kDouble);
  EXPECT_EQ(rsd::at_least_float(torch::ones({2}, torch::kLong)).scalar_type(), torch::kLong);
  EXPECT_FALSE(rsd::at_least_float(torch::Tensor()).defined());
}

// The E2E model under bf16 autocast: the convolutions run in bf16, while the geometry, the voxel
// pooling and the losses stay fp32 and give the index and BEV features of an fp32 forward.
TEST(Autocast, E2EModelRunsItsConvolutionsInBf16AndKeepsGeometryPoolingAndLossesInFp32) {
  torch::manual_seed(5);
  rsd::model::E2EModel model(rsd::test::tiny_e2e_model_options());
  model->eval();
  const rsd::data::Batch batch =
      rsd::data::collate({rsd::test::TinyE2EDataset(2).get(0, 0),
                          rsd::test::TinyE2EDataset(2).get(1, 0)});
  torch::NoGradGuard no_grad;
  const rsd::model::E2EOutput full = model->forward(batch);
  const torch::Tensor full_points =
      model->lift->ego_points(batch.intrinsics, batch.img_aug, batch.cam2ego, torch::kFloat);
  rsd::model::E2EOutput mixed;
  torch::Tensor loss;
  torch::Tensor mixed_points;
  {
    const AutocastScope autocast(torch::kCPU, Precision::bf16);
    mixed = model->forward(batch);
    loss = rsd::train::E2ELoss(rsd::test::tiny_e2e_loss_options())(mixed, batch).total;
    mixed_points =
        model->lift->ego_points(batch.intrinsics, batch.img_aug, batch.cam2ego, torch::kFloat);
  }
  EXPECT_EQ(mixed.bev.scalar_type(), torch::kBFloat16);  // the BEV encoder's convolutions
  EXPECT_EQ(mixed.depth.scalar_type(), torch::kFloat);   // the softmax and pooling in fp32
  EXPECT_EQ(loss.scalar_type(), torch::kFloat);
  EXPECT_TRUE(std::isfinite(loss.item<double>()));
  EXPECT_TRUE(torch::equal(mixed_points, full_points));
  // bf16 keeps 8 bits of mantissa: the depth distribution agrees to a few percent.
  EXPECT_LT((mixed.depth - full.depth).abs().max().item<double>(), 0.05);
}

// ---------------------------------------------------------------------------------------------
// The fp16 loss scaler, with gradients set by hand.

torch::Tensor parameter_with_grad(std::vector<float> grad) {
  torch::Tensor parameter = torch::zeros({static_cast<int64_t>(grad.size())}).requires_grad_();
  parameter.mutable_grad() = torch::tensor(grad);
  return parameter;
}

TEST(LossScaler, ScalesTheLossAndUnscalesFiniteGradients) {
  LossScalerOptions options;
  options.init_scale = 1024.0;
  DynamicLossScaler scaler(options);
  EXPECT_DOUBLE_EQ(scaler.scale(torch::tensor(0.5)).item<double>(), 512.0);
  const std::vector<torch::Tensor> parameters{parameter_with_grad({2048.0f, -512.0f}),
                                              torch::zeros({3}).requires_grad_()};  // no grad
  EXPECT_TRUE(scaler.unscale(parameters));
  EXPECT_TRUE(torch::equal(parameters[0].grad(), torch::tensor({2.0f, -0.5f})));
  EXPECT_FALSE(scaler.found_overflow());
}

TEST(LossScaler, InfOrNanGradientsSkipAndHalveTheScaleAndResetTheGoodSteps) {
  for (const float bad : {std::numeric_limits<float>::infinity(),
                          std::numeric_limits<float>::quiet_NaN()}) {
    LossScalerOptions options;
    options.init_scale = 256.0;
    options.growth_interval = 3;
    DynamicLossScaler scaler(options);
    EXPECT_TRUE(scaler.unscale({parameter_with_grad({1.0f})}));
    scaler.update();
    EXPECT_EQ(scaler.good_steps(), 1);
    EXPECT_FALSE(scaler.unscale({parameter_with_grad({1.0f}), parameter_with_grad({1.0f, bad})}));
    EXPECT_TRUE(scaler.found_overflow());
    scaler.update();
    EXPECT_DOUBLE_EQ(scaler.scale_value(), 128.0);
    EXPECT_EQ(scaler.good_steps(), 0);
    EXPECT_FALSE(scaler.found_overflow());
  }
}

TEST(LossScaler, GrowsAfterGrowthIntervalGoodStepsInARow) {
  LossScalerOptions options;
  options.init_scale = 8.0;
  options.growth_interval = 3;
  DynamicLossScaler scaler(options);
  std::vector<double> scales;
  for (int step = 0; step < 7; ++step) {
    ASSERT_TRUE(scaler.unscale({parameter_with_grad({1.0f})}));
    scaler.update();
    scales.push_back(scaler.scale_value());
  }
  EXPECT_EQ(scales, (std::vector<double>{8, 8, 16, 16, 16, 32, 32}));
  scaler.update(/*overflow=*/true);  // a non-finite loss counts as an overflow
  EXPECT_DOUBLE_EQ(scaler.scale_value(), 16.0);
}

TEST(LossScaler, StateRoundTripsThroughAnArchive) {
  LossScalerOptions options;
  options.init_scale = 64.0;
  options.growth_interval = 10;
  DynamicLossScaler saved(options);
  for (int step = 0; step < 4; ++step) saved.update();
  saved.update(/*overflow=*/true);
  saved.update();
  torch::serialize::OutputArchive out;
  saved.save(out);
  std::ostringstream bytes;
  out.save_to(bytes);
  std::istringstream in_bytes(bytes.str());
  torch::serialize::InputArchive in;
  in.load_from(in_bytes);
  DynamicLossScaler restored;
  restored.load(in);
  EXPECT_DOUBLE_EQ(restored.scale_value(), 32.0);
  EXPECT_EQ(restored.good_steps(), 1);

  torch::serialize::InputArchive empty;
  const std::string message = error_message([&] { restored.load(empty); });
  EXPECT_TRUE(contains(message, "loss-scaler")) << message;
}

TEST(LossScaler, RefusesOptionsThatCannotWork) {
  for (const auto& change : std::vector<std::function<void(LossScalerOptions&)>>{
           [](LossScalerOptions& o) { o.init_scale = 0.0; },
           [](LossScalerOptions& o) { o.growth_factor = 1.0; },
           [](LossScalerOptions& o) { o.backoff_factor = 1.0; },
           [](LossScalerOptions& o) { o.growth_interval = 0; }}) {
    LossScalerOptions options;
    change(options);
    EXPECT_THROW(DynamicLossScaler{options}, rsd::Error);
  }
}

// ---------------------------------------------------------------------------------------------
// train.amp in configs.

TEST(AmpConfig, ReadsTrainAmpAndItsLossScaleKeys) {
  rsd::Config config = rsd::Config::defaults();
  EXPECT_EQ(rsd::pipeline::trainer_options_from(config).amp, Precision::fp32);
  config.apply_override("train.amp=fp16");
  config.apply_override("train.amp_init_scale=1024");
  config.apply_override("train.amp_growth_interval=50");
  const auto options = rsd::pipeline::trainer_options_from(config);
  EXPECT_EQ(options.amp, Precision::fp16);
  EXPECT_DOUBLE_EQ(options.loss_scale.init_scale, 1024.0);
  EXPECT_EQ(options.loss_scale.growth_interval, 50);
  config.apply_override("train.amp=fp8");
  const std::string message = error_message<rsd::ConfigError>(
      [&] { rsd::pipeline::trainer_options_from(config); });
  EXPECT_TRUE(contains(message, "train.amp") && contains(message, "bf16")) << message;
}

TEST(AmpConfig, TheTrainingJobRefusesAPrecisionTheDeviceCannotAutocastBeforeWritingAnything) {
  if (rsd::autocast_supported(torch::kCPU, Precision::fp16)) {
    GTEST_SKIP() << "this libtorch autocasts to fp16 on the CPU (>= 2.4): nothing to refuse";
  }
  rsd::test::TempDir dir;
  rsd::Config config = rsd::Config::defaults();
  config.apply_override("run.root=" + dir.path());
  config.apply_override("run.name=fp16_on_cpu");
  config.apply_override("run.device=cpu");
  config.apply_override("train.amp=fp16");
  const std::string message = error_message<rsd::ConfigError>(
      [&] { rsd::pipeline::run_training_job(config, {"", false, /*dry_run=*/true}); });
  EXPECT_TRUE(contains(message, "train.amp") && contains(message, "cpu")) << message;
  EXPECT_FALSE(std::filesystem::exists(dir.path() + "/fp16_on_cpu"));
}

}  // namespace
