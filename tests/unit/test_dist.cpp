// Data-parallel training over c10d: the library Trainer on the E2E model in two processes on
// loopback against one process on the same samples, the failures that must end in a clear error
// instead of a hang, the backend dist.backend means for a device (auto: nccl on GPUs, gloo on the
// CPU), and collectives of ranks run as threads of this process (Gloo on the CPU; on GPUs, NCCL
// and Gloo, skipped visibly without them).
#include <gtest/gtest.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <torch/torch.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <csignal>
#include <cstdlib>
#include <exception>
#include <filesystem>
#include <type_traits>
#include <functional>
#include <string>
#include <thread>
#include <utility>

#include "rsd/dist/communicator.h"
#include "rsd/dist/dist_options.h"
#include "rsd/dist/gradient_sync.h"
#include "rsd/dist/launcher.h"
#include "rsd/data/loader.h"
#include "rsd/train/loader_source.h"
#include "rsd/train/trainer.h"
#include "rsd/pipeline/device.h"
#include "rsd/util/error.h"
#include "rsd/util/torch_compat.h"
#include "support/error_message.h"
#include "support/log_capture.h"
#include "support/temp_dir.h"
#include "support/tiny_e2e.h"

extern char** environ;

namespace {

// A port that was free a moment ago (the kernel's choice for port 0).
int free_port() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ::bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof address);
  socklen_t length = sizeof address;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length);
  ::close(fd);
  return ntohs(address.sin_port);
}

struct Worker {
  pid_t pid = -1;
  std::string log;
};

// Starts one rsd_dist_worker as `rank` of `world`, its output going to a log file.
Worker start_worker(const rsd::test::TempDir& dir, int rank, int world, int port,
                    const std::vector<std::string>& args) {
  Worker worker;
  worker.log = dir.file("rank" + std::to_string(rank) + ".log");
  std::vector<std::string> env_strings = {
      "MASTER_ADDR=127.0.0.1", "MASTER_PORT=" + std::to_string(port),
      "RANK=" + std::to_string(rank), "WORLD_SIZE=" + std::to_string(world),
      "LOCAL_RANK=" + std::to_string(rank), "OMP_NUM_THREADS=1"};
  for (char** e = environ; *e != nullptr; ++e) {
    const std::string entry = *e;
    if (entry.rfind("RANK=", 0) != 0 && entry.rfind("WORLD_SIZE=", 0) != 0 &&
        entry.rfind("MASTER_", 0) != 0 && entry.rfind("LOCAL_RANK=", 0) != 0) {
      env_strings.push_back(entry);
    }
  }
  std::vector<std::string> argv_strings = {RSD_DIST_WORKER};
  argv_strings.insert(argv_strings.end(), args.begin(), args.end());
  std::vector<char*> argv, envp;
  for (auto& s : argv_strings) argv.push_back(s.data());
  argv.push_back(nullptr);
  for (auto& s : env_strings) envp.push_back(s.data());
  envp.push_back(nullptr);
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO, worker.log.c_str(),
                                   O_WRONLY | O_CREAT | O_TRUNC, 0644);
  posix_spawn_file_actions_adddup2(&actions, STDOUT_FILENO, STDERR_FILENO);
  EXPECT_EQ(posix_spawn(&worker.pid, argv[0], &actions, nullptr, argv.data(), envp.data()), 0);
  posix_spawn_file_actions_destroy(&actions);
  return worker;
}

int wait_exit_code(const Worker& worker) {
  int status = 0;
  ::waitpid(worker.pid, &status, 0);
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

std::vector<torch::Tensor> load_tensors(const std::string& path) {
  std::vector<torch::Tensor> tensors;
  torch::load(tensors, path);
  return tensors;
}

struct Weights {
  std::vector<torch::Tensor> initial;     // rank 0's parameters before training (all ranks' start)
  std::vector<torch::Tensor> parameters;  // after training
  std::vector<torch::Tensor> buffers;     // after training (BatchNorm running statistics)
  torch::Tensor steps;                    // per step: loss, gradient norm (means over ranks)
};

// Trains the tiny E2E model with the library Trainer in `world` processes of `batch` samples
// each (see tests/dist/dist_worker.cpp) and returns rank 0's weights, checking that every rank
// ends with the same parameters.
Weights train(const rsd::test::TempDir& dir, int world, int accumulate, int batch,
              const std::string& bucket_mb, const std::string& batch_norm) {
  const int port = free_port();
  const std::string prefix = dir.file(batch_norm + "_w" + std::to_string(world) + "_r");
  std::vector<Worker> workers;
  for (int rank = 0; rank < world; ++rank) {
    workers.push_back(start_worker(dir, rank, world, port,
                                   {"train", prefix + std::to_string(rank) + ".pt", "4",
                                    std::to_string(accumulate), bucket_mb, "60",
                                    std::to_string(batch), batch_norm}));
  }
  for (int rank = 0; rank < world; ++rank) {
    EXPECT_EQ(wait_exit_code(workers[rank]), 0) << rsd::test::read_text(workers[rank].log);
  }
  Weights weights{load_tensors(prefix + "0.pt.initial"), load_tensors(prefix + "0.pt"),
                  load_tensors(prefix + "0.pt.buffers"), load_tensors(prefix + "0.pt.steps").at(0)};
  for (int rank = 1; rank < world; ++rank) {
    const auto other = load_tensors(prefix + std::to_string(rank) + ".pt");
    EXPECT_EQ(other.size(), weights.parameters.size());
    for (std::size_t i = 0; i < std::min(other.size(), weights.parameters.size()); ++i) {
      EXPECT_TRUE(torch::equal(weights.parameters[i], other[i]))
          << "rank " << rank << ", parameter " << i;
    }
  }
  return weights;
}

// Names of the tiny E2E model's parameters, in the order the worker saves them.
std::vector<std::string> parameter_names() {
  std::vector<std::string> names;
  const rsd::model::E2EModel model(rsd::test::tiny_e2e_model_options());
  for (const auto& item : model->named_parameters()) names.push_back(item.key());
  return names;
}

void expect_close(const std::vector<torch::Tensor>& expected,
                  const std::vector<torch::Tensor>& actual, double tolerance,
                  const std::vector<std::string>& names) {
  ASSERT_EQ(expected.size(), actual.size());
  for (std::size_t i = 0; i < expected.size(); ++i) {
    EXPECT_LT((expected[i] - actual[i]).abs().max().item<double>(), tolerance)
        << (i < names.size() ? names[i] : "tensor " + std::to_string(i));
  }
}

// Losses and gradient norms agree to float precision: Adam's update ignores the gradients' scale,
// so only these catch a sum over ranks taken for a mean.
void expect_same_steps(const Weights& expected, const Weights& actual) {
  ASSERT_TRUE(expected.steps.sizes() == actual.steps.sizes());
  for (int64_t i = 0; i < expected.steps.numel(); ++i) {
    const double a = expected.steps[i].item<double>(), b = actual.steps[i].item<double>();
    EXPECT_NEAR(a, b, 1e-5 * std::max(1.0, std::abs(a))) << (i % 2 == 0 ? "loss" : "grad norm")
                                                         << " of step " << i / 2 + 1;
  }
}

// The largest change of any parameter during training: the equalities below mean something only
// when it is well above their tolerance.
double largest_change(const Weights& weights) {
  double change = 0.0;
  for (std::size_t i = 0; i < weights.parameters.size(); ++i) {
    const torch::Tensor moved = (weights.parameters[i] - weights.initial[i]).abs().max();
    change = std::max(change, moved.item<double>());
  }
  return change;
}

TEST(Dist, TwoProcessesEqualOneProcessOnTheCombinedBatch) {
  rsd::test::TempDir dir;
  // The real Trainer on the real E2E model, 4 steps of 2 accumulated micro-batches, in tiny
  // buckets (many all-reduces started during backward). Its BatchNorms are frozen (eval mode):
  // only then is a micro-batch of 4 samples in one process the same computation as two of 2 in
  // two processes, so parameters and buffers must agree.
  const Weights single = train(dir, 1, 2, 4, "0.0005", "frozen");
  const Weights pair = train(dir, 2, 2, 2, "0.0005", "frozen");
  EXPECT_GT(largest_change(single), 1e-3);
  expect_close(single.parameters, pair.parameters, 1e-5, parameter_names());
  expect_close(single.buffers, pair.buffers, 1e-6, {});
  expect_same_steps(single, pair);
}

TEST(Dist, TwoProcessesEqualOneProcessAccumulatingTheirBatchesUnderBatchNorm) {
  rsd::test::TempDir dir;
  // BatchNorm in training mode normalises over each rank's own batch (no SyncBN), as one process
  // does over each micro-batch: 2 processes x batch 2 must equal 1 process x batch 2 x 2
  // accumulated micro-batches holding the same samples. Parameters only: the running statistics
  // are rank 0's (broadcast before every step), which saw only its own batches, not the single
  // process's every micro-batch.
  const Weights single = train(dir, 1, 2, 2, "25", "batch");
  const Weights pair = train(dir, 2, 1, 2, "25", "batch");
  EXPECT_GT(largest_change(single), 1e-3);
  expect_close(single.parameters, pair.parameters, 1e-5, parameter_names());
  expect_same_steps(single, pair);
}

TEST(Dist, ADeadRankEndsTheOtherWithATimeoutErrorNotAHang) {
  rsd::test::TempDir dir;
  const int port = free_port();
  const auto begin = std::chrono::steady_clock::now();
  Worker rank0 =
      start_worker(dir, 0, 2, port, {"die", dir.file("x.pt"), "5", "1", "25", "3", "2", "batch"});
  Worker rank1 =
      start_worker(dir, 1, 2, port, {"die", dir.file("y.pt"), "5", "1", "25", "3", "2", "batch"});
  EXPECT_EQ(wait_exit_code(rank1), 0);
  EXPECT_EQ(wait_exit_code(rank0), 1);
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - begin).count();
  EXPECT_LT(seconds, 25.0);
  const std::string log = rsd::test::read_text(rank0.log);
  EXPECT_NE(log.find("failed on rank 0 of 2"), std::string::npos) << log;
}

TEST(Dist, APortInUseIsReportedAsSuch) {
  rsd::test::TempDir dir;
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof address), 0);
  ASSERT_EQ(::listen(fd, 1), 0);
  socklen_t length = sizeof address;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length);
  const int busy = ntohs(address.sin_port);
  Worker rank0 =
      start_worker(dir, 0, 2, busy, {"train", dir.file("x.pt"), "1", "1", "25", "3", "2", "batch"});
  EXPECT_EQ(wait_exit_code(rank0), 1);
  ::close(fd);
  const std::string log = rsd::test::read_text(rank0.log);
  EXPECT_NE(log.find("port in use"), std::string::npos) << log;
}


// ---- the --nproc launcher -----------------------------------------------------------------------

// `rsd_train --nproc 3` with a worker that fails as `failing_rank_does` (a shell command) while
// the others wait to be stopped; returns the launcher's exit code and log.
std::pair<int, std::string> launch_with_failing_rank(int failing_rank,
                                                     const std::string& failing_rank_does) {
  rsd::test::LogCapture log;
  rsd::dist::LaunchOptions options;
  options.nproc = 3;
  options.grace_s = 2.0;
  const std::string script = "if [ \"$RANK\" = " + std::to_string(failing_rank) + " ]; then " +
                             failing_rank_does + "; fi; exec sleep 30";
  const int code = rsd::dist::launch_local({"/bin/sh", "-c", script}, options);
  return {code, log.text()};
}

TEST(DistLauncher, AWorkerKilledBySigkillIsNamedByRankAndSignal) {
  const auto begin = std::chrono::steady_clock::now();
  // What the kernel's OOM killer does to a worker.
  const auto [code, log] = launch_with_failing_rank(1, "kill -KILL $$");
  EXPECT_EQ(code, 128 + SIGKILL);
  EXPECT_NE(log.find("worker rank 1 (pid "), std::string::npos) << log;
  EXPECT_NE(log.find("killed by signal 9 (SIGKILL; out of memory?) with status 137"),
            std::string::npos)
      << log;
  EXPECT_EQ(log.find("rank 0"), std::string::npos) << "only the failing rank is blamed:\n" << log;
  EXPECT_LT(std::chrono::duration<double>(std::chrono::steady_clock::now() - begin).count(), 20.0)
      << "the other workers are stopped, not waited for";
}

TEST(DistLauncher, AWorkerThatExitsWithAnErrorIsNamedByRankAndStatus) {
  const auto [code, log] = launch_with_failing_rank(2, "exit 3");
  EXPECT_EQ(code, 3);
  EXPECT_NE(log.find("worker rank 2 (pid "), std::string::npos) << log;
  EXPECT_NE(log.find(") exited with status 3; stopping the others"), std::string::npos) << log;
  EXPECT_EQ(log.find("killed"), std::string::npos) << log;
}

// ---- backends -----------------------------------------------------------------------------------

using rsd::dist::Communicator;
using rsd::dist::DistOptions;

bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

TEST(DistBackend, AutoIsNcclOnAGpuAndGlooOnTheCpuAndExplicitChoicesStay) {
  const torch::Device cpu(torch::kCPU), gpu(torch::kCUDA, 1);
  const bool with_nccl = true, without_nccl = false;
  EXPECT_EQ(rsd::dist::resolve_backend("auto", cpu, with_nccl), "gloo");
  EXPECT_EQ(rsd::dist::resolve_backend("auto", gpu, with_nccl), "nccl");
  EXPECT_EQ(rsd::dist::resolve_backend("auto", gpu, without_nccl), "gloo");  // Gloo does CUDA too
  EXPECT_EQ(rsd::dist::resolve_backend("gloo", gpu, with_nccl), "gloo");
  EXPECT_EQ(rsd::dist::resolve_backend("nccl", cpu, with_nccl), "nccl");  // refused later, with a message
  EXPECT_EQ(rsd::dist::resolve_backend("nccl", gpu, without_nccl), "nccl");  // likewise
  // Without the flag: this build's NCCL.
  EXPECT_EQ(rsd::dist::resolve_backend("auto", gpu),
            rsd::dist::nccl_available() ? "nccl" : "gloo");
  EXPECT_EQ(DistOptions().backend, "auto");

  ::unsetenv("WORLD_SIZE");
  ::unsetenv("RANK");
  DistOptions unknown;
  unknown.backend = "mpi";
  const std::string message =
      rsd::test::error_message<rsd::ConfigError>([&] { rsd::dist::with_environment(unknown); });
  EXPECT_TRUE(contains(message, "dist.backend") && contains(message, "auto")) << message;
}

DistOptions rank_options(int rank, int world, int port, const std::string& backend = "auto") {
  DistOptions options;
  options.backend = backend;
  options.rank = rank;
  options.local_rank = rank;
  options.world_size = world;
  options.master_port = port;
  options.timeout_s = 30.0;
  return options;
}

TEST(DistBackend, NcclOnTheCpuIsAConfigErrorNamingTheKey) {
  const std::string message = rsd::test::error_message<rsd::ConfigError>(
      [] { Communicator(rank_options(0, 2, free_port(), "nccl"), torch::Device(torch::kCPU)); });
  EXPECT_TRUE(contains(message, "dist.backend")) << message;
  EXPECT_TRUE(contains(message, "gloo")) << message;  // what to use instead
}

TEST(DistBackend, NcclWithoutNcclInLibtorchIsAConfigErrorNamingTheKeyAndWhatIsMissing) {
  if (rsd::dist::nccl_available()) GTEST_SKIP() << "this libtorch has NCCL";
  for (const int world : {1, 2}) {  // refused before any rendezvous, even for one process
    const std::string message = rsd::test::error_message<rsd::ConfigError>([&] {
      Communicator(rank_options(0, world, free_port(), "nccl"), torch::Device(torch::kCUDA, 0));
    });
    EXPECT_TRUE(contains(message, "dist.backend")) << message;
    EXPECT_TRUE(contains(message, "NCCL")) << message;
  }
}

// ---- collectives of ranks run as threads ---------------------------------------------------------

// Runs `rank_body(rank)` for every rank of a `world`-rank job, each in a thread of this process
// (every rank has its own store client and process group, as in separate processes), then
// rethrows the first rank's failure.
void run_ranks(int world, const std::function<void(int)>& rank_body) {
  std::vector<std::exception_ptr> errors(static_cast<std::size_t>(world));
  std::vector<std::thread> threads;
  for (int rank = 0; rank < world; ++rank) {
    threads.emplace_back([&, rank] {
      try {
        rank_body(rank);
      } catch (...) {
        errors[static_cast<std::size_t>(rank)] = std::current_exception();
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  for (const std::exception_ptr& error : errors) {
    if (error) std::rethrow_exception(error);
  }
}

TEST(DistCommunicator, MeansOfValuesOverTwoGlooRanks) {
  const int port = free_port();
  run_ranks(2, [&](int rank) {
    Communicator communicator(rank_options(rank, 2, port), torch::Device(torch::kCPU));
    EXPECT_EQ(communicator.options().backend, "gloo");  // auto on the CPU
    EXPECT_TRUE(communicator.value_device().is_cpu());
    const std::vector<double> means = communicator.mean({1.0 * rank, 10.0 * rank + 1.0});
    ASSERT_EQ(means.size(), 2u);
    EXPECT_DOUBLE_EQ(means[0], 0.5);
    EXPECT_DOUBLE_EQ(means[1], 6.0);
    EXPECT_DOUBLE_EQ(communicator.mean(3.0 + rank), 3.5);
  });
}

// A small model whose weights do not depend on the random generator (ranks are threads here).
torch::nn::Linear fixed_linear(const torch::TensorOptions& options) {
  torch::nn::Linear linear(torch::nn::LinearOptions(3, 2));
  linear->to(options.device(), options.dtype().toScalarType());
  torch::NoGradGuard no_grad;
  linear->weight.copy_(torch::arange(6, options).view({2, 3}) / 7.0);
  linear->bias.copy_(torch::tensor({0.25, -0.5}, options));
  return linear;
}

// Rank `rank`'s loss on its own input, for a model on `options`.
torch::Tensor rank_loss(torch::nn::Linear& linear, int rank, const torch::TensorOptions& options) {
  const torch::Tensor x = torch::full({4, 3}, (rank + 1.0) / 3.0, options) + torch::arange(3, options) / 11.0;
  return linear->forward(x).square().sum();
}

std::vector<torch::Tensor> expected_average_gradients(int world, const torch::TensorOptions& options) {
  std::vector<torch::Tensor> sum;
  for (int rank = 0; rank < world; ++rank) {
    torch::nn::Linear linear = fixed_linear(options);
    rank_loss(linear, rank, options).backward();
    const std::vector<torch::Tensor> parameters = linear->parameters();
    for (std::size_t i = 0; i < parameters.size(); ++i) {
      if (sum.size() <= i) sum.push_back(torch::zeros_like(parameters[i]));
      sum[i] += parameters[i].grad();
    }
  }
  for (torch::Tensor& total : sum) total /= world;
  return sum;
}

// Two ranks, each on device_of(rank), average their gradients through GradientSynchronizer over
// `backend`: every rank ends with the average of the two single-rank gradients, in the
// parameters' own dtype and on their own device (a bucket made on a fixed device or in float32
// would fail the collective or round the float64 values).
void expect_gradients_averaged(const std::function<torch::Device(int)>& device_of,
                               const std::string& backend) {
  const torch::TensorOptions cpu_double = torch::TensorOptions(torch::kFloat64);
  const std::vector<torch::Tensor> expected = expected_average_gradients(2, cpu_double);
  const int port = free_port();
  run_ranks(2, [&](int rank) {
    const torch::Device device = device_of(rank);
    rsd::pipeline::set_current_device(device);
    const torch::TensorOptions options = cpu_double.device(device);
    auto communicator = std::make_shared<Communicator>(rank_options(rank, 2, port, backend), device);
    torch::nn::Linear linear = fixed_linear(options);
    rsd::dist::GradientSynchronizer sync(communicator, linear->parameters(), /*bucket_mb=*/1e-5);
    EXPECT_EQ(sync.bucket_count(), 2);  // one bucket per parameter at this size
    sync.arm();
    rank_loss(linear, rank, options).backward();
    sync.finish();
    const std::vector<torch::Tensor> parameters = linear->parameters();
    for (std::size_t i = 0; i < parameters.size(); ++i) {
      const torch::Tensor grad = parameters[i].grad();
      EXPECT_EQ(grad.device(), device);
      EXPECT_EQ(grad.scalar_type(), torch::kFloat64);
      EXPECT_LT((grad.cpu() - expected[i]).abs().max().item<double>(), 1e-12)
          << "rank " << rank << ", parameter " << i;
    }
    // The same values collective, on the backend's device for values.
    EXPECT_DOUBLE_EQ(communicator->mean(2.0 * rank), 1.0);
  });
}

TEST(DistCommunicator, GlooAveragesGradientsInTheirOwnDtype) {
  expect_gradients_averaged([](int) { return torch::Device(torch::kCPU); }, "auto");
}

int visible_gpus() { return rsd::pipeline::DeviceAvailability::of_this_process().gpus; }

TEST(DistCommunicator, GlooAveragesCudaGradients) {
  if (visible_gpus() < 1) GTEST_SKIP() << "needs a GPU; none is visible";
  expect_gradients_averaged([](int) { return torch::Device(torch::kCUDA, 0); }, "gloo");
}

TEST(DistNccl, TwoRanksOnTwoGpusAllReduceBroadcastAndAverageGradients) {
  if (!rsd::dist::nccl_available()) GTEST_SKIP() << "this libtorch has no NCCL (a CPU-only build)";
  if (visible_gpus() < 2) GTEST_SKIP() << "needs 2 GPUs, " << visible_gpus() << " visible";
  const int port = free_port();
  run_ranks(2, [&](int rank) {
    const torch::Device device(torch::kCUDA, static_cast<c10::DeviceIndex>(rank));
    rsd::pipeline::set_current_device(device);
    Communicator communicator(rank_options(rank, 2, port), device);
    EXPECT_EQ(communicator.options().backend, "nccl");  // auto on a GPU
    EXPECT_EQ(communicator.value_device(), device);
    std::vector<torch::Tensor> sum{torch::full({1000}, rank + 1.0, torch::TensorOptions(device))};
    communicator.all_reduce_sum(sum);
    EXPECT_TRUE(torch::equal(sum[0].cpu(), torch::full({1000}, 3.0)));
    std::vector<torch::Tensor> cast{torch::full({7}, 10.0 * rank, torch::TensorOptions(device))};
    communicator.broadcast(cast, 0);
    EXPECT_TRUE(torch::equal(cast[0].cpu(), torch::zeros({7})));
    EXPECT_DOUBLE_EQ(communicator.mean(1.0 * rank), 0.5);
    communicator.barrier();
  });
  expect_gradients_averaged(
      [](int rank) { return torch::Device(torch::kCUDA, static_cast<c10::DeviceIndex>(rank)); },
      "nccl");
}


// ---- the Trainer with ranks run as threads ------------------------------------------------------

// A BatchNorm over one feature of each sample (its images' mean), then a line fitted to the first
// ego status value. Its loss is a mean of per-sample values, so a sample-weighted mean over
// batches is the mean over the samples however they are split, which the tests rely on.
struct NormProbeImpl : torch::nn::Module {
  explicit NormProbeImpl(double init)
      : norm(register_module("norm", torch::nn::BatchNorm1d(1))),
        head(register_module("head", torch::nn::Linear(1, 1))) {
    torch::NoGradGuard no_grad;
    head->weight.fill_(init);
    head->bias.fill_(-init);
  }
  torch::Tensor forward(const rsd::data::Batch& batch) {
    return head(norm(batch.images.flatten(1).mean(1, /*keepdim=*/true)));
  }
  torch::nn::BatchNorm1d norm;
  torch::nn::Linear head;
};
TORCH_MODULE(NormProbe);

class NormProbeModule : public rsd::train::TrainModule<rsd::data::Batch> {
 public:
  explicit NormProbeModule(double init) : net(init) {}
  rsd::train::StepResult training_step(const rsd::data::Batch& batch) override {
    const torch::Tensor error = net->forward(batch) - batch.ego_status.narrow(1, 0, 1);
    return {error.pow(2).mean(), {{"loss_abs", error.abs().mean().detach()}}};
  }
  torch::nn::Module& module() override { return *net; }
  NormProbe net;
};

// Rank `rank` of `world` reading `samples` tiny E2E samples in batches of `batch`, in order.
std::shared_ptr<rsd::train::LoaderSource> probe_source(int64_t samples, int64_t batch, int rank,
                                                       int world, bool shuffle, bool pad_shards) {
  rsd::data::LoaderOptions options;
  options.batch_size = batch;
  options.workers = 0;
  options.shuffle = shuffle;
  options.drop_last = false;
  options.pad_shards = pad_shards;
  options.rank = rank;
  options.world_size = world;
  return std::make_shared<rsd::train::LoaderSource>(std::make_shared<rsd::data::Loader>(
      std::make_shared<rsd::test::TinyE2EDataset>(samples), options));
}

rsd::train::TrainerOptions probe_options(const std::string& run_dir, int64_t steps) {
  rsd::train::TrainerOptions options;
  options.steps = steps;
  options.lr = 0.05;
  options.warmup_steps = 0;
  options.val_every = 0;
  options.checkpoint_every = 0;
  options.progress = false;
  options.run_dir = run_dir;
  return options;
}

std::shared_ptr<Communicator> thread_rank(int rank, int world, int port) {
  return std::make_shared<Communicator>(rank_options(rank, world, port), torch::Device(torch::kCPU));
}

std::vector<torch::Tensor> copies_of(const std::vector<torch::Tensor>& tensors) {
  std::vector<torch::Tensor> result;
  for (const auto& t : tensors) result.push_back(t.detach().clone());
  return result;
}

void expect_equal_tensors(const std::vector<torch::Tensor>& expected,
                          const std::vector<torch::Tensor>& actual, const std::string& what) {
  ASSERT_EQ(expected.size(), actual.size()) << what;
  for (std::size_t i = 0; i < expected.size(); ++i) {
    EXPECT_TRUE(torch::equal(expected[i], actual[i])) << what << " " << i << ":\n"
                                                      << expected[i] << "\n" << actual[i];
  }
}

TEST(DistTrainer, ValidationIsTheMeanOverTheExactValidationSetWithRankZerosStatistics) {
  // 5 samples in batches of 2 on 2 ranks: neither the ranks (3 and 2 samples) nor the batches
  // (2, 1 and 2) hold equal numbers, and a padded shard would count sample 0 twice.
  constexpr int64_t kSamples = 5;
  const auto set_statistics = [](NormProbeModule& probe, double mean, double var) {
    torch::NoGradGuard no_grad;
    probe.net->norm->running_mean.fill_(mean);
    probe.net->norm->running_var.fill_(var);
  };
  // The exact value: every sample on its own through rank 0's model in eval mode.
  NormProbeModule reference(0.7);
  set_statistics(reference, 0.25, 2.0);
  reference.net->eval();
  const rsd::test::TinyE2EDataset dataset(kSamples);
  double loss_sum = 0.0, abs_sum = 0.0;
  for (int64_t i = 0; i < kSamples; ++i) {
    torch::NoGradGuard no_grad;
    const auto result = reference.training_step(rsd::data::collate({dataset.get(i, 0)}));
    loss_sum += result.loss.item<double>();
    abs_sum += result.terms.at(0).second.item<double>();
  }
  const double exact_loss = loss_sum / kSamples, exact_abs = abs_sum / kSamples;

  {
    auto probe = std::make_shared<NormProbeModule>(0.7);
    set_statistics(*probe, 0.25, 2.0);
    rsd::train::Trainer<rsd::data::Batch> trainer(
        probe_options("", 1), probe, probe_source(kSamples, 2, 0, 1, false, true),
        probe_source(kSamples, 2, 0, 1, false, false));
    const auto values = trainer.validate();
    ASSERT_EQ(values.size(), 2u);
    EXPECT_NEAR(values[0].second, exact_loss, 1e-6) << "one process: batches of 2, 2 and 1";
    EXPECT_NEAR(values[1].second, exact_abs, 1e-6);
  }
  const int port = free_port();
  run_ranks(2, [&](int rank) {
    auto probe = std::make_shared<NormProbeModule>(0.7);
    // Rank 1's statistics differ (its own batches): validation must use rank 0's.
    set_statistics(*probe, rank == 0 ? 0.25 : -3.0, rank == 0 ? 2.0 : 0.1);
    rsd::train::Trainer<rsd::data::Batch> trainer(
        probe_options("", 1), probe, probe_source(kSamples, 2, rank, 2, false, true),
        probe_source(kSamples, 2, rank, 2, false, false), thread_rank(rank, 2, port));
    const auto values = trainer.validate();
    ASSERT_EQ(values.size(), 2u);
    EXPECT_EQ(values[1].first, "loss_abs");
    EXPECT_NEAR(values[0].second, exact_loss, 1e-6) << "rank " << rank;
    EXPECT_NEAR(values[1].second, exact_abs, 1e-6) << "rank " << rank;
  });
}

TEST(DistTrainer, ARankWithoutValidationSamplesStillJoinsAndGetsTheMean) {
  // 1 sample on 2 ranks: rank 1 has no batch at all, and learns the terms' names from rank 0.
  NormProbeModule reference(0.4);
  reference.net->eval();
  torch::NoGradGuard no_grad;
  const double exact = reference
                           .training_step(rsd::data::collate({rsd::test::TinyE2EDataset(1).get(0, 0)}))
                           .loss.item<double>();
  const int port = free_port();
  run_ranks(2, [&](int rank) {
    auto probe = std::make_shared<NormProbeModule>(0.4);
    rsd::train::Trainer<rsd::data::Batch> trainer(
        probe_options("", 1), probe, probe_source(4, 2, rank, 2, false, true),
        probe_source(1, 2, rank, 2, false, false), thread_rank(rank, 2, port));
    const auto values = trainer.validate();
    ASSERT_EQ(values.size(), 2u) << "rank " << rank;
    EXPECT_EQ(values[0].first, "loss");
    EXPECT_EQ(values[1].first, "loss_abs");
    EXPECT_NEAR(values[0].second, exact, 1e-6) << "rank " << rank;
  });
}

// AdamW's state of every parameter in group order: exp_avg, exp_avg_sq, step.
std::vector<torch::Tensor> adamw_state(torch::optim::Optimizer& optimizer) {
  auto& states = optimizer.state();
  std::vector<torch::Tensor> result;
  for (auto& group : optimizer.param_groups()) {
    for (const auto& parameter : group.params()) {
      const auto found = rsd::torch_compat::find_optimizer_state(states, parameter);
      if (found == states.end()) {
        ADD_FAILURE() << "a parameter without optimiser state";
        continue;
      }
      auto& state = dynamic_cast<torch::optim::AdamWParamState&>(*found->second);
      result.push_back(state.exp_avg().clone());
      result.push_back(state.exp_avg_sq().clone());
      result.push_back(torch::tensor(static_cast<int64_t>(state.step())));
    }
  }
  return result;
}

// What a rank of a resumed run saw: the step it started from, and after its first step the
// parameters, buffers and optimiser state.
class FirstStepRecorder : public rsd::train::Hook {
 public:
  std::string name() const override { return "first_step_recorder"; }
  void before_train(rsd::train::TrainerState& state) override { start_step = state.steps_done(); }
  void after_step(rsd::train::TrainerState& state) override {
    if (!optimizer_state.empty()) return;
    parameters = copies_of(state.module().parameters());
    optimizer_state = adamw_state(state.optimizer());
  }
  int64_t start_step = -1;
  std::vector<torch::Tensor> parameters, optimizer_state;
};

struct RankResult {
  int64_t start_step = -1;
  int64_t end_step = -1;
  std::vector<torch::Tensor> first_parameters, first_optimizer_state;  // after the first step
  std::vector<torch::Tensor> parameters, buffers;                      // at the end
};

// Trains the probe on 2 thread ranks whose run directories are `run_dirs` (rank 0's first), each
// starting from weights of its own; `stop_after` 0: to the end.
std::vector<RankResult> train_probe_pair(const std::vector<std::string>& run_dirs, bool resume,
                                         int64_t stop_after) {
  constexpr int64_t kSteps = 6;
  std::vector<RankResult> results(2);
  const int port = free_port();
  run_ranks(2, [&](int rank) {
    auto probe = std::make_shared<NormProbeModule>(0.3 + rank);
    rsd::train::TrainerOptions options = probe_options(run_dirs.at(rank), kSteps);
    options.stop_after = stop_after;
    rsd::train::Trainer<rsd::data::Batch> trainer(options, probe,
                                                  probe_source(24, 2, rank, 2, true, true), nullptr,
                                                  thread_rank(rank, 2, port));
    auto recorder = std::make_shared<FirstStepRecorder>();
    trainer.add_hook(recorder);
    RankResult& result = results[static_cast<std::size_t>(rank)];
    result.end_step = trainer.run(resume).step;
    result.start_step = recorder->start_step;
    result.first_parameters = recorder->parameters;
    result.first_optimizer_state = recorder->optimizer_state;
    result.parameters = copies_of(probe->net->parameters());
    result.buffers = copies_of(probe->net->buffers());
  });
  return results;
}

TEST(DistTrainer, ResumeWithoutASharedFileSystemGivesEveryRankRankZerosState) {
  rsd::test::TempDir dir;
  // Each rank has its own run.root, as on machines without a shared file system: only rank 0's
  // holds checkpoints.
  const std::vector<std::string> split = {dir.file("rank0_root/run"), dir.file("rank1_root/run")};
  const auto whole = train_probe_pair({dir.file("whole0/run"), dir.file("whole1/run")}, false, 0);
  const auto first = train_probe_pair(split, false, 3);
  ASSERT_EQ(first[0].end_step, 3);
  ASSERT_TRUE(std::filesystem::exists(split[0] + "/checkpoints/step_3.pt"));
  ASSERT_FALSE(std::filesystem::exists(split[1] + "/checkpoints/step_3.pt"));
  const auto resumed = train_probe_pair(split, true, 0);
  for (int rank = 0; rank < 2; ++rank) {
    EXPECT_EQ(resumed[rank].start_step, 3) << "rank " << rank;
    EXPECT_EQ(resumed[rank].end_step, 6) << "rank " << rank;
  }
  expect_equal_tensors(resumed[0].first_parameters, resumed[1].first_parameters,
                       "parameters after the first resumed step, rank 1 against rank 0");
  expect_equal_tensors(resumed[0].first_optimizer_state, resumed[1].first_optimizer_state,
                       "AdamW state after the first resumed step, rank 1 against rank 0");
  ASSERT_FALSE(resumed[0].first_optimizer_state.empty());
  EXPECT_EQ(resumed[0].first_optimizer_state[2].item<int64_t>(), 4) << "AdamW's step count";
  expect_equal_tensors(resumed[0].buffers, resumed[1].buffers, "buffers at the end");
  // And the interrupted run ends where the uninterrupted one does.
  for (std::size_t i = 0; i < whole[0].parameters.size(); ++i) {
    EXPECT_LT((whole[0].parameters[i] - resumed[0].parameters[i]).abs().max().item<double>(), 1e-6)
        << "parameter " << i;
  }
  for (std::size_t i = 0; i < whole[0].buffers.size(); ++i) {
    EXPECT_TRUE(torch::allclose(whole[0].buffers[i], resumed[0].buffers[i], 1e-6, 1e-6))
        << "buffer " << i;
  }
}

TEST(DistTrainer, BatchNormStatisticsAreRankZerosOnEveryRankAfterTraining) {
  // The ranks read different batches, so their forwards move their running statistics apart.
  const auto trained = train_probe_pair({"", ""}, false, 0);
  ASSERT_EQ(trained[0].buffers.size(), 3u);  // running mean, variance, batches tracked
  expect_equal_tensors(trained[0].buffers, trained[1].buffers, "buffers, rank 1 against rank 0");
  EXPECT_EQ(trained[0].buffers[2].item<int64_t>(), 6);
  EXPECT_GT(std::abs(trained[0].buffers[0].item<double>()), 1e-4) << "the statistics moved";
}

}  // namespace
