// A process of the data-parallel tests: joins the job described by the torchrun variables, trains a
// small model on its shard of a fixed batch and saves its final parameters.
//   rsd_dist_worker train OUT.pt STEPS ACCUMULATE BUCKET_MB TIMEOUT_S
//   rsd_dist_worker die   ...            (rank 1 exits right after joining, without a word)
#include <torch/torch.h>
#include <unistd.h>

#include <iostream>
#include <memory>

#include "rsd/dist/communicator.h"
#include "rsd/dist/gradient_sync.h"

namespace {

constexpr int64_t kBatch = 8;  // the combined batch, split evenly between ranks

struct NetImpl : torch::nn::Module {
  NetImpl() {
    first = register_module("first", torch::nn::Linear(5, 16));
    second = register_module("second", torch::nn::Linear(16, 3));
    unused = register_module("unused", torch::nn::Linear(4, 4));  // never gets a gradient
  }
  torch::Tensor forward(const torch::Tensor& x) { return second(torch::tanh(first(x))); }
  torch::nn::Linear first{nullptr}, second{nullptr}, unused{nullptr};
};
TORCH_MODULE(Net);

}  // namespace

int main(int argc, char** argv) {
  if (argc < 7) {
    std::cerr << "usage: rsd_dist_worker train|die OUT STEPS ACCUMULATE BUCKET_MB TIMEOUT_S\n";
    return 2;
  }
  const std::string mode = argv[1];
  const std::string out = argv[2];
  const int steps = std::stoi(argv[3]);
  const int accumulate = std::stoi(argv[4]);
  try {
    rsd::dist::DistOptions options;
    options.bucket_mb = std::stod(argv[5]);
    options.timeout_s = std::stod(argv[6]);
    options = rsd::dist::with_environment(options);
    auto communicator = std::make_shared<rsd::dist::Communicator>(options);
    if (mode == "die" && options.rank == 1) _exit(0);

    torch::manual_seed(1000 + options.rank);  // ranks start apart: the broadcast must fix it
    Net net;
    rsd::dist::broadcast_module(*communicator, *net);
    rsd::dist::GradientSynchronizer sync(communicator, net->parameters(), options.bucket_mb);
    torch::optim::AdamW optimizer(net->parameters(), torch::optim::AdamWOptions(0.05));

    const int64_t shard = kBatch / options.world_size;
    for (int step = 0; step < steps; ++step) {
      torch::manual_seed(step);
      const torch::Tensor inputs = torch::randn({accumulate, kBatch, 5});
      const torch::Tensor targets = torch::randn({accumulate, kBatch, 3});
      optimizer.zero_grad();
      for (int micro = 0; micro < accumulate; ++micro) {
        const auto x = inputs[micro].narrow(0, options.rank * shard, shard);
        const auto y = targets[micro].narrow(0, options.rank * shard, shard);
        if (micro == accumulate - 1) sync.arm();
        (torch::mse_loss(net->forward(x), y) / accumulate).backward();
      }
      sync.finish();
      optimizer.step();
    }
    communicator->barrier();
    std::vector<torch::Tensor> parameters;
    for (const auto& p : net->parameters()) parameters.push_back(p.detach().clone());
    torch::save(parameters, out);
    return 0;
  } catch (const std::exception& e) {
    std::cerr << "rsd_dist_worker: error: " << e.what() << std::endl;
    return 1;
  }
}
