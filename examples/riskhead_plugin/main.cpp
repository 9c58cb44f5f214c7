// RiskHead as a plug-in: a BEV model that is not librsd's (here a toy encoder over a BEV raster)
// gains risk distillation in the few lines marked "RSD". The teacher's risk maps would come from
// rsd_cache_risk (rsd::teacher::RiskCacheReader); this example makes its own so that it runs
// anywhere, and checks that the head learns them.
#include <torch/torch.h>

#include <cstdio>

#include "rsd/geometry/grid_spec.h"
#include "rsd/model/risk_head.h"
#include "rsd/model/risk_loss.h"

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

int main() {
  torch::manual_seed(0);
  const rsd::GridSpec grid({-16.0, 16.0, 1.0}, {-16.0, 16.0, 1.0}, {-3.0, 5.0, 8.0});  // 32 x 32 cells
  MyBevModel model;
  // RSD: a RiskHead on the model's BEV features and the distillation loss (L1, as in the paper).
  rsd::model::RiskHead risk_head = rsd::model::make_risk_head(rsd::model::RiskHeadOptions(32, grid));
  rsd::model::RiskDistillationLoss distillation;

  std::vector<torch::Tensor> parameters = model->parameters();
  for (const auto& p : risk_head->parameters()) parameters.push_back(p);  // RSD
  torch::optim::Adam optimizer(parameters, torch::optim::AdamOptions(3e-3));

  // Toy data: an occupancy raster with one object; the "teacher" marks it risky when it is ahead.
  auto make_batch = [&](int64_t batch) {
    torch::Tensor raster = torch::zeros({batch, 2, 32, 32});
    torch::Tensor target = torch::zeros({batch, 1, 32, 32});
    for (int64_t b = 0; b < batch; ++b) {
      const int64_t x = torch::randint(4, 28, {1}).item<int64_t>();
      const int64_t y = torch::randint(4, 28, {1}).item<int64_t>();
      raster.index_put_({b, 0, torch::indexing::Slice(y - 1, y + 2), torch::indexing::Slice(x - 1, x + 2)}, 1.0);
      raster[b][1].fill_(static_cast<double>(x) / 32.0);
      if (x >= 16) target.index_put_({b, 0, torch::indexing::Slice(y - 1, y + 2), torch::indexing::Slice(x - 1, x + 2)}, 1.0);
    }
    return std::make_pair(raster, target);
  };

  double first = 0.0, last = 0.0;
  for (int step = 0; step < 150; ++step) {
    auto [raster, target] = make_batch(8);
    const torch::Tensor bev = model->bev(raster);
    const torch::Tensor plan_loss = model->plan(bev).pow(2).mean();  // the user's own losses
    const torch::Tensor mask = torch::ones({8}, torch::kBool);
    const torch::Tensor risk_loss = distillation(risk_head(bev), target, mask);  // RSD
    optimizer.zero_grad();
    (plan_loss + 1.0 * risk_loss).backward();
    optimizer.step();
    if (step == 0) first = risk_loss.item<double>();
    last = risk_loss.item<double>();
  }
  std::printf("risk distillation loss: %.4f at the first step, %.4f after 150 steps\n", first, last);
  if (!(last < 0.5 * first)) {
    std::fprintf(stderr, "the RiskHead did not learn the teacher's maps\n");
    return 1;
  }
  return 0;
}
