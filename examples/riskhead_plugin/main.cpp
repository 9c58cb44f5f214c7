// RiskHead as a plug-in, trained by librsd's Trainer. A BEV model that is not librsd's (here a toy
// encoder over a BEV raster) gains risk distillation in the lines marked "RSD", and trains with
// rsd::train::Trainer: checkpoints, exact resume, metrics.jsonl. The teacher's risk maps would come
// from rsd_cache_risk (rsd::teacher::RiskCacheReader); this example makes its own so that it runs
// anywhere, and checks that the head learns them.
#include <torch/torch.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <random>
#include <string>

#include "rsd/geometry/grid_spec.h"
#include "rsd/model/risk_head.h"
#include "rsd/model/risk_loss.h"
#include "rsd/train/trainer.h"

using torch::indexing::Slice;

// The user's model: any module that produces BEV features (B, C, Y, X).
struct MyBevModelImpl : torch::nn::Module {
  MyBevModelImpl()
      : encoder(register_module("encoder", torch::nn::Sequential(
                    torch::nn::Conv2d(torch::nn::Conv2dOptions(2, 32, 3).padding(1)), torch::nn::ReLU(),
                    torch::nn::Conv2d(torch::nn::Conv2dOptions(32, 32, 3).padding(1)), torch::nn::ReLU()))),
        planner(register_module("planner", torch::nn::Linear(32, 12))) {}
  torch::Tensor bev(const torch::Tensor& raster) { return encoder->forward(raster); }
  torch::Tensor plan(const torch::Tensor& bev) { return planner(bev.mean({2, 3})).view({-1, 6, 2}); }
  torch::nn::Sequential encoder;
  torch::nn::Linear planner;
};
TORCH_MODULE(MyBevModel);

// The user's batches: an occupancy raster with one object each; the "teacher" marks it risky when
// it is ahead of the ego (x >= 16).
struct ToyBatch {
  torch::Tensor raster;  // (8, 2, 32, 32)
  torch::Tensor risk;    // (8, 1, 32, 32), the teacher's risk map
};

// 20 batches per epoch; a batch depends only on (epoch, index), so a resumed epoch is exact.
class ToySource : public rsd::train::BatchSource<ToyBatch> {
 public:
  void start_epoch(int64_t epoch, int64_t first_batch) override {
    epoch_ = epoch;
    index_ = first_batch;
  }
  std::optional<ToyBatch> next() override {
    if (index_ == 20) return std::nullopt;
    std::mt19937 random(static_cast<unsigned>(1000 * epoch_ + index_++));
    std::uniform_int_distribution<int64_t> cell(4, 27);
    ToyBatch batch{torch::zeros({8, 2, 32, 32}), torch::zeros({8, 1, 32, 32})};
    for (int64_t b = 0; b < 8; ++b) {
      const int64_t x = cell(random), y = cell(random);
      batch.raster.index_put_({b, 0, Slice(y - 1, y + 2), Slice(x - 1, x + 2)}, 1.0);
      batch.raster[b][1].fill_(static_cast<double>(x) / 32.0);
      if (x >= 16) batch.risk.index_put_({b, 0, Slice(y - 1, y + 2), Slice(x - 1, x + 2)}, 1.0);
    }
    return batch;
  }
  int64_t batch_size() const override { return 8; }

 private:
  int64_t epoch_ = 0, index_ = 0;
};

// What the Trainer trains: the user's model with a RiskHead on its BEV features (RSD), as one
// module (its weights are checkpointed by name), and the step's losses; the Trainer does the rest.
struct PluggedModel : torch::nn::Module, rsd::train::TrainModule<ToyBatch> {
  explicit PluggedModel(const rsd::GridSpec& grid)
      : model(register_module("model", MyBevModel())),
        risk_head(register_module(  // RSD
            "risk_head", rsd::model::make_risk_head(rsd::model::RiskHeadOptions(32, grid)))) {}

  rsd::train::StepResult training_step(const ToyBatch& batch) override {
    const torch::Tensor bev = model->bev(batch.raster);
    const torch::Tensor plan_loss = model->plan(bev).pow(2).mean();  // the user's own losses
    const torch::Tensor labelled = torch::ones({batch.raster.size(0)}, torch::kBool);
    const torch::Tensor risk_loss = distillation(risk_head(bev), batch.risk, labelled);  // RSD
    return {plan_loss + 1.0 * risk_loss, {{"loss_plan", plan_loss}, {"loss_risk", risk_loss}}};
  }
  torch::nn::Module& module() override { return *this; }

  MyBevModel model;
  rsd::model::RiskHead risk_head;
  rsd::model::RiskDistillationLoss distillation;  // RSD: L1, as in the paper
};

// A hook that remembers the risk loss of the first and the latest step. Its state travels in the
// checkpoints, so a resumed run still knows where it started.
struct RiskLossWatch : rsd::train::Hook {
  std::string name() const override { return "risk_loss_watch"; }
  void after_step(rsd::train::TrainerState& state) override {
    latest = state.last_step.losses.back().second;  // "loss", "loss_plan", "loss_risk"
    if (state.steps_done() == 1) first = latest;
  }
  void save(torch::serialize::OutputArchive& archive) const override {
    archive.write("first", c10::IValue(first));
  }
  void load(torch::serialize::InputArchive& archive) override {
    c10::IValue value;
    archive.read("first", value);
    first = value.toDouble();
  }
  double first = 0.0, latest = 0.0;
};

// Builds the model and its trainer and trains, as a fresh process would.
rsd::train::TrainSummary train(const rsd::train::TrainerOptions& options, bool resume,
                               const std::shared_ptr<RiskLossWatch>& watch) {
  const rsd::GridSpec grid({-16.0, 16.0, 1.0}, {-16.0, 16.0, 1.0}, {-3.0, 5.0, 8.0});  // 32 x 32
  rsd::train::Trainer<ToyBatch> trainer(options, std::make_shared<PluggedModel>(grid),
                                        std::make_shared<ToySource>());
  trainer.add_hook(watch);
  return trainer.run(resume);
}

int main() {
  torch::manual_seed(0);
  rsd::train::TrainerOptions options;
  options.steps = 150;
  options.lr = 3e-3;
  options.warmup_steps = 10;
  options.weight_decay = 0.0;
  options.checkpoint_every = 50;
  options.log_every = 10;
  options.progress = false;
  options.run_dir = (std::filesystem::temp_directory_path() / "riskhead_plugin_run").string();
  std::filesystem::remove_all(options.run_dir);  // a fresh run each time

  // A time box of 60 steps (train.stop_after), then a new trainer resumes the run and finishes it.
  options.stop_after = 60;
  const rsd::train::TrainSummary interrupted =
      train(options, /*resume=*/false, std::make_shared<RiskLossWatch>());
  options.stop_after = 0;
  const auto watch = std::make_shared<RiskLossWatch>();
  const rsd::train::TrainSummary finished = train(options, /*resume=*/true, watch);

  std::ifstream metrics(options.run_dir + "/metrics.jsonl");
  int lines = 0;
  for (std::string line; std::getline(metrics, line);) ++lines;
  std::printf("trained %lld steps, resumed to %lld; metrics.jsonl: %d lines; checkpoint %s\n",
              static_cast<long long>(interrupted.step), static_cast<long long>(finished.step),
              lines, finished.last_checkpoint.c_str());
  std::printf("risk distillation loss: %.4f at the first step, %.4f after %lld steps\n",
              watch->first, watch->latest, static_cast<long long>(finished.step));
  if (interrupted.step != 60 || finished.step != 150 || lines == 0) {
    std::fprintf(stderr, "the run did not stop at 60 steps, resume to 150 and log metrics\n");
    return 1;
  }
  if (!(watch->latest < 0.5 * watch->first)) {
    std::fprintf(stderr, "the RiskHead did not learn the teacher's maps\n");
    return 1;
  }
  return 0;
}
