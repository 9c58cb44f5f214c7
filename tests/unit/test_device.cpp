// Devices: run.device parsing and resolution (with the machine's CUDA facts injected, so every
// branch runs on a CPU-only machine), the clear errors for CUDA or NCCL that is not there,
// checkpoints loading across devices, and the meta-device tests that fail when a module, loss or
// op makes a tensor on a fixed device instead of its input's.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cmath>
#include <filesystem>
#include <iostream>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "rsd/config/config.h"
#include "rsd/data/batch.h"
#include "rsd/data/loader.h"
#include "rsd/geometry/grid_spec.h"
#include "rsd/model/e2e_model.h"
#include "rsd/ops/voxel_pool.h"
#include "rsd/pipeline/data_config.h"
#include "rsd/pipeline/device.h"
#include "rsd/pipeline/evaluation_job.h"
#include "rsd/pipeline/process.h"
#include "rsd/pipeline/training_job.h"
#include "rsd/train/checkpoint.h"
#include "rsd/train/e2e_loss.h"
#include "rsd/train/e2e_train_module.h"
#include "rsd/train/loader_source.h"
#include "rsd/train/trainer.h"
#include "rsd/util/error.h"
#include "support/error_message.h"
#include "support/meta_device.h"
#include "support/temp_dir.h"
#include "support/tiny_e2e.h"

namespace {

namespace pipeline = rsd::pipeline;
using pipeline::DeviceAvailability;
using pipeline::DeviceRequest;
using rsd::ConfigError;
using rsd::test::error_message;

const DeviceAvailability kCpuBuild{false, 0};
const DeviceAvailability kCudaBuildNoGpu{true, 0};
const DeviceAvailability kTwoGpus{true, 2};

bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

// ---- run.device ---------------------------------------------------------------------------------

TEST(DeviceParse, AcceptsAutoCpuCudaAndCudaN) {
  EXPECT_EQ(pipeline::parse_device("auto").kind, DeviceRequest::Kind::automatic);
  EXPECT_EQ(pipeline::parse_device("cpu").kind, DeviceRequest::Kind::cpu);
  const DeviceRequest cuda = pipeline::parse_device("cuda");
  EXPECT_EQ(cuda.kind, DeviceRequest::Kind::cuda);
  EXPECT_EQ(cuda.index, -1);  // the GPU of LOCAL_RANK
  const DeviceRequest one = pipeline::parse_device("cuda:1");
  EXPECT_EQ(one.kind, DeviceRequest::Kind::cuda);
  EXPECT_EQ(one.index, 1);
  EXPECT_EQ(pipeline::parse_device("cuda:12").index, 12);
}

TEST(DeviceParse, GarbageIsAConfigErrorNamingTheKey) {
  for (const std::string bad : {"", "gpu", "CPU", "cuda:", "cuda:x", "cuda1", "cuda:-1", "cuda:1:2",
                                "cpu:0", "meta", "cuda:99999"}) {
    const std::string message =
        error_message<ConfigError>([&] { pipeline::parse_device(bad, "run.device"); });
    EXPECT_TRUE(contains(message, "run.device")) << bad << ": " << message;
    EXPECT_TRUE(contains(message, "cuda:N")) << bad << ": " << message;  // lists the valid ones
  }
}

TEST(DeviceParse, RunOptionsReadRunDeviceAndNameItInErrors) {
  rsd::Config config = rsd::Config::defaults();
  EXPECT_EQ(pipeline::run_options_from(config).device.kind, DeviceRequest::Kind::automatic);
  config.apply_override("run.device=cuda:1");
  EXPECT_EQ(pipeline::run_options_from(config).device.index, 1);
  config.apply_override("run.device=tpu");
  EXPECT_TRUE(contains(error_message<ConfigError>([&] { pipeline::run_options_from(config); }),
                       "run.device"));
}

TEST(DeviceResolve, CpuIsAlwaysTheCpu) {
  for (const DeviceAvailability& available : {kCpuBuild, kCudaBuildNoGpu, kTwoGpus}) {
    EXPECT_EQ(pipeline::resolve_device(pipeline::parse_device("cpu"), 1, available),
              torch::Device(torch::kCPU));
  }
}

TEST(DeviceResolve, AutoTakesTheGpuOfTheLocalRankWhenThereIsOneElseTheCpu) {
  const DeviceRequest automatic = pipeline::parse_device("auto");
  EXPECT_EQ(pipeline::resolve_device(automatic, 0, kCpuBuild), torch::Device(torch::kCPU));
  EXPECT_EQ(pipeline::resolve_device(automatic, 0, kCudaBuildNoGpu), torch::Device(torch::kCPU));
  EXPECT_EQ(pipeline::resolve_device(automatic, 0, kTwoGpus), torch::Device(torch::kCUDA, 0));
  EXPECT_EQ(pipeline::resolve_device(automatic, 1, kTwoGpus), torch::Device(torch::kCUDA, 1));
}

TEST(DeviceResolve, CudaIsTheGpuOfLocalRankAndCudaNIsGpuN) {
  EXPECT_EQ(pipeline::resolve_device(pipeline::parse_device("cuda"), 0, kTwoGpus),
            torch::Device(torch::kCUDA, 0));
  EXPECT_EQ(pipeline::resolve_device(pipeline::parse_device("cuda"), 1, kTwoGpus),
            torch::Device(torch::kCUDA, 1));
  EXPECT_EQ(pipeline::resolve_device(pipeline::parse_device("cuda:0"), 1, kTwoGpus),
            torch::Device(torch::kCUDA, 0));
}

TEST(DeviceResolve, CudaWithoutCudaSaysWhatIsMissing) {
  const DeviceRequest cuda = pipeline::parse_device("cuda");
  const std::string no_cuda =
      error_message<ConfigError>([&] { pipeline::resolve_device(cuda, 0, kCpuBuild); });
  EXPECT_TRUE(contains(no_cuda, "run.device")) << no_cuda;
  EXPECT_TRUE(contains(no_cuda, "this libtorch has no CUDA")) << no_cuda;

  const std::string no_gpu =
      error_message<ConfigError>([&] { pipeline::resolve_device(cuda, 0, kCudaBuildNoGpu); });
  EXPECT_TRUE(contains(no_gpu, "run.device")) << no_gpu;
  EXPECT_TRUE(contains(no_gpu, "no GPU is visible")) << no_gpu;
  EXPECT_FALSE(contains(no_gpu, "has no CUDA")) << no_gpu;

  const std::string beyond = error_message<ConfigError>(
      [&] { pipeline::resolve_device(pipeline::parse_device("cuda:2"), 0, kTwoGpus); });
  EXPECT_TRUE(contains(beyond, "GPU 2")) << beyond;
  EXPECT_TRUE(contains(beyond, "2 GPUs are visible")) << beyond;

  const std::string rank = error_message<ConfigError>(
      [&] { pipeline::resolve_device(cuda, 2, kTwoGpus); });
  EXPECT_TRUE(contains(rank, "LOCAL_RANK 2")) << rank;
}

TEST(DeviceResolve, ThisBuildRefusesCudaWhenItHasNoGpu) {
  const DeviceAvailability here = DeviceAvailability::of_this_process();
  if (here.gpus > 0) GTEST_SKIP() << "this machine has a GPU: run.device=cuda is valid here";
  rsd::Config config = rsd::Config::defaults();
  config.apply_override("run.device=cuda");
  const pipeline::RunOptions run = pipeline::run_options_from(config);
  const std::string message = error_message<ConfigError>([&] { pipeline::run_device(run); });
  EXPECT_TRUE(contains(message, "run.device")) << message;
  EXPECT_TRUE(contains(message, here.libtorch_has_cuda ? "no GPU is visible"
                                                       : "this libtorch has no CUDA"))
      << message;
  // auto falls back to the CPU here.
  config.apply_override("run.device=auto");
  EXPECT_EQ(pipeline::run_device(pipeline::run_options_from(config)), torch::Device(torch::kCPU));
}

TEST(DeviceBackend, NcclOnTheCpuIsAConfigErrorNamingDistBackend) {
  const std::string message = error_message<ConfigError>(
      [] { pipeline::check_backend_for_device("nccl", torch::Device(torch::kCPU)); });
  EXPECT_TRUE(contains(message, "dist.backend")) << message;
  EXPECT_TRUE(contains(message, "gloo")) << message;  // says what to use instead
  EXPECT_NO_THROW(pipeline::check_backend_for_device("gloo", torch::Device(torch::kCPU)));
  EXPECT_NO_THROW(pipeline::check_backend_for_device("nccl", torch::Device(torch::kCUDA, 0)));
}

TEST(DeviceBackend, TheTrainingJobRefusesNcclOnTheCpuBeforeWritingAnything) {
  rsd::test::TempDir dir;
  rsd::Config config = rsd::Config::defaults();
  config.apply_override("run.root=" + dir.path());
  config.apply_override("run.name=nccl_on_cpu");
  config.apply_override("run.device=cpu");
  config.apply_override("dist.backend=nccl");
  const std::string message = error_message<ConfigError>(
      [&] { pipeline::run_training_job(config, {"", false, /*dry_run=*/true}); });
  EXPECT_TRUE(contains(message, "dist.backend")) << message;
  EXPECT_FALSE(std::filesystem::exists(dir.path() + "/nccl_on_cpu"));
}

TEST(DeviceBackend, TheEvaluationJobHonoursRunDevice) {
  if (DeviceAvailability::of_this_process().gpus > 0) GTEST_SKIP() << "this machine has a GPU";
  rsd::test::TempDir dir;
  rsd::Config config = rsd::Config::defaults();
  config.apply_override("run.device=cuda");
  // A config mistake: reported before the (missing) checkpoint is looked at.
  const std::string message = error_message<ConfigError>([&] {
    pipeline::run_evaluation(config, {dir.file("missing.pt"), "all", dir.file("eval")});
  });
  EXPECT_TRUE(contains(message, "run.device")) << message;
}

TEST(DevicePinning, OnlyForCudaDevicesOfACudaLibtorch) {
  EXPECT_FALSE(pipeline::pin_memory_for(torch::Device(torch::kCPU)));
  EXPECT_EQ(pipeline::pin_memory_for(torch::Device(torch::kCUDA, 0)),
            DeviceAvailability::of_this_process().libtorch_has_cuda);
}

// ---- placement ----------------------------------------------------------------------------------

std::vector<torch::Tensor> tensors_of(const rsd::data::Batch& b) {
  return {b.images,         b.intrinsics,  b.img_aug,   b.cam2ego,     b.bev_aug,
          b.ego_status,     b.command,     b.future_waypoints, b.future_mask, b.past_waypoints,
          b.past_mask,      b.boxes,       b.box_classes, b.box_mask,  b.risk_target,
          b.risk_mask};
}

rsd::data::Batch tiny_batch(int64_t size = 2) {
  const rsd::test::TinyE2EDataset dataset(size);
  std::vector<rsd::data::Sample> samples;
  for (int64_t i = 0; i < size; ++i) samples.push_back(dataset.get(i, 0));
  return rsd::data::collate(samples);
}

TEST(DevicePlacement, LoaderSourceMovesEveryTensorOfTheBatchToItsDevice) {
  rsd::data::LoaderOptions options;
  options.batch_size = 2;
  options.workers = 1;
  auto loader = std::make_shared<rsd::data::Loader>(
      std::make_shared<rsd::test::TinyE2EDataset>(4), options);
  rsd::train::LoaderSource source(loader, {torch::Device(torch::kMeta), false});
  source.start_epoch(0, 0);
  const std::optional<rsd::data::Batch> batch = source.next();
  ASSERT_TRUE(batch.has_value());
  for (const torch::Tensor& t : tensors_of(*batch)) {
    ASSERT_TRUE(t.defined());
    EXPECT_TRUE(t.is_meta()) << t.sizes();
  }
  EXPECT_EQ(batch->clips.size(), 2u);  // names travel unchanged

  rsd::train::LoaderSource on_cpu(loader);  // the default: batches stay where the loader made them
  on_cpu.start_epoch(0, 0);
  for (const torch::Tensor& t : tensors_of(*on_cpu.next())) EXPECT_TRUE(t.is_cpu());
}

// data.loader.pin_memory is on by default: for the CPU it pins nothing (pinning needs CUDA) and
// training runs as before.
TEST(DevicePinning, OnTheCpuTheLoaderPinsNothingAndTrainingRuns) {
  rsd::Config config = rsd::Config::defaults();
  config.apply_override("data.loader.workers=1");
  const rsd::data::LoaderOptions options =
      pipeline::loader_options_from(config, /*training=*/true, torch::Device(torch::kCPU));
  ASSERT_TRUE(options.pin_memory);
  auto loader = std::make_shared<rsd::data::Loader>(
      std::make_shared<rsd::test::TinyE2EDataset>(4), options);
  EXPECT_FALSE(loader->pins_memory());
  loader->start_epoch(0);
  const std::optional<rsd::data::Batch> batch = loader->next();
  ASSERT_TRUE(batch.has_value());
  for (const torch::Tensor& t : tensors_of(*batch)) EXPECT_FALSE(t.is_pinned()) << t.sizes();

  torch::manual_seed(3);
  rsd::model::E2EModel model(rsd::test::tiny_e2e_model_options());
  auto module = std::make_shared<rsd::train::E2ETrainModule>(
      model, rsd::train::E2ELoss(rsd::test::tiny_e2e_loss_options()));
  rsd::train::TrainerOptions trainer_options;
  trainer_options.steps = 2;
  trainer_options.warmup_steps = 0;
  trainer_options.val_every = 0;
  trainer_options.checkpoint_every = 0;
  trainer_options.progress = false;
  rsd::train::Trainer<rsd::data::Batch> trainer(
      trainer_options, module,
      std::make_shared<rsd::train::LoaderSource>(
          loader, rsd::train::LoaderSourceOptions{torch::Device(torch::kCPU), false}));
  const rsd::train::TrainSummary summary = trainer.run();
  EXPECT_EQ(summary.step, 2);
  EXPECT_TRUE(std::isfinite(summary.last_loss));
}

TEST(DevicePinning, PinningForAGpuWithoutCudaInLibtorchIsAConfigError) {
  if (DeviceAvailability::of_this_process().libtorch_has_cuda) GTEST_SKIP() << "libtorch has CUDA";
  rsd::data::LoaderOptions options;
  options.destination = torch::Device(torch::kCUDA, 0);
  const std::string message = error_message<ConfigError>([&] {
    rsd::data::Loader(std::make_shared<rsd::test::TinyE2EDataset>(2), options);
  });
  EXPECT_TRUE(contains(message, "data.loader.pin_memory")) << message;
  options.pin_memory = false;  // a GPU destination without pinning is fine anywhere
  EXPECT_NO_THROW(rsd::data::Loader(std::make_shared<rsd::test::TinyE2EDataset>(2), options));
}

TEST(DevicePinning, TheWorkersPinBatchesForAGpuAndTheSourceCopiesThemThere) {
  if (DeviceAvailability::of_this_process().gpus < 1) GTEST_SKIP() << "needs a GPU; none is visible";
  const torch::Device gpu(torch::kCUDA, 0);
  rsd::data::LoaderOptions options;
  options.batch_size = 2;
  options.workers = 2;
  options.destination = gpu;
  auto loader = std::make_shared<rsd::data::Loader>(
      std::make_shared<rsd::test::TinyE2EDataset>(4), options);
  ASSERT_TRUE(loader->pins_memory());
  loader->start_epoch(0);
  const std::optional<rsd::data::Batch> host = loader->next();
  ASSERT_TRUE(host.has_value());
  for (const torch::Tensor& t : tensors_of(*host)) EXPECT_TRUE(t.is_pinned()) << t.sizes();

  rsd::train::LoaderSource source(loader, {gpu, false});
  source.start_epoch(0, 0);
  const std::optional<rsd::data::Batch> moved = source.next();
  ASSERT_TRUE(moved.has_value());
  for (const torch::Tensor& t : tensors_of(*moved)) EXPECT_EQ(t.device(), gpu) << t.sizes();
  EXPECT_TRUE(torch::equal(moved->images.cpu(), host->images));  // same batch 0, copied whole
}

// Saves a model and its AdamW state, then loads them into a fresh model with other weights: the
// weights and the optimiser state come back identical. Here the path is cpu -> cpu (this machine
// has no GPU); the archive is read into CPU tensors and copied into the module's own tensors, so
// the same code loads a GPU checkpoint into a CPU model and back.
TEST(DeviceCheckpoint, AFreshModelLoadsIdenticalWeightsAndOptimiserState) {
  rsd::test::TempDir dir;
  auto make = [](uint64_t seed) {
    torch::manual_seed(seed);
    return torch::nn::Sequential(torch::nn::Linear(4, 3), torch::nn::BatchNorm1d(3),
                                 torch::nn::Linear(3, 2));
  };
  torch::nn::Sequential saved = make(1);
  torch::optim::AdamW saved_optimizer(saved->parameters(), torch::optim::AdamWOptions(1e-2));
  for (int step = 0; step < 2; ++step) {
    saved_optimizer.zero_grad();
    saved->forward(torch::randn({5, 4})).square().sum().backward();
    saved_optimizer.step();
  }
  rsd::train::CheckpointManager manager(dir.path(), 2);
  rsd::train::TrainingProgress progress;
  progress.step = 2;
  const std::string path = manager.save(progress, *saved, saved_optimizer, false);

  torch::nn::Sequential loaded = make(2);
  ASSERT_FALSE(torch::equal(loaded->parameters()[0], saved->parameters()[0]));
  torch::optim::AdamW loaded_optimizer(loaded->parameters(), torch::optim::AdamWOptions(1e-2));
  EXPECT_EQ(rsd::train::CheckpointManager::load(path, *loaded, &loaded_optimizer).step, 2);

  const auto saved_tensors = saved->named_parameters();
  for (const auto& item : loaded->named_parameters()) {
    EXPECT_TRUE(torch::equal(item.value(), saved_tensors[item.key()])) << item.key();
  }
  const auto saved_buffers = saved->named_buffers();
  for (const auto& item : loaded->named_buffers()) {
    EXPECT_TRUE(torch::equal(item.value(), saved_buffers[item.key()])) << item.key();
  }
  // One more step from both gives the same weights only if the AdamW moments came back too.
  torch::manual_seed(3);
  const torch::Tensor input = torch::randn({5, 4});
  saved_optimizer.zero_grad();
  saved->forward(input).square().sum().backward();
  saved_optimizer.step();
  loaded_optimizer.zero_grad();
  loaded->forward(input).square().sum().backward();
  loaded_optimizer.step();
  for (const auto& item : loaded->named_parameters()) {
    EXPECT_TRUE(torch::allclose(item.value(), saved_tensors[item.key()], 0.0, 0.0)) << item.key();
  }
}

// The module's tensors stay where they are (here: meta) and are filled in place; the optimiser's
// state follows them. A load that re-assigned parameters would leave them on the CPU.
TEST(DeviceCheckpoint, LoadingKeepsTheModelOnItsDeviceAndMovesOptimiserStateThere) {
  rsd::test::TempDir dir;
  torch::nn::Linear saved(3, 2);
  torch::optim::AdamW saved_optimizer(saved->parameters(), torch::optim::AdamWOptions(1e-2));
  saved_optimizer.zero_grad();
  saved->forward(torch::randn({4, 3})).sum().backward();
  saved_optimizer.step();
  rsd::train::CheckpointManager manager(dir.path(), 1);
  const std::string path = manager.save({}, *saved, saved_optimizer, false);

  torch::nn::Linear elsewhere(3, 2);
  rsd::test::move_to_meta(*elsewhere);  // stands in for a GPU: another device than the archive's
  torch::optim::AdamW optimizer(elsewhere->parameters(), torch::optim::AdamWOptions(1e-2));
  rsd::train::CheckpointManager::load(path, *elsewhere, &optimizer);
  for (const auto& parameter : elsewhere->parameters()) EXPECT_TRUE(parameter.is_meta());
  int states = 0;
  for (const auto& entry : optimizer.state()) {
    const auto& state = static_cast<const torch::optim::AdamWParamState&>(*entry.second);
    EXPECT_TRUE(state.exp_avg().is_meta());
    EXPECT_TRUE(state.exp_avg_sq().is_meta());
    ++states;
  }
  EXPECT_EQ(states, 2);  // weight and bias
}

// ---- tensors follow their inputs: the meta device -----------------------------------------------
// Every input and weight on meta: a tensor made without its input's options lands on the CPU. The
// tripwire (support/meta_device.h) notes every op that returns a CPU tensor, which catches it
// even where a meta op would silently accept a CPU operand (cat does).

TEST(MetaDevice, TheTripwireCatchesATensorMadeOnTheCpu) {
  const auto meta = torch::TensorOptions().device(torch::kMeta);
  const torch::Tensor input = torch::ones({2, 3}, meta);
  rsd::test::CpuTensorTripwire tripwire;
  const torch::Tensor follows = input + torch::zeros({2, 3}, input.options()) +
                                torch::tensor({1.0f, 2.0f, 3.0f}, input.options());
  EXPECT_TRUE(tripwire.cpu_tensors().empty()) << tripwire.cpu_tensors().front();
  const torch::Tensor fixed = torch::cat({input, torch::zeros({2, 3})});  // accepted by meta cat
  EXPECT_TRUE(fixed.is_meta());
  ASSERT_FALSE(tripwire.cpu_tensors().empty());
  EXPECT_NE(tripwire.cpu_tensors().front().find("[2, 3]"), std::string::npos)
      << tripwire.cpu_tensors().front();
  // Element-wise ops refuse the mix outright.
  EXPECT_ANY_THROW((void)(input + torch::ones({2, 3})));
}

TEST(MetaDevice, VoxelPoolChecksAndShapesAtFullConfigSize) {
  // Config B of rsd_bench voxel-pool: six cameras at stride 8 of 256 x 704, 118 depth bins,
  // 80 channels, a 256 x 256 grid; no memory is allocated for any of it.
  const rsd::GridSpec grid({-51.2, 51.2, 0.4}, {-51.2, 51.2, 0.4}, {-10.0, 10.0, 20.0});
  const auto meta = torch::TensorOptions().device(torch::kMeta);
  const int64_t batch = 2, cameras = 6, bins = 118, height = 32, width = 88, channels = 80;
  const torch::Tensor points = torch::empty({batch, cameras, bins, height, width, 3}, meta);
  const rsd::ops::VoxelPoolIndex index = rsd::ops::build_voxel_pool_index(points, grid);
  EXPECT_TRUE(index.cell_ptr.is_meta());
  const torch::Tensor depth =
      torch::empty({batch, cameras, bins, height, width}, meta).requires_grad_(true);
  const torch::Tensor feat =
      torch::empty({batch, cameras, height, width, channels}, meta).requires_grad_(true);
  rsd::test::CpuTensorTripwire tripwire;
  const torch::Tensor out = rsd::ops::voxel_pool(depth, feat, index);
  EXPECT_TRUE(out.is_meta());
  EXPECT_EQ(out.sizes(), torch::IntArrayRef({batch, channels, 256, 256}));
  out.sum().backward();
  ASSERT_TRUE(depth.grad().defined() && feat.grad().defined());
  EXPECT_TRUE(depth.grad().is_meta());
  EXPECT_EQ(depth.grad().sizes(), depth.sizes());
  EXPECT_EQ(feat.grad().sizes(), feat.sizes());
  EXPECT_TRUE(tripwire.cpu_tensors().empty()) << tripwire.cpu_tensors().front();
  // The checks still run: a feature map of another size is refused.
  const torch::Tensor narrow = torch::empty({batch, cameras, height, width - 1, channels}, meta);
  EXPECT_THROW(rsd::ops::voxel_pool(depth, narrow, index), rsd::Error);
}

// The whole E2E model (image encoder, LiftSplat with the voxel pooling, BEV encoder, detection,
// planning and risk heads, risk attention), every E2ELoss term with each risk loss type, and the
// backward pass, all on meta inputs. libtorch 1.13 keeps a few Meta kernels in Python only; the
// test supplies shape-only ones for them (support/meta_kernels.h) and names them in its output.
TEST(MetaDevice, E2EModelForwardLossesAndBackwardStayOnTheInputsDevice) {
  for (const std::string& op : rsd::test::install_missing_meta_kernels()) {
    std::cout << "[ meta     ] shape-only kernel supplied by the test: " << op << "\n";
  }
  rsd::model::E2EModelOptions model_options = rsd::test::tiny_e2e_model_options(true);
  model_options.risk_attention_alpha = 0.5;
  rsd::model::E2EModel model(model_options);
  model->train();
  rsd::test::move_to_meta(*model);
  const rsd::data::Batch batch = tiny_batch().to(torch::kMeta);

  rsd::test::CpuTensorTripwire tripwire;
  const rsd::model::E2EOutput output = model->forward(batch);
  for (const torch::Tensor& t : {output.bev, output.depth, output.detection.heatmap,
                                 output.waypoints, output.risk_logits}) {
    ASSERT_TRUE(t.defined());
    EXPECT_TRUE(t.is_meta()) << t.sizes();
  }
  for (const auto type : {rsd::model::RiskLossType::l1, rsd::model::RiskLossType::mse,
                          rsd::model::RiskLossType::focal, rsd::model::RiskLossType::kl}) {
    rsd::train::E2ELossOptions loss_options = rsd::test::tiny_e2e_loss_options();
    loss_options.collision = rsd::model::CollisionLossOptions{};
    loss_options.risk.type(type);
    const rsd::train::LossTerms terms = rsd::train::E2ELoss(loss_options)(output, batch);
    EXPECT_TRUE(terms.total.is_meta()) << rsd::model::to_string(type);
    for (const auto& [name, value] : terms.terms) {
      EXPECT_TRUE(value.is_meta()) << name << " with " << rsd::model::to_string(type);
    }
  }
  rsd::train::LossTerms terms = rsd::train::E2ELoss(rsd::test::tiny_e2e_loss_options())(
      model->forward(batch), batch);
  terms.total.backward();
  for (const auto& item : model->named_parameters()) {
    if (!item.value().requires_grad()) continue;
    ASSERT_TRUE(item.value().grad().defined()) << item.key();
    EXPECT_TRUE(item.value().grad().is_meta()) << item.key();
  }
  for (const std::string& made : tripwire.cpu_tensors()) {
    ADD_FAILURE() << "a tensor was made on the CPU instead of the inputs' device: " << made;
  }
}

}  // namespace
