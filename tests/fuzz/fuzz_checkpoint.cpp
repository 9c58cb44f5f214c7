// The checkpoint reader: CheckpointManager::load of a file into a small model and its optimiser.
// A checkpoint is a libtorch archive (a zip of pickles and tensor blobs); whatever the bytes, load
// must end in a restored model or rsd::CheckpointError, never a crash.
// RSD_FUZZ_WRITE_SEED=<folder> saves real checkpoints of the same model there and exits.
#include <torch/torch.h>

#include "fuzz_input.h"
#include "fuzz_torch.h"
#include "rsd/train/checkpoint.h"
#include "rsd/util/error.h"

namespace {

struct FuzzNetImpl : torch::nn::Module {
  FuzzNetImpl()
      : conv(register_module("conv", torch::nn::Conv2d(torch::nn::Conv2dOptions(2, 3, 3)))),
        norm(register_module("norm", torch::nn::BatchNorm2d(3))),
        head(register_module("head", torch::nn::Linear(3, 2))) {}
  torch::Tensor forward(const torch::Tensor& x) {
    return head(norm(conv(x)).mean({2, 3}));
  }
  torch::nn::Conv2d conv;
  torch::nn::BatchNorm2d norm;
  torch::nn::Linear head;
};
TORCH_MODULE(FuzzNet);

void write_seed(const std::string& folder) {
  FuzzNet net;
  torch::optim::AdamW optimizer(net->parameters(), torch::optim::AdamWOptions(1e-3));
  // One step, so that the optimiser has state to save and load.
  net->forward(torch::rand({2, 2, 5, 5})).sum().backward();
  optimizer.step();
  rsd::train::TrainingProgress progress;
  progress.step = 1;
  progress.epoch = 0;
  progress.samples_in_epoch = 2;
  progress.best_metric = 0.5;
  progress.config_yaml = "train:\n  lr: 0.001\n";
  const rsd::train::CheckpointManager manager(folder, 3);
  manager.save(progress, *net, optimizer, /*is_best=*/true);
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  return rsd::fuzz::initialize_torch_harness(write_seed);
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string path = rsd::fuzz::scratch_dir() + "/step_1.pt";
  rsd::fuzz::write_input(path, data, size);
  FuzzNet net;
  torch::optim::AdamW optimizer(net->parameters(), torch::optim::AdamWOptions(1e-3));
  try {
    rsd::train::CheckpointManager::load(path, *net, &optimizer);
  } catch (const rsd::Error&) {
  }
  return 0;
}
