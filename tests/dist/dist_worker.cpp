// A process of the data-parallel tests: joins the job described by the torchrun variables, trains
// the tiny E2E model (tests/unit/support/tiny_e2e.h) with the library Trainer on its share of
// every step's samples, and saves its parameters before and after training, and its buffers.
//   rsd_dist_worker train OUT STEPS ACCUMULATE BUCKET_MB TIMEOUT_S BATCH BATCH_NORM
//   rsd_dist_worker die   ...            (rank 1 exits right after joining, without a word)
// BATCH: this rank's batch size. BATCH_NORM: "batch" (BatchNorm normalises with the statistics
// of the rank's batch, as usual) or "frozen" (every BatchNorm stays in eval mode, so a sample's
// output does not depend on the other samples of its batch).
// Writes OUT (final parameters), OUT.initial (parameters before training), OUT.buffers and
// OUT.steps (each step's loss and gradient norm).
#include <torch/torch.h>
#include <unistd.h>

#include <iostream>
#include <memory>

#include "../unit/support/tiny_e2e.h"
#include "rsd/dist/communicator.h"
#include "rsd/train/e2e_train_module.h"
#include "rsd/train/trainer.h"

namespace {

// Batch k of rank r of W holds samples [(kW + r) * BATCH, (kW + r + 1) * BATCH): the k-th batches
// of the W ranks together are the k-th batch of one process reading batches of W * BATCH.
class ShardedSource : public rsd::train::BatchSource<rsd::data::Batch> {
 public:
  ShardedSource(int64_t batch, int rank, int world) : batch_(batch), rank_(rank), world_(world) {}
  void start_epoch(int64_t epoch, int64_t first_batch) override {
    epoch_ = epoch;
    next_ = first_batch;
  }
  std::optional<rsd::data::Batch> next() override {
    const int64_t first = (next_ * world_ + rank_) * batch_;
    if (first + batch_ > dataset_.size()) return std::nullopt;
    ++next_;
    std::vector<rsd::data::Sample> samples;
    for (int64_t i = 0; i < batch_; ++i) samples.push_back(dataset_.get(first + i, epoch_));
    return rsd::data::collate(samples);
  }
  int64_t batch_size() const override { return batch_; }

 private:
  // Every sample labelled: the risk loss averages over the labelled frames of a batch, and only
  // equal counts per rank make the mean of the ranks' means the mean of the combined batch.
  rsd::test::TinyE2EDataset dataset_{64, /*poisoned=*/false, /*unlabelled_every=*/0};
  int64_t batch_, rank_, world_;
  int64_t epoch_ = 0, next_ = 0;
};

// Per step: the total loss and the gradient norm, both means over the ranks. Adam's update does
// not depend on the gradients' scale, so these catch a sum taken for a mean.
class StepLog : public rsd::train::Hook {
 public:
  std::string name() const override { return "step_log"; }
  void after_step(rsd::train::TrainerState& state) override {
    values.push_back(state.last_step.losses.front().second);
    values.push_back(state.last_step.grad_norm);
  }
  std::vector<double> values;  // loss, grad norm, loss, grad norm, ...
};

// Puts every BatchNorm back into eval mode before each step (the trainer calls train() when the
// run starts and after validation).
class FreezeBatchNorm : public rsd::train::Hook {
 public:
  std::string name() const override { return "freeze_batch_norm"; }
  void before_step(rsd::train::TrainerState& state) override {
    for (const auto& module : state.module().modules(/*include_self=*/false)) {
      if (dynamic_cast<torch::nn::BatchNorm2dImpl*>(module.get()) != nullptr) module->eval();
    }
  }
};

std::vector<torch::Tensor> copies(const std::vector<torch::Tensor>& tensors) {
  std::vector<torch::Tensor> result;
  for (const auto& t : tensors) result.push_back(t.detach().clone());
  return result;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 9) {
    std::cerr << "usage: rsd_dist_worker train|die OUT STEPS ACCUMULATE BUCKET_MB TIMEOUT_S BATCH "
                 "batch|frozen\n";
    return 2;
  }
  const std::string mode = argv[1];
  const std::string out = argv[2];
  const int steps = std::stoi(argv[3]);
  const int accumulate = std::stoi(argv[4]);
  const int64_t batch = std::stoll(argv[7]);
  const std::string batch_norm = argv[8];
  try {
    rsd::dist::DistOptions options;
    options.bucket_mb = std::stod(argv[5]);
    options.timeout_s = std::stod(argv[6]);
    options = rsd::dist::with_environment(options);
    auto communicator = std::make_shared<rsd::dist::Communicator>(options);
    if (mode == "die" && options.rank == 1) _exit(0);

    torch::manual_seed(1000 + options.rank);  // ranks start apart: the broadcast must fix it
    rsd::model::E2EModel model(rsd::test::tiny_e2e_model_options());
    // The attention's key bias has a gradient that is zero in exact arithmetic (softmax ignores
    // a shift shared by all keys); Adam would turn its rounding noise, which differs between 1
    // and 2 processes, into updates of up to lr. Frozen, it leaves only real gradients to compare.
    const std::string key_bias = "planning_head.layers.0.attention.in_proj_bias";
    model->named_parameters()[key_bias].requires_grad_(false);
    auto module = std::make_shared<rsd::train::E2ETrainModule>(
        model, rsd::train::E2ELoss(rsd::test::tiny_e2e_loss_options()));
    rsd::train::TrainerOptions trainer_options;
    trainer_options.steps = steps;
    trainer_options.accumulate = accumulate;
    trainer_options.lr = 1e-3;
    trainer_options.warmup_steps = 0;
    trainer_options.val_every = 0;
    trainer_options.checkpoint_every = 0;
    trainer_options.progress = false;
    rsd::train::Trainer<rsd::data::Batch> trainer(
        trainer_options, module,
        std::make_shared<ShardedSource>(batch, options.rank, options.world_size), nullptr,
        communicator);
    if (batch_norm == "frozen") trainer.add_hook(std::make_shared<FreezeBatchNorm>());
    auto step_log = std::make_shared<StepLog>();
    trainer.add_hook(step_log);
    torch::save(copies(model->parameters()), out + ".initial");
    trainer.run();
    torch::save(copies(model->parameters()), out);
    torch::save(copies(model->buffers()), out + ".buffers");
    torch::save(std::vector<torch::Tensor>{torch::tensor(step_log->values, torch::kFloat64)},
                out + ".steps");
    return 0;
  } catch (const std::exception& e) {
    std::cerr << "rsd_dist_worker: error: " << e.what() << std::endl;
    return 1;
  }
}
